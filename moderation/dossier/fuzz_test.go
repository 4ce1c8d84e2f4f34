package dossier_test

// SECURITY-CASES I1: Go native fuzzing of dossier export rendering and of
// the bundle reader. Seed corpora are in testdata/fuzz/; the bundle seeds
// were written by TestWriteFuzzSeeds (CORRIDOR_WRITE_FUZZ_SEEDS=1), to the
// test-only identity in testdata/fuzz-verify.key.
//
//	go test ./moderation/dossier -run XXX -fuzz FuzzVerify -fuzztime 30s
//	go test ./moderation/dossier -run XXX -fuzz FuzzCSVNeutral -fuzztime 30s

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"filippo.io/age"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/intake"
	"github.com/corridor-gateway/corridor/moderation/dossier"
)

const (
	fuzzKeyFile    = "testdata/fuzz-verify.key"
	fuzzBundleFile = "testdata/verify-bundle.age"
)

func loadFuzzIdentity(tb testing.TB) *crypto.Identity {
	tb.Helper()
	b, err := os.ReadFile(fuzzKeyFile)
	if err != nil {
		tb.Fatalf("%v (run TestWriteFuzzSeeds with CORRIDOR_WRITE_FUZZ_SEEDS=1)", err)
	}
	id, err := crypto.ParseIdentity(strings.TrimSpace(string(b)))
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// FuzzVerify: arbitrary bytes as a bundle never panic Verify. When
// plainZip is set the bytes are the ZIP inside, encrypted to the review
// body first (anyone holding the public recipient can do that), which
// takes the fuzzer past age into the ZIP and manifest checks. A bundle that
// is not byte for byte the signed one must never pass.
func FuzzVerify(f *testing.F) {
	id := loadFuzzIdentity(f)
	good, err := os.ReadFile(fuzzBundleFile)
	if err != nil {
		f.Fatal(err)
	}
	ids := []age.Identity{id.Identity}
	f.Add(good, false)
	f.Add([]byte("age-encryption.org/v1\n-> X25519 AAAA\n\n--- AAAA\n"), false)
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), true)
	f.Fuzz(func(t *testing.T, data []byte, plainZip bool) {
		in := data
		if plainZip {
			in = encryptTo(t, data, id.Recipient)
		}
		v, err := dossier.Verify(bytes.NewReader(in), int64(len(in)), ids, "")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		if v == nil || v.Manifest == nil || v.Manifest.Format != dossier.Format {
			t.Fatalf("Verify passed with %+v", v)
		}
		if !plainZip && !bytes.Equal(data, good) {
			t.Fatalf("a changed bundle (%d bytes) passed Verify", len(data))
		}
	})
}

// FuzzCSVNeutral: no cell leaves neutral() starting with = + - @ tab or
// CR; anything else is left as it was; and the cell survives a CSV round
// trip still neutral.
func FuzzCSVNeutral(f *testing.F) {
	for _, s := range []string{"", "=cmd|' /C calc'!A0", "+1", "-1", "@SUM(1)", "\t=1", "\r=1", "'=1", "plain", "\n=1", "＝1", "=\"\"\n,=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := dossier.Neutral(s)
		if out != "" && strings.ContainsRune("=+-@\t\r", rune(out[0])) {
			t.Fatalf("neutral(%q) = %q starts with %q", s, out, out[0])
		}
		if out != s && out != "'"+s {
			t.Fatalf("neutral(%q) = %q: more than a leading apostrophe changed", s, out)
		}
		if s != "" && !strings.ContainsRune("=+-@\t\r", rune(s[0])) && out != s {
			t.Fatalf("neutral(%q) = %q changed a harmless cell", s, out)
		}
		if !utf8.ValidString(out) {
			return
		}
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		if err := w.Write([]string{out, "x"}); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		rec, err := csv.NewReader(&b).Read()
		if err != nil || len(rec) != 2 {
			t.Fatalf("the cell %q does not survive CSV: %q %v", out, rec, err)
		}
		if rec[0] != strings.ReplaceAll(out, "\r\n", "\n") {
			t.Fatalf("CSV round trip: %q -> %q", out, rec[0])
		}
		if rec[0] != "" && strings.ContainsRune("=+-@\t\r", rune(rec[0][0])) {
			t.Fatalf("after CSV the cell starts with %q: %q", rec[0][0], rec[0])
		}
	})
}

// TestWriteFuzzSeeds writes the FuzzVerify seeds: a real two-report bundle
// (one PNG attachment) for a fixed test-only identity, and its ZIP.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("CORRIDOR_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set CORRIDOR_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz seeds")
	}
	id := newIdentity(t)
	e := newEnv(t)
	e.body = id
	d := e.dossier("fuzz", dossierOpts{country: "LBY"})
	e.acceptForward(d, sub{where: "LY", whereDetail: "Tripoli", whenDetail: "2025-11"}, "DET.ARBITRARY")
	e.acceptForward(d, sub{where: "TN", when: "recent", topic: "EXPL", testimony: "=1+1 <b>x</b>",
		attachments: []intake.Attachment{{Name: "p.png", ContentType: "image/png", Data: pngWithText(t)}}})
	enc := e.export(d, 1)
	b := open(t, enc, id.Identity)
	for _, dir := range []string{"testdata/fuzz/FuzzVerify", "testdata/fuzz/FuzzCSVNeutral"} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path string, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(fuzzKeyFile, []byte(id.Secret+"\n"))
	write(fuzzBundleFile, enc)
	seed := func(name string, data []byte, plainZip bool) {
		write(filepath.Join("testdata/fuzz/FuzzVerify", name), fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\nbool(%v)\n", data, plainZip))
	}
	seed("bundle", enc, false)
	seed("zip", b.zip, true)
	seed("zip-no-sig", rezipPlain(t, b, "manifest.sig"), true)
	seed("header-only", enc[:bytes.Index(enc, []byte("\n---"))+50], false)
	for i, s := range []string{"=cmd|' /C calc'!A0", "+1", "-2+3", "@SUM(1)", "\t=1", "\r\n=1", "'=1", "Tripoli"} {
		write(filepath.Join("testdata/fuzz/FuzzCSVNeutral", fmt.Sprintf("seed-%d", i)), fmt.Appendf(nil, "go test fuzz v1\nstring(%q)\n", s))
	}
}

// rezipPlain is the bundle's ZIP without one file.
func rezipPlain(t *testing.T, b *bundle, drop string) []byte {
	var z bytes.Buffer
	zw := newZip(&z)
	for _, n := range b.names {
		if n != drop {
			zw.add(t, n, b.files[n])
		}
	}
	zw.close(t)
	return z.Bytes()
}
