package crypto

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// KeyType is the kind of age key a deployment uses.
type KeyType string

const (
	// X25519 is age's classic recipient type; a stock `age` opens it.
	X25519 KeyType = "x25519"
	// PostQuantum is age's hybrid ML-KEM-768 + X25519 type (age1pq1...).
	PostQuantum KeyType = "pq"
)

// ParseKeyType accepts "", "x25519" or "pq".
func ParseKeyType(s string) (KeyType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "x25519", "classic":
		return X25519, nil
	case "pq", "post-quantum", "hybrid", "mlkem768x25519":
		return PostQuantum, nil
	}
	return "", fmt.Errorf("key type %q is not known: use x25519 or pq", s)
}

// Identity is an age identity we generated or loaded, with its recipient.
type Identity struct {
	age.Identity
	Recipient string
	Secret    string // AGE-SECRET-KEY-... ; only for writing to a key file once
}

// Generate makes a new identity of the given type.
func Generate(t KeyType) (*Identity, error) {
	switch t {
	case PostQuantum:
		id, err := age.GenerateHybridIdentity()
		if err != nil {
			return nil, err
		}
		return &Identity{Identity: id, Recipient: id.Recipient().String(), Secret: id.String()}, nil
	default:
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, err
		}
		return &Identity{Identity: id, Recipient: id.Recipient().String(), Secret: id.String()}, nil
	}
}

// RecipientType tells which key type a recipient string is.
func RecipientType(r string) (KeyType, error) {
	r = strings.TrimSpace(r)
	switch {
	case strings.HasPrefix(r, "AGE-SECRET-KEY"):
		return "", errors.New("a secret key was given where a public recipient belongs")
	case strings.HasPrefix(r, "age1pq1"):
		if _, err := age.ParseHybridRecipient(r); err != nil {
			return "", errors.New("a post-quantum recipient is malformed")
		}
		return PostQuantum, nil
	case strings.HasPrefix(r, "age1"):
		if _, err := age.ParseX25519Recipient(r); err != nil {
			return "", errors.New("a recipient is malformed")
		}
		return X25519, nil
	}
	return "", errors.New("a recipient is not an age recipient (age1...)")
}

// ParseRecipient parses one age recipient of either type.
func ParseRecipient(r string) (age.Recipient, KeyType, error) {
	t, err := RecipientType(r)
	if err != nil {
		return nil, "", err
	}
	r = strings.TrimSpace(r)
	if t == PostQuantum {
		rc, err := age.ParseHybridRecipient(r)
		return rc, t, err
	}
	rc, err := age.ParseX25519Recipient(r)
	return rc, t, err
}

// KeySet is a set of recipients that are sealed to together. All of one type:
// age cannot mix post-quantum and classic recipients in one file, and a mix
// would be a silent downgrade.
type KeySet struct {
	Type       KeyType
	Recipients []age.Recipient
	Strings    []string
}

// NewKeySet parses recipients and refuses an empty set or a mixed one.
func NewKeySet(recipients ...string) (*KeySet, error) {
	if len(recipients) == 0 {
		return nil, errors.New("no recipients given")
	}
	ks := &KeySet{}
	for _, s := range recipients {
		rc, t, err := ParseRecipient(s)
		if err != nil {
			return nil, err
		}
		if ks.Type == "" {
			ks.Type = t
		} else if ks.Type != t {
			return nil, errors.New("post-quantum (age1pq1...) and classic (age1...) recipients cannot be mixed in one key set")
		}
		ks.Recipients = append(ks.Recipients, rc)
		ks.Strings = append(ks.Strings, strings.TrimSpace(s))
	}
	return ks, nil
}

// ParseIdentity parses one identity string of either type.
func ParseIdentity(s string) (*Identity, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "AGE-SECRET-KEY-PQ-") {
		id, err := age.ParseHybridIdentity(s)
		if err != nil {
			return nil, errors.New("the post-quantum identity is malformed")
		}
		return &Identity{Identity: id, Recipient: id.Recipient().String(), Secret: s}, nil
	}
	id, err := age.ParseX25519Identity(s)
	if err != nil {
		return nil, errors.New("the identity is malformed")
	}
	return &Identity{Identity: id, Recipient: id.Recipient().String(), Secret: s}, nil
}

// Passphrase supplies the passphrase of an encrypted identity file.
type Passphrase func() (string, error)

// LoadIdentities reads a standard age identity file: lines of
// AGE-SECRET-KEY-1... (comments allowed), or such a file encrypted with a
// passphrase (`age -p`, binary or armored), opened with pass.
func LoadIdentities(path string, pass Passphrase) ([]*Identity, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the identity file %s", path)
	}
	return ParseIdentityFile(data, pass)
}

// ParseIdentityFile is LoadIdentities on bytes.
func ParseIdentityFile(data []byte, pass Passphrase) ([]*Identity, error) {
	if len(data) > 1<<20 {
		return nil, errors.New("the identity file is too large")
	}
	var src io.Reader = bytes.NewReader(data)
	trimmed := bytes.TrimSpace(data)
	encrypted := false
	if bytes.HasPrefix(trimmed, []byte(armor.Header)) {
		src = armor.NewReader(bytes.NewReader(trimmed))
		encrypted = true
	} else if bytes.HasPrefix(data, []byte("age-encryption.org/")) {
		encrypted = true
	}
	if encrypted {
		if pass == nil {
			return nil, errors.New("the identity file is passphrase-protected: set CORRIDOR_PASSPHRASE or run in a terminal")
		}
		p, err := pass()
		if err != nil {
			return nil, err
		}
		sid, err := age.NewScryptIdentity(p)
		if err != nil {
			return nil, errors.New("the passphrase is not usable")
		}
		r, err := age.Decrypt(src, sid)
		if err != nil {
			return nil, errors.New("the passphrase is wrong or the identity file is damaged")
		}
		plain, err := io.ReadAll(io.LimitReader(r, 1<<20))
		if err != nil {
			return nil, errors.New("the identity file is damaged")
		}
		data = plain
	}
	var ids []*Identity
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 8192), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, err := ParseIdentity(line)
		if err != nil {
			return nil, fmt.Errorf("line %d of the identity file is not an age identity", n)
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, errors.New("the identity file holds no age identity")
	}
	return ids, nil
}

// AgeIdentities converts for the age API.
func AgeIdentities(ids []*Identity) []age.Identity {
	out := make([]age.Identity, len(ids))
	for i, id := range ids {
		out[i] = id.Identity
	}
	return out
}

// IdentityFileText renders an identity as an age-keygen style file.
func IdentityFileText(id *Identity, created string, comment string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# created: %s\n", created)
	if comment != "" {
		for _, l := range strings.Split(comment, "\n") {
			fmt.Fprintf(&b, "# %s\n", l)
		}
	}
	fmt.Fprintf(&b, "# public key: %s\n%s\n", id.Recipient, id.Secret)
	return b.String()
}

// Wrap seals a secret identity to members (a desk key wrapped to a
// moderator's recipient). It is Seal with kind "wrap".
func Wrap(ks *KeySet, keyID string, id *Identity) ([]byte, error) {
	return Seal(ks.Recipients, keyID, "wrap", []byte(id.Secret))
}

// Unwrap opens a wrapped desk identity.
func Unwrap(ids []age.Identity, keyID string, blob []byte) (*Identity, error) {
	p, err := Open(ids, keyID, "wrap", blob)
	if err != nil {
		return nil, err
	}
	return ParseIdentity(string(p))
}
