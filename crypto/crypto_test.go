package crypto_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/corridor-gateway/corridor/crypto"
)

// keyTypes are the two key types a deployment can pick.
var keyTypes = []crypto.KeyType{crypto.X25519, crypto.PostQuantum}

func generate(t testing.TB, kt crypto.KeyType) *crypto.Identity {
	t.Helper()
	id, err := crypto.Generate(kt)
	if err != nil {
		t.Fatalf("Generate(%s): %v", kt, err)
	}
	return id
}

func keySet(t testing.TB, recipients ...string) *crypto.KeySet {
	t.Helper()
	ks, err := crypto.NewKeySet(recipients...)
	if err != nil {
		t.Fatalf("NewKeySet: %v", err)
	}
	return ks
}

func seal(t testing.TB, id *crypto.Identity, recordID, kind string, payload []byte) []byte {
	t.Helper()
	blob, err := crypto.Seal(keySet(t, id.Recipient).Recipients, recordID, kind, payload)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return blob
}

func ageIDs(ids ...*crypto.Identity) []age.Identity { return crypto.AgeIdentities(ids) }

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// headerLen is the length of the age header (up to and including the MAC
// line).
func headerLen(t testing.TB, blob []byte) int {
	t.Helper()
	i := bytes.Index(blob, []byte("\n--- "))
	if i < 0 {
		t.Fatalf("not an age file: no MAC line")
	}
	i++
	j := bytes.IndexByte(blob[i:], '\n')
	if j < 0 {
		t.Fatalf("not an age file: MAC line not terminated")
	}
	return i + j + 1
}

func TestSealOpenRoundTrip(t *testing.T) {
	payloads := []struct {
		name string
		data []byte
	}{
		{"empty", []byte{}},
		{"text", []byte("Testimony: they took our papers at the border.")},
		{"binary with NUL and newlines", []byte("a\x00b\r\n\xff\xfe\n--- not a mac\n")},
		{"looks like an envelope line", []byte("corridor-envelope/v1 other desk\nfake")},
		{"one full age chunk", randBytes(t, 64<<10)},
		{"chunk plus one", randBytes(t, 64<<10+1)},
	}
	for _, kt := range keyTypes {
		id := generate(t, kt)
		for _, p := range payloads {
			t.Run(string(kt)+"/"+p.name, func(t *testing.T) {
				blob := seal(t, id, "r_abc.0", "desk", p.data)
				if len(p.data) >= 16 && bytes.Contains(blob, p.data[:16]) {
					t.Fatal("the sealed blob contains the plaintext")
				}
				got, err := crypto.Open(ageIDs(id), "r_abc.0", "desk", blob)
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if !bytes.Equal(got, p.data) {
					t.Fatalf("payload changed in the round trip: got %d bytes, want %d", len(got), len(p.data))
				}
				rid, kind, got2, err := crypto.OpenAny(ageIDs(id), blob)
				if err != nil || rid != "r_abc.0" || kind != "desk" || !bytes.Equal(got2, p.data) {
					t.Fatalf("OpenAny = %q, %q, %d bytes, %v", rid, kind, len(got2), err)
				}
			})
		}
	}
}

func TestSealToSeveralRecipients(t *testing.T) {
	for _, kt := range keyTypes {
		t.Run(string(kt), func(t *testing.T) {
			a, b, c := generate(t, kt), generate(t, kt), generate(t, kt)
			ks := keySet(t, a.Recipient, b.Recipient)
			blob, err := crypto.Seal(ks.Recipients, "r1", "custodian", []byte("hello"))
			if err != nil {
				t.Fatal(err)
			}
			for name, id := range map[string]*crypto.Identity{"first": a, "second": b} {
				if p, err := crypto.Open(ageIDs(id), "r1", "custodian", blob); err != nil || string(p) != "hello" {
					t.Errorf("%s recipient: Open = %q, %v", name, p, err)
				}
			}
			if p, err := crypto.Open(ageIDs(c), "r1", "custodian", blob); !errors.Is(err, crypto.ErrNoKey) || p != nil {
				t.Errorf("outsider: Open = %q, %v; want nil, ErrNoKey", p, err)
			}
			// An outsider's identity listed first must not stop a member's.
			if p, err := crypto.Open(ageIDs(c, b), "r1", "custodian", blob); err != nil || string(p) != "hello" {
				t.Errorf("outsider then member: Open = %q, %v", p, err)
			}
		})
	}
}

