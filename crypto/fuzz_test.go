package crypto_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/corridor-gateway/corridor/crypto"
)

// Fixed test identities, so the committed seed corpus holds blobs these
// keys open. They protect nothing.
const (
	fuzzX25519Secret = "AGE-SECRET-KEY-1Z5XD99Q4MVZGXZMG5VX8UYJHZ93Y8D8C53RJAYMA7UZG722ZJ9WSEHHTJD"
	fuzzPQSecret     = "AGE-SECRET-KEY-PQ-1MCKCWPXJK07RDU7X9GWVA8FYHL60WDKUGK4JEEYUV8YMYA40AXCQ60Q83G"
	fuzzRecordID     = "rfuzz.0"
	fuzzKind         = "desk"
	fuzzPayload      = "fuzz testimony \x00\xff\u202e\r\n"
	fuzzPassphrase   = "fuzz passphrase"
)

func fuzzIdentities(tb testing.TB) (*crypto.Identity, *crypto.Identity) {
	tb.Helper()
	x, err := crypto.ParseIdentity(fuzzX25519Secret)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := crypto.ParseIdentity(fuzzPQSecret)
	if err != nil {
		tb.Fatal(err)
	}
	return x, p
}

// readCorpusBytes reads a committed `go test fuzz v1` file holding one
// []byte value.
func readCorpusBytes(tb testing.TB, path string) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("seed corpus: %v", err)
	}
	lines := strings.SplitN(string(data), "\n", 3)
	if len(lines) < 2 || lines[0] != "go test fuzz v1" {
		tb.Fatalf("%s is not a go test fuzz v1 file", path)
	}
	lit := strings.TrimSpace(lines[1])
	if !strings.HasPrefix(lit, "[]byte(") || !strings.HasSuffix(lit, ")") {
		tb.Fatalf("%s does not hold a []byte", path)
	}
	s, err := strconv.Unquote(lit[len("[]byte(") : len(lit)-1])
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return []byte(s)
}

// sealedSeeds are the committed blobs that are exactly what Seal produced for
// (fuzzRecordID, fuzzKind, fuzzPayload). Only they may open.
var sealedSeeds = []string{"sealed-x25519", "sealed-pq"}

// FuzzOpen feeds arbitrary bytes to Open. It must never panic, never
// return an error other than ErrEnvelope or ErrNoKey, never return payload
// bytes with an error, and never return a payload unless the input is one of
// the blobs we sealed.
func FuzzOpen(f *testing.F) {
	x, p := fuzzIdentities(f)
	ids := crypto.AgeIdentities([]*crypto.Identity{x, p})
	var sealed [][]byte
	for _, name := range sealedSeeds {
		b := readCorpusBytes(f, filepath.Join("testdata", "fuzz", "FuzzOpen", name))
		got, err := crypto.Open(ids, fuzzRecordID, fuzzKind, b)
		if err != nil || string(got) != fuzzPayload {
			f.Fatalf("seed %s does not open: %v", name, err)
		}
		sealed = append(sealed, b)
	}
	f.Add([]byte{})
	f.Add([]byte("age-encryption.org/v1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := crypto.Open(ids, fuzzRecordID, fuzzKind, data)
		if err != nil {
			if got != nil {
				t.Fatalf("Open returned %d payload bytes with error %v", len(got), err)
			}
			if !errors.Is(err, crypto.ErrEnvelope) && !errors.Is(err, crypto.ErrNoKey) {
				t.Fatalf("Open returned an unexpected error: %v", err)
			}
			return
		}
		ours := false
		for _, s := range sealed {
			ours = ours || bytes.Equal(s, data)
		}
		if !ours {
			t.Fatalf("Open accepted a blob we did not seal (%d bytes) and returned %q", len(data), got)
		}
		if string(got) != fuzzPayload {
			t.Fatalf("Open returned %q, want the sealed payload", got)
		}
	})
}

var scryptStanza = regexp.MustCompile(`(?m)^-> scrypt \S+ (\S+)`)

