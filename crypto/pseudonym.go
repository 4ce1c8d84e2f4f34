package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Secret is the edge's keyed-hash secret. It derives sender pseudonyms,
// receipt lookups and idempotency keys. It lives in its own 0600 file and is
// never written to the database.
type Secret struct{ key []byte }

// NewSecret makes a random 32-byte secret.
func NewSecret() (*Secret, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return &Secret{key: k}, nil
}

// SecretFromBytes wraps an existing key (tests).
func SecretFromBytes(k []byte) *Secret { return &Secret{key: append([]byte(nil), k...)} }

// WriteFile writes the secret, hex-encoded, to a new 0600 file; it never
// overwrites.
func (s *Secret) WriteFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(hex.EncodeToString(s.key) + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadSecret reads a secret file and refuses one readable by others.
func LoadSecret(path string) (*Secret, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("the secret file %s is missing", path)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("the secret file %s is readable by others: run chmod 600 on it", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the secret file %s", path)
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(k) < 32 {
		return nil, errors.New("the secret file is malformed")
	}
	return &Secret{key: k}, nil
}

func (s *Secret) mac(label string, parts ...string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(label))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Pseudonym is HMAC-SHA256(secret, channel, address), shortened to 128 bits.
// It is stable for a sender on a channel, and useless without the secret.
func (s *Secret) Pseudonym(channel, address string) string {
	return "p_" + strings.ToLower(b32.EncodeToString(s.mac("corridor/pseudonym/v1", channel, address)[:16]))
}

// IdempotencyKey is the stored form of a provider's id (form token,
// MessageSid, update_id): a keyed hash, so the store holds no provider id.
func (s *Secret) IdempotencyKey(channel, providerID string) []byte {
	return s.mac("corridor/idempotency/v1", channel, providerID)
}

// receiptAlphabet avoids letters and digits that are easily confused
// (0/O, 1/I/L, 5/S, 2/Z, 8/B, U/V).
const receiptAlphabet = "ACDEFGHJKMNPQRTWXY34679"

// Receipt derives the receipt code for a submission from its idempotency
// key: random to anyone without the secret, and the same again when a
// provider retries, so the retry gets the same answer without us storing the
// code. Format: XXXX-XXXX-XXXX (about 54 bits).
func (s *Secret) Receipt(channel, providerID string) string {
	sum := s.mac("corridor/receipt/v1", channel, providerID)
	var b strings.Builder
	for i := 0; i < 12; i++ {
		if i == 4 || i == 8 {
			b.WriteByte('-')
		}
		b.WriteByte(receiptAlphabet[int(sum[i])%len(receiptAlphabet)])
	}
	return b.String()
}

// NormalizeReceipt uppercases a typed code, drops spaces and dashes, maps
// look-alikes, and reformats it; ok is false when it cannot be a receipt.
func NormalizeReceipt(in string) (string, bool) {
	var c []byte
	for _, r := range strings.ToUpper(in) {
		switch r {
		case ' ', '-', '\t', '.':
			continue
		}
		if r > 127 || !strings.ContainsRune(receiptAlphabet, r) {
			return "", false
		}
		c = append(c, byte(r))
	}
	if len(c) != 12 {
		return "", false
	}
	return string(c[0:4]) + "-" + string(c[4:8]) + "-" + string(c[8:12]), true
}

// ReceiptHash is what the store keeps of a receipt.
func (s *Secret) ReceiptHash(receipt string) []byte {
	return s.mac("corridor/receipt-lookup/v1", receipt)
}

// NewID returns a random 128-bit record id, lowercase base32.
func NewID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return strings.ToLower(b32.EncodeToString(b))
}

// Token returns n random bytes, URL-safe base32.
func Token(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return strings.ToLower(b32.EncodeToString(b))
}

// MAC is a keyed hash for other in-process uses (form tokens).
func (s *Secret) MAC(label string, parts ...string) []byte { return s.mac(label, parts...) }

// SealReply encrypts a reply we sent for one provider delivery under a key
// derived from the delivery's id, so that only a retry of that delivery
// (which knows the id) finds it again.
func (s *Secret) SealReply(channel, providerID string, plain []byte) ([]byte, error) {
	aead, err := s.replyAEAD(channel, providerID)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plain, []byte(channel)), nil
}

// OpenReply decrypts what SealReply made.
func (s *Secret) OpenReply(channel, providerID string, blob []byte) ([]byte, error) {
	aead, err := s.replyAEAD(channel, providerID)
	if err != nil {
		return nil, err
	}
	if len(blob) < aead.NonceSize() {
		return nil, ErrEnvelope
	}
	p, err := aead.Open(nil, blob[:aead.NonceSize()], blob[aead.NonceSize():], []byte(channel))
	if err != nil {
		return nil, ErrEnvelope
	}
	return p, nil
}

func (s *Secret) replyAEAD(channel, providerID string) (cipher.AEAD, error) {
	block, err := aes.NewCipher(s.mac("corridor/reply/v1", channel, providerID))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// AuditKey keys the audit log's hash chain, so that the log cannot be
// rewritten by someone who holds only the database.
func (s *Secret) AuditKey() []byte { return s.mac("corridor/audit-chain/v1") }

// RawHashKey keys the hash of each raw submission (DO-NO-HARM R17): a plain
// hash stored in clear would let whoever knows a text confirm it was sent.
func (s *Secret) RawHashKey() []byte { return s.mac("corridor/raw-hash/v1") }

// SealValue encrypts a small server-side secret (a TOTP seed) under a key
// derived from the deployment secret and label, so the database alone does
// not reveal it.
func (s *Secret) SealValue(label string, plain []byte) ([]byte, error) {
	return s.SealReply("value:"+label, label, plain)
}

// OpenValue decrypts what SealValue made.
func (s *Secret) OpenValue(label string, blob []byte) ([]byte, error) {
	return s.OpenReply("value:"+label, label, blob)
}

// SigningKey is the organisation's Ed25519 key that signs dossier
// manifests. It lives in its own 0600 file on the moderation side.
type SigningKey struct{ ed25519.PrivateKey }

// LoadOrCreateSigningKey reads the key at path, or creates it (0600) if the
// file does not exist.
func LoadOrCreateSigningKey(path string) (*SigningKey, bool, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		seed, err := hex.DecodeString(strings.TrimSpace(string(data)))
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, false, errors.New("the signing key file is malformed")
		}
		return &SigningKey{ed25519.NewKeyFromSeed(seed)}, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("cannot read the signing key %s", path)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("cannot create the signing key %s", path)
	}
	defer f.Close()
	if _, err := f.WriteString(hex.EncodeToString(priv.Seed()) + "\n"); err != nil {
		return nil, false, err
	}
	return &SigningKey{priv}, true, f.Sync()
}

// PublicText is the public key as printed and put in every bundle.
func (k *SigningKey) PublicText() string {
	return "ed25519:" + base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey))
}

// ParseSigningPublic parses PublicText's form.
func ParseSigningPublic(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(strings.TrimSpace(s), "ed25519:"))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("not an ed25519 public key")
	}
	return ed25519.PublicKey(b), nil
}