func TestSealRefusesBadInput(t *testing.T) {
	id := generate(t, crypto.X25519)
	rs := keySet(t, id.Recipient).Recipients
	cases := []struct {
		name       string
		recipients []age.Recipient
		recordID   string
		kind       string
	}{
		{"no recipients", nil, "r1", "desk"},
		{"empty record id", rs, "", "desk"},
		{"empty kind", rs, "r1", ""},
		{"space in record id", rs, "r1 r2", "desk"},
		{"newline in record id", rs, "r1\nr2", "desk"},
		{"space in kind", rs, "r1", "desk custodian"},
		{"newline in kind", rs, "r1", "desk\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if blob, err := crypto.Seal(c.recipients, c.recordID, c.kind, []byte("x")); err == nil {
				t.Fatalf("Seal accepted it and returned %d bytes", len(blob))
			}
		})
	}
}

func TestOpenWrongIdentity(t *testing.T) {
	x1, x2 := generate(t, crypto.X25519), generate(t, crypto.X25519)
	p1, p2 := generate(t, crypto.PostQuantum), generate(t, crypto.PostQuantum)
	cases := []struct {
		name      string
		sealedTo  *crypto.Identity
		openWith  []*crypto.Identity
		wantError error
	}{
		{"x25519 opened by another x25519", x1, []*crypto.Identity{x2}, crypto.ErrNoKey},
		{"pq opened by another pq", p1, []*crypto.Identity{p2}, crypto.ErrNoKey},
		{"x25519 opened by pq", x1, []*crypto.Identity{p1}, crypto.ErrNoKey},
		{"pq opened by x25519", p1, []*crypto.Identity{x1}, crypto.ErrNoKey},
		{"no identity at all", x1, nil, crypto.ErrNoKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			blob := seal(t, c.sealedTo, "r1", "desk", []byte("secret testimony"))
			p, err := crypto.Open(ageIDs(c.openWith...), "r1", "desk", blob)
			if !errors.Is(err, c.wantError) {
				t.Fatalf("Open error = %v, want %v", err, c.wantError)
			}
			if p != nil {
				t.Fatalf("Open returned %d bytes of payload with an error", len(p))
			}
		})
	}
}

// TestOpenTamperedHeader flips every byte of the header. Each must fail
// with no payload. Outside the recipient stanza (the version line, the
// stanza marker, the MAC line) it must be ErrEnvelope. Inside the stanza age
// cannot tell a damaged stanza from one for somebody else's key, so ErrNoKey
// is accepted there too.
func TestOpenTamperedHeader(t *testing.T) {
	for _, kt := range keyTypes {
		t.Run(string(kt), func(t *testing.T) {
			id := generate(t, kt)
			blob := seal(t, id, "r1", "desk", []byte("testimony"))
			hl := headerLen(t, blob)
			stanzaStart := len("age-encryption.org/v1\n-> ")
			stanzaEnd := bytes.Index(blob, []byte("\n--- "))
			for i := 0; i < hl; i++ {
				for _, mask := range []byte{0x01, 0x80} {
					b := bytes.Clone(blob)
					b[i] ^= mask
					p, err := crypto.Open(ageIDs(id), "r1", "desk", b)
					if err == nil || p != nil {
						t.Fatalf("header byte %d ^%#x: Open = %d bytes, %v; want no payload and an error", i, mask, len(p), err)
					}
					inStanza := i >= stanzaStart && i < stanzaEnd
					switch {
					case errors.Is(err, crypto.ErrEnvelope):
					case errors.Is(err, crypto.ErrNoKey) && inStanza:
					default:
						t.Fatalf("header byte %d ^%#x (in stanza: %v): error %v, want ErrEnvelope", i, mask, inStanza, err)
					}
				}
			}
		})
	}
}

func TestOpenTamperedPayload(t *testing.T) {
	for _, kt := range keyTypes {
		t.Run(string(kt), func(t *testing.T) {
			id := generate(t, kt)
			blob := seal(t, id, "r1", "desk", []byte("a testimony long enough to span a few bytes"))
			hl := headerLen(t, blob)
			if hl >= len(blob) {
				t.Fatal("no payload after the header")
			}
			for i := hl; i < len(blob); i++ {
				b := bytes.Clone(blob)
				b[i] ^= 0x01
				p, err := crypto.Open(ageIDs(id), "r1", "desk", b)
				if !errors.Is(err, crypto.ErrEnvelope) || p != nil {
					t.Fatalf("payload byte %d (of %d) flipped: Open = %d bytes, %v; want nil, ErrEnvelope", i-hl, len(blob)-hl, len(p), err)
				}
			}
		})
	}
}