// cheapScrypt reports whether data is safe to try with a passphrase: an
// input asking for a high scrypt work factor costs up to a second and
// 268 MB per run, which would only measure scrypt.
func cheapScrypt(data []byte) bool {
	hdr := data
	if t := bytes.TrimSpace(data); bytes.HasPrefix(t, []byte(armor.Header)) {
		b, _ := io.ReadAll(io.LimitReader(armor.NewReader(bytes.NewReader(t)), 4096))
		hdr = b
	}
	for _, m := range scryptStanza.FindAllSubmatch(hdr, -1) {
		n, err := strconv.Atoi(string(m[1]))
		if err != nil || n > 12 {
			return false
		}
	}
	return true
}

// FuzzParseIdentityFile feeds arbitrary bytes to ParseIdentityFile, without
// and with a passphrase. It must never panic; whatever it returns must be
// usable identities; its errors must not repeat key material.
func FuzzParseIdentityFile(f *testing.F) {
	for _, s := range []string{"", "#\n", fuzzX25519Secret, fuzzPQSecret + "\n" + fuzzX25519Secret + "\n", armor.Header + "\n"} {
		f.Add([]byte(s))
	}
	pass := func() (string, error) { return fuzzPassphrase, nil }
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(ids []*crypto.Identity, err error) {
			if err != nil {
				if ids != nil {
					t.Fatalf("identities returned with error %v", err)
				}
				if strings.Contains(err.Error(), "AGE-SECRET-KEY") {
					t.Fatalf("the error repeats key material: %v", err)
				}
				return
			}
			if len(ids) == 0 {
				t.Fatal("no error and no identity")
			}
			for i, id := range ids {
				if !strings.HasPrefix(id.Recipient, "age1") || !strings.HasPrefix(strings.ToUpper(id.Secret), "AGE-SECRET-KEY-") {
					t.Fatalf("identity %d: recipient %q", i, id.Recipient)
				}
				again, err := crypto.ParseIdentity(id.Secret)
				if err != nil || again.Recipient != id.Recipient {
					t.Fatalf("identity %d does not parse again: %v", i, err)
				}
			}
		}
		check(crypto.ParseIdentityFile(data, nil))
		if cheapScrypt(data) {
			check(crypto.ParseIdentityFile(data, pass))
		}
	})
}

// TestWriteFuzzSeeds regenerates the committed seed corpora. Run it with
// CORRIDOR_WRITE_SEEDS=1; otherwise it is skipped.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("CORRIDOR_WRITE_SEEDS") != "1" {
		t.Skip("set CORRIDOR_WRITE_SEEDS=1 to regenerate testdata/fuzz")
	}
	x, p := fuzzIdentities(t)
	write := func(target, name string, b []byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sealTo := func(id *crypto.Identity) []byte {
		ks, err := crypto.NewKeySet(id.Recipient)
		if err != nil {
			t.Fatal(err)
		}
		b, err := crypto.Seal(ks.Recipients, fuzzRecordID, fuzzKind, []byte(fuzzPayload))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sx, sp := sealTo(x), sealTo(p)
	write("FuzzOpen", "sealed-x25519", sx)
	write("FuzzOpen", "sealed-pq", sp)
	write("FuzzOpen", "truncated-x25519", sx[:len(sx)-7])
	write("FuzzOpen", "header-only-x25519", sx[:headerLen(t, sx)])
	write("FuzzOpen", "garbage", []byte("\x00\x01not an age file at all\xff"))
	other, _ := crypto.NewKeySet(x.Recipient)
	wrong, _ := crypto.Seal(other.Recipients, "rfuzz.1", "custodian", []byte(fuzzPayload))
	write("FuzzOpen", "other-record", wrong)
	var plain bytes.Buffer
	w, _ := age.Encrypt(&plain, other.Recipients...)
	io.WriteString(w, "forged without envelope")
	w.Close()
	write("FuzzOpen", "plain-age", plain.Bytes())

	keys := "# created: 2026-01-01\n# public key: " + x.Recipient + "\n" + fuzzX25519Secret + "\n" + fuzzPQSecret + "\n"
	write("FuzzParseIdentityFile", "plain", []byte(keys))
	write("FuzzParseIdentityFile", "scrypt-binary", scryptEncrypt(t, keys, fuzzPassphrase, false))
	write("FuzzParseIdentityFile", "scrypt-armored", scryptEncrypt(t, keys, fuzzPassphrase, true))
	write("FuzzParseIdentityFile", "scrypt-wrong-pass", scryptEncrypt(t, keys, "other", false))
	write("FuzzParseIdentityFile", "garbage", []byte("AGE-SECRET-KEY-1\n\x00\xff"))
}