func TestOpenTruncated(t *testing.T) {
	for _, kt := range keyTypes {
		t.Run(string(kt), func(t *testing.T) {
			id := generate(t, kt)
			// Two age chunks (64 KiB each), so a cut at the chunk boundary
			// leaves a first chunk that authenticates on its own.
			payload := randBytes(t, 64<<10+100)
			blob := seal(t, id, "r1", "desk", payload)
			hl := headerLen(t, blob)
			const nonce, tag = 16, 16
			firstChunkEnd := hl + nonce + 64<<10 + tag
			lengths := map[string]int{
				"empty":                0,
				"one byte":             1,
				"half the header":      hl / 2,
				"header minus one":     hl - 1,
				"header only":          hl,
				"header and nonce":     hl + nonce,
				"mid first chunk":      hl + nonce + 1000,
				"at the chunk border":  firstChunkEnd,
				"one byte past border": firstChunkEnd + 1,
				"minus tag":            len(blob) - tag,
				"minus one byte":       len(blob) - 1,
			}
			for name, n := range lengths {
				p, err := crypto.Open(ageIDs(id), "r1", "desk", blob[:n])
				if !errors.Is(err, crypto.ErrEnvelope) || p != nil {
					t.Errorf("truncated to %d of %d bytes (%s): Open = %d bytes, %v; want nil, ErrEnvelope", n, len(blob), name, len(p), err)
				}
			}
			// Trailing junk is damage too.
			p, err := crypto.Open(ageIDs(id), "r1", "desk", append(bytes.Clone(blob), 0))
			if !errors.Is(err, crypto.ErrEnvelope) || p != nil {
				t.Errorf("one byte appended: Open = %d bytes, %v; want nil, ErrEnvelope", len(p), err)
			}
		})
	}
}

// TestOpenSwapped: a ciphertext moved to another record, or read as another
// kind, does not open.
func TestOpenSwapped(t *testing.T) {
	id := generate(t, crypto.X25519)
	blob := seal(t, id, "rep1.0", "desk", []byte("testimony of A"))
	cases := []struct{ name, recordID, kind string }{
		{"other record", "rep2.0", "desk"},
		{"other entry of same record", "rep1.1", "desk"},
		{"record id prefix", "rep1.", "desk"},
		{"record id extended", "rep1.00", "desk"},
		{"other kind", "rep1.0", "custodian"},
		{"kind prefix", "rep1.0", "des"},
		{"kind extended", "rep1.0", "desks"},
		{"attachment kind", "rep1.0", "attachment"},
		{"wrap kind", "rep1.0", "wrap"},
		{"empty record id", "", "desk"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := crypto.Open(ageIDs(id), c.recordID, c.kind, blob)
			if !errors.Is(err, crypto.ErrEnvelope) || p != nil {
				t.Fatalf("Open(%q, %q) = %q, %v; want nil, ErrEnvelope", c.recordID, c.kind, p, err)
			}
		})
	}
	if p, err := crypto.Open(ageIDs(id), "rep1.0", "desk", blob); err != nil || string(p) != "testimony of A" {
		t.Fatalf("the right record no longer opens: %q, %v", p, err)
	}
}

// TestOpenForgedPlainAge: a blob encrypted to the public recipient by plain
// age, without our envelope line, is refused.
func TestOpenForgedPlainAge(t *testing.T) {
	for _, kt := range keyTypes {
		t.Run(string(kt), func(t *testing.T) {
			id := generate(t, kt)
			rs := keySet(t, id.Recipient).Recipients
			forged := []struct{ name, plain string }{
				{"plain text", "I am a forged testimony"},
				{"empty", ""},
				{"envelope magic without newline", "corridor-envelope/v1 r1 desk"},
				{"envelope for another record", "corridor-envelope/v1 r2 desk\nforged"},
				{"envelope v2", "corridor-envelope/v2 r1 desk\nforged"},
				{"leading space", " corridor-envelope/v1 r1 desk\nforged"},
			}
			for _, f := range forged {
				var buf bytes.Buffer
				w, err := age.Encrypt(&buf, rs...)
				if err != nil {
					t.Fatal(err)
				}
				io.WriteString(w, f.plain)
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				p, err := crypto.Open(ageIDs(id), "r1", "desk", buf.Bytes())
				if !errors.Is(err, crypto.ErrEnvelope) || p != nil {
					t.Errorf("%s: Open = %q, %v; want nil, ErrEnvelope", f.name, p, err)
				}
			}
		})
	}
}

func TestNewKeySet(t *testing.T) {
	x1, x2 := generate(t, crypto.X25519), generate(t, crypto.X25519)
	p1, p2 := generate(t, crypto.PostQuantum), generate(t, crypto.PostQuantum)
	good := []struct {
		name string
		in   []string
		want crypto.KeyType
	}{
		{"one x25519", []string{x1.Recipient}, crypto.X25519},
		{"two x25519", []string{x1.Recipient, x2.Recipient}, crypto.X25519},
		{"one pq", []string{p1.Recipient}, crypto.PostQuantum},
		{"two pq", []string{p1.Recipient, p2.Recipient}, crypto.PostQuantum},
		{"surrounding spaces", []string{"  " + x1.Recipient + "\n"}, crypto.X25519},
	}
	for _, c := range good {
		t.Run("accepts/"+c.name, func(t *testing.T) {
			ks, err := crypto.NewKeySet(c.in...)
			if err != nil {
				t.Fatalf("NewKeySet: %v", err)
			}
			if ks.Type != c.want || len(ks.Recipients) != len(c.in) || len(ks.Strings) != len(c.in) {
				t.Fatalf("got type %s with %d recipients, want %s with %d", ks.Type, len(ks.Recipients), c.want, len(c.in))
			}
			for i, s := range ks.Strings {
				if s != strings.TrimSpace(c.in[i]) {
					t.Errorf("Strings[%d] = %q", i, s)
				}
			}
		})
	}
	bad := []struct {
		name string
		in   []string
	}{
		{"empty", nil},
		{"empty string", []string{""}},
		{"mixed x25519 then pq", []string{x1.Recipient, p1.Recipient}},
		{"mixed pq then x25519", []string{p1.Recipient, x1.Recipient}},
		{"x25519 secret key", []string{x1.Secret}},
		{"pq secret key", []string{p1.Secret}},
		{"secret key among recipients", []string{x1.Recipient, x2.Secret}},
		{"secret key with spaces", []string{"  " + x1.Secret}},
		{"garbage", []string{"hello"}},
		{"age1 garbage", []string{"age1notarecipient"}},
		{"age1pq1 garbage", []string{"age1pq1notarecipient"}},
		{"truncated recipient", []string{x1.Recipient[:len(x1.Recipient)-3]}},
		{"ssh key", []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN"}},
		{"scrypt-like", []string{"-> scrypt"}},
	}
	for _, c := range bad {
		t.Run("refuses/"+c.name, func(t *testing.T) {
			ks, err := crypto.NewKeySet(c.in...)
			if err == nil {
				t.Fatalf("NewKeySet(%q) accepted it as a %s key set", c.in, ks.Type)
			}
			if strings.Contains(err.Error(), "AGE-SECRET-KEY-1") {
				t.Fatalf("the error repeats the secret key: %v", err)
			}
		})
	}
}

// ageTestdata reads a file copied from filippo.io/age@v1.3.2/testdata.
func ageTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("testdata/%s (copied from filippo.io/age@v1.3.2/testdata): %v", name, err)
	}
	return data
}

// TestAgeLibraryVectors checks our identity parser against the age library's
// own example file, and that Open refuses a file without our envelope line.
func TestAgeLibraryVectors(t *testing.T) {
	keys := ageTestdata(t, "example_keys.txt")
	file := ageTestdata(t, "example.age")
	ids, err := crypto.ParseIdentityFile(keys, nil)
	if err != nil {
		t.Fatalf("ParseIdentityFile(example_keys.txt): %v", err)
	}
	if len(ids) != 1 {
		t.Fatalf("parsed %d identities, want 1", len(ids))
	}
	theirs, err := age.ParseIdentities(bytes.NewReader(keys))
	if err != nil {
		t.Fatal(err)
	}
	if want := theirs[0].(*age.X25519Identity).Recipient().String(); ids[0].Recipient != want {
		t.Fatalf("recipient %s, age says %s", ids[0].Recipient, want)
	}
	r, err := age.Decrypt(bytes.NewReader(file), crypto.AgeIdentities(ids)...)
	if err != nil {
		t.Fatalf("age.Decrypt(example.age) with our parsed identity: %v", err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading example.age: %v", err)
	}
	if len(plain) == 0 {
		t.Fatal("example.age decrypted to nothing")
	}
	p, err := crypto.Open(crypto.AgeIdentities(ids), "r1", "desk", file)
	if !errors.Is(err, crypto.ErrEnvelope) || p != nil {
		t.Fatalf("Open(example.age) = %d bytes, %v; want nil, ErrEnvelope (no corridor envelope line)", len(p), err)
	}
	if _, _, p, err := crypto.OpenAny(crypto.AgeIdentities(ids), file); !errors.Is(err, crypto.ErrEnvelope) || p != nil {
		t.Fatalf("OpenAny(example.age) = %d bytes, %v; want nil, ErrEnvelope", len(p), err)
	}
}

func scryptEncrypt(t *testing.T, plain, passphrase string, armored bool) []byte {
	t.Helper()
	rcpt, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		t.Fatal(err)
	}
	rcpt.SetWorkFactor(10)
	var buf bytes.Buffer
	var dst io.Writer = &buf
	var aw io.WriteCloser
	if armored {
		aw = armor.NewWriter(&buf)
		dst = aw
	}
	w, err := age.Encrypt(dst, rcpt)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if aw != nil {
		if err := aw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func passphrase(p string) crypto.Passphrase { return func() (string, error) { return p, nil } }

func TestParseIdentityFile(t *testing.T) {
	x1, x2 := generate(t, crypto.X25519), generate(t, crypto.PostQuantum)
	plain := "# created: 2026-01-01T00:00:00Z\n# public key: " + x1.Recipient + "\n" + x1.Secret + "\n\n" +
		"   # an indented comment\n" + x2.Secret + "\r\n"
	want := []string{x1.Recipient, x2.Recipient}
	const pw = "correct horse battery staple"
	cases := []struct {
		name string
		data []byte
		pass crypto.Passphrase
	}{
		{"plain with comments", []byte(plain), nil},
		{"plain, passphrase func ignored", []byte(plain), passphrase("unused")},
		{"age-keygen style", []byte(crypto.IdentityFileText(x1, "2026-01-01", "desk default\nsecond line") + x2.Secret + "\n"), nil},
		{"scrypt binary", scryptEncrypt(t, plain, pw, false), passphrase(pw)},
		{"scrypt armored", scryptEncrypt(t, plain, pw, true), passphrase(pw)},
		{"scrypt armored with surrounding blank lines", append(append([]byte("\n\n"), scryptEncrypt(t, plain, pw, true)...), "\n\n"...), passphrase(pw)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ids, err := crypto.ParseIdentityFile(c.data, c.pass)
			if err != nil {
				t.Fatalf("ParseIdentityFile: %v", err)
			}
			var got []string
			for _, id := range ids {
				got = append(got, id.Recipient)
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("recipients %q, want %q", got, want)
			}
			// The parsed identities open what is sealed to them.
			for i, id := range ids {
				blob := seal(t, id, "r1", "desk", []byte("x"))
				if _, err := crypto.Open(crypto.AgeIdentities(ids), "r1", "desk", blob); err != nil {
					t.Fatalf("identity %d does not open its own blob: %v", i, err)
				}
			}
		})
	}

	bad := []struct {
		name    string
		data    []byte
		pass    crypto.Passphrase
		mention string
	}{
		{"wrong passphrase binary", scryptEncrypt(t, plain, pw, false), passphrase("wrong"), "passphrase"},
		{"wrong passphrase armored", scryptEncrypt(t, plain, pw, true), passphrase("wrong"), "passphrase"},
		{"nil passphrase func binary", scryptEncrypt(t, plain, pw, false), nil, "CORRIDOR_PASSPHRASE"},
		{"nil passphrase func armored", scryptEncrypt(t, plain, pw, true), nil, "CORRIDOR_PASSPHRASE"},
		{"passphrase func fails", scryptEncrypt(t, plain, pw, false), func() (string, error) { return "", errors.New("no terminal") }, "no terminal"},
		{"empty", nil, nil, "no age identity"},
		{"comments only", []byte("# nothing here\n\n"), nil, "no age identity"},
		{"recipient instead of identity", []byte(x1.Recipient + "\n"), nil, "line 1"},
		{"garbage on line 3", []byte("# c\n" + x1.Secret + "\nnot a key\n"), nil, "line 3"},
		{"truncated key", []byte(x1.Secret[:len(x1.Secret)-2] + "\n"), nil, "line 1"},
		{"too large", bytes.Repeat([]byte("#"), 1<<20+1), nil, "too large"},
		{"damaged scrypt file", func() []byte {
			b := scryptEncrypt(t, plain, pw, false)
			b[len(b)-5] ^= 1
			return b
		}(), passphrase(pw), "damaged"},
	}
	for _, c := range bad {
		t.Run("refuses/"+c.name, func(t *testing.T) {
			ids, err := crypto.ParseIdentityFile(c.data, c.pass)
			if err == nil {
				t.Fatalf("accepted, %d identities", len(ids))
			}
			if !strings.Contains(err.Error(), c.mention) {
				t.Fatalf("error %q does not mention %q", err, c.mention)
			}
			if strings.Contains(err.Error(), "AGE-SECRET-KEY") || strings.Contains(err.Error(), pw) {
				t.Fatalf("error leaks key material: %q", err)
			}
		})
	}
}

func TestLoadIdentities(t *testing.T) {
	id := generate(t, crypto.X25519)
	path := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(path, []byte(crypto.IdentityFileText(id, "now", "")), 0o600); err != nil {
		t.Fatal(err)
	}
	ids, err := crypto.LoadIdentities(path, nil)
	if err != nil || len(ids) != 1 || ids[0].Recipient != id.Recipient {
		t.Fatalf("LoadIdentities = %v, %v", ids, err)
	}
	if _, err := crypto.LoadIdentities(path+".missing", nil); err == nil {
		t.Fatal("a missing file was accepted")
	}
}

func TestWrapUnwrap(t *testing.T) {
	for _, kt := range keyTypes {
		t.Run(string(kt), func(t *testing.T) {
			desk := generate(t, kt)
			member, other := generate(t, kt), generate(t, kt)
			blob, err := crypto.Wrap(keySet(t, member.Recipient), "k_1", desk)
			if err != nil {
				t.Fatalf("Wrap: %v", err)
			}
			if bytes.Contains(blob, []byte(desk.Secret)) {
				t.Fatal("the wrap holds the desk secret in clear")
			}
			got, err := crypto.Unwrap(ageIDs(member), "k_1", blob)
			if err != nil {
				t.Fatalf("Unwrap: %v", err)
			}
			if got.Recipient != desk.Recipient || got.Secret != desk.Secret {
				t.Fatalf("unwrapped %s, want %s", got.Recipient, desk.Recipient)
			}
			// The unwrapped identity opens what the edge sealed to the desk.
			sealed := seal(t, desk, "r1.0", "desk", []byte("for the desk"))
			if p, err := crypto.Open(ageIDs(got), "r1.0", "desk", sealed); err != nil || string(p) != "for the desk" {
				t.Fatalf("unwrapped identity cannot open a desk record: %q, %v", p, err)
			}
			if _, err := crypto.Unwrap(ageIDs(other), "k_1", blob); !errors.Is(err, crypto.ErrNoKey) {
				t.Errorf("non-member Unwrap error = %v, want ErrNoKey", err)
			}
			if _, err := crypto.Unwrap(ageIDs(member), "k_2", blob); !errors.Is(err, crypto.ErrEnvelope) {
				t.Errorf("Unwrap under another key id: error = %v, want ErrEnvelope", err)
			}
			// A desk record is not a wrap, even for the same id.
			notWrap := seal(t, member, "k_1", "desk", []byte(desk.Secret))
			if _, err := crypto.Unwrap(ageIDs(member), "k_1", notWrap); !errors.Is(err, crypto.ErrEnvelope) {
				t.Errorf("Unwrap of a non-wrap kind: error = %v, want ErrEnvelope", err)
			}
		})
	}
}

func TestParseKeyType(t *testing.T) {
	cases := map[string]crypto.KeyType{"": crypto.X25519, "x25519": crypto.X25519, " X25519 ": crypto.X25519,
		"classic": crypto.X25519, "pq": crypto.PostQuantum, "PQ": crypto.PostQuantum, "hybrid": crypto.PostQuantum,
		"mlkem768x25519": crypto.PostQuantum, "post-quantum": crypto.PostQuantum}
	for in, want := range cases {
		if got, err := crypto.ParseKeyType(in); err != nil || got != want {
			t.Errorf("ParseKeyType(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"rsa", "ssh", "scrypt", "x448"} {
		if got, err := crypto.ParseKeyType(in); err == nil {
			t.Errorf("ParseKeyType(%q) = %q, want an error", in, got)
		}
	}
}

func newSecret(t *testing.T) *crypto.Secret {
	t.Helper()
	s, err := crypto.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPseudonym(t *testing.T) {
	s1, s2 := newSecret(t), newSecret(t)
	const ch, addr = "sms", "+218912345678"
	p := s1.Pseudonym(ch, addr)
	if !regexp.MustCompile(`^p_[a-z2-7]{26}$`).MatchString(p) {
		t.Fatalf("pseudonym %q has an unexpected form", p)
	}
	if again := s1.Pseudonym(ch, addr); again != p {
		t.Fatalf("pseudonym not stable for the same secret: %q then %q", p, again)
	}
	// Stable across a restart: the same key bytes loaded again.
	path := filepath.Join(t.TempDir(), "secret")
	if err := s1.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := crypto.LoadSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := loaded.Pseudonym(ch, addr); got != p {
		t.Fatalf("pseudonym changed after reloading the secret: %q vs %q", got, p)
	}
	different := map[string]string{
		"other deployment": s2.Pseudonym(ch, addr),
		"other channel":    s1.Pseudonym("whatsapp", addr),
		"other address":    s1.Pseudonym(ch, "+218912345679"),
		"shifted boundary": s1.Pseudonym(ch+"+", addr[1:]),
	}
	for name, q := range different {
		if q == p {
			t.Errorf("%s gives the same pseudonym %q", name, p)
		}
	}
	// P2: the pseudonym is not a plain hash of the address.
	for _, in := range []string{addr, ch + addr, ch + ":" + addr, ch + "\x00" + addr} {
		sum := sha256.Sum256([]byte(in))
		for _, enc := range []string{
			hex.EncodeToString(sum[:]), hex.EncodeToString(sum[:16]),
			strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:])),
			strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:16])),
		} {
			if strings.Contains(p, enc) || strings.TrimPrefix(p, "p_") == enc {
				t.Fatalf("pseudonym %q is a plain SHA-256 of %q", p, in)
			}
		}
	}
}

var receiptRE = regexp.MustCompile(`^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$`)

func TestReceipt(t *testing.T) {
	s, other := newSecret(t), newSecret(t)
	r := s.Receipt("web", "token-1")
	if !receiptRE.MatchString(r) {
		t.Fatalf("receipt %q does not look like XXXX-XXXX-XXXX", r)
	}
	if again := s.Receipt("web", "token-1"); again != r {
		t.Fatalf("receipt not deterministic: %q then %q", r, again)
	}
	seen := map[string]string{r: "token-1"}
	for i := 2; i < 200; i++ {
		id := "token-" + string(rune('a'+i%26)) + strings.Repeat("x", i)
		c := s.Receipt("web", id)
		if !receiptRE.MatchString(c) {
			t.Fatalf("receipt %q does not look like XXXX-XXXX-XXXX", c)
		}
		if prev, dup := seen[c]; dup {
			t.Fatalf("providers %q and %q got the same receipt %q", prev, id, c)
		}
		seen[c] = id
	}
	if s.Receipt("sms", "token-1") == r {
		t.Error("another channel with the same provider id gives the same receipt")
	}
	if other.Receipt("web", "token-1") == r {
		t.Error("another deployment gives the same receipt")
	}
	if norm, ok := crypto.NormalizeReceipt(r); !ok || norm != r {
		t.Errorf("NormalizeReceipt(%q) = %q, %v", r, norm, ok)
	}
	if !bytes.Equal(s.ReceiptHash(r), s.ReceiptHash(r)) || bytes.Equal(s.ReceiptHash(r), other.ReceiptHash(r)) {
		t.Error("ReceiptHash must be deterministic per secret and differ across secrets")
	}
}

func TestNormalizeReceipt(t *testing.T) {
	s := newSecret(t)
	code := s.Receipt("telegram", "update-42") // e.g. ACDE-FGHJ-KMNP
	plain := strings.ReplaceAll(code, "-", "")
	good := map[string]string{
		"as issued":           code,
		"lower case":          strings.ToLower(code),
		"no dashes":           plain,
		"spaces":              plain[:4] + " " + plain[4:8] + " " + plain[8:],
		"surrounding spaces":  "  " + code + " ",
		"dots and tabs":       plain[:4] + "." + plain[4:8] + "\t" + plain[8:],
		"dashes everywhere":   strings.Join(strings.Split(plain, ""), "-"),
		"mixed case no dash":  strings.ToLower(plain[:6]) + plain[6:],
		"fixed known receipt": "acde fghj kmnp",
	}
	for name, in := range good {
		t.Run("accepts/"+name, func(t *testing.T) {
			got, ok := crypto.NormalizeReceipt(in)
			want := code
			if name == "fixed known receipt" {
				want = "ACDE-FGHJ-KMNP"
			}
			if !ok || got != want {
				t.Fatalf("NormalizeReceipt(%q) = %q, %v; want %q", in, got, ok, want)
			}
		})
	}
	bad := map[string]string{
		"empty":              "",
		"too short":          plain[:11],
		"too long":           plain + "A",
		"three groups of 3":  plain[:3] + "-" + plain[3:6] + "-" + plain[6:9],
		"letter not issued":  "ACDE-FGHJ-KMNO", // O is not in the alphabet
		"digit not issued":   "ACDE-FGHJ-KMN0",
		"non-ascii":          "ACDE-FGHJ-KMNÄ",
		"fullwidth letters":  "ＡＣＤＥ-FGHJ-KMNP",
		"sql":                "' OR 1=1 --",
		"thirteen with dash": code + "-A",
	}
	for name, in := range bad {
		t.Run("refuses/"+name, func(t *testing.T) {
			if got, ok := crypto.NormalizeReceipt(in); ok {
				t.Fatalf("NormalizeReceipt(%q) = %q, accepted", in, got)
			}
		})
	}
}

func TestSecretFile(t *testing.T) {
	dir := t.TempDir()
	s := newSecret(t)
	path := filepath.Join(dir, "pseudonym.key")
	if err := s.WriteFile(path); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode %v, want 0600", st.Mode().Perm())
	}
	first, _ := os.ReadFile(path)

	// Never overwrites: a second secret to the same path fails and the file
	// keeps the first key.
	if err := newSecret(t).WriteFile(path); err == nil {
		t.Fatal("WriteFile overwrote an existing secret file")
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, first) {
		t.Fatal("the existing secret file was changed")
	}
	loaded, err := crypto.LoadSecret(path)
	if err != nil {
		t.Fatalf("LoadSecret: %v", err)
	}
	if loaded.Pseudonym("sms", "+1") != s.Pseudonym("sms", "+1") {
		t.Fatal("the loaded secret differs from the written one")
	}

	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := strings.TrimSpace(string(first))
	bad := []struct {
		name, path, mention string
	}{
		{"0644", write("a", key, 0o644), "chmod 600"},
		{"0640", write("b", key, 0o640), "chmod 600"},
		{"0604", write("c", key, 0o604), "chmod 600"},
		{"missing", filepath.Join(dir, "nope"), "missing"},
		{"not hex", write("d", "zz"+key[2:], 0o600), "malformed"},
		{"too short", write("e", key[:62], 0o600), "malformed"},
		{"empty", write("f", "", 0o600), "malformed"},
	}
	for _, c := range bad {
		t.Run("LoadSecret refuses "+c.name, func(t *testing.T) {
			s, err := crypto.LoadSecret(c.path)
			if err == nil || s != nil {
				t.Fatalf("LoadSecret accepted it")
			}
			if !strings.Contains(err.Error(), c.mention) {
				t.Fatalf("error %q does not mention %q", err, c.mention)
			}
			if strings.Contains(err.Error(), key[:16]) {
				t.Fatalf("error leaks the key: %q", err)
			}
		})
	}
}

func TestIDsAndTokens(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := crypto.NewID()
		if !regexp.MustCompile(`^[a-z2-7]{26}$`).MatchString(id) {
			t.Fatalf("NewID %q is not 128-bit lowercase base32", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
	}
	if a, b := crypto.Token(16), crypto.Token(16); a == b || len(a) != 26 {
		t.Fatalf("Token(16) = %q, %q", a, b)
	}
}
