package crypto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
)

// envelopeMagic starts every sealed plaintext. The record id and the kind of
// content follow on the same line, then a newline, then the payload.
const envelopeMagic = "corridor-envelope/v1"

// MaxEnvelope bounds what Open will decrypt, so a hostile blob cannot make
// us allocate without limit.
const MaxEnvelope = 64 << 20

// ErrEnvelope is returned when a sealed blob is truncated, altered, or bound
// to another record. Callers show nothing of it.
var ErrEnvelope = errors.New("sealed record is damaged or belongs to another record")

// ErrNoKey is returned when none of the given identities can open a blob.
var ErrNoKey = errors.New("no key you hold can open this record")

// Seal encrypts payload to every recipient, binding it to recordID and kind
// (for example "desk", "custodian", "attachment"). recipients must come from
// one KeySet so post-quantum and classic ones are never mixed.
func Seal(recipients []age.Recipient, recordID, kind string, payload []byte) ([]byte, error) {
	if len(recipients) == 0 {
		return nil, errors.New("seal: no recipients")
	}
	if strings.ContainsAny(recordID, " \n") || strings.ContainsAny(kind, " \n") || recordID == "" || kind == "" {
		return nil, errors.New("seal: bad record id or kind")
	}
	var buf bytes.Buffer
	buf.Grow(len(payload) + 256*len(recipients) + 64)
	w, err := age.Encrypt(&buf, recipients...)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if _, err := fmt.Fprintf(w, "%s %s %s\n", envelopeMagic, recordID, kind); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if _, err := w.Write(payload); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return buf.Bytes(), nil
}

// Open decrypts blob with any of identities, reads it to a clean end, and
// checks that it was sealed for recordID and kind. It returns the payload, or
// ErrNoKey, or ErrEnvelope; never part of a payload.
func Open(identities []age.Identity, recordID, kind string, blob []byte) ([]byte, error) {
	if len(identities) == 0 {
		return nil, ErrNoKey
	}
	id, k, payload, err := OpenAny(identities, blob)
	if err != nil {
		return nil, err
	}
	if id != recordID || k != kind {
		return nil, ErrEnvelope
	}
	return payload, nil
}

// OpenAny is Open for callers that do not know the record id in advance (the
// dossier verifier): it returns the id and kind found inside.
func OpenAny(identities []age.Identity, blob []byte) (recordID, kind string, payload []byte, err error) {
	r, err := age.Decrypt(bytes.NewReader(blob), identities...)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return "", "", nil, ErrNoKey
		}
		return "", "", nil, ErrEnvelope
	}
	plain, err := io.ReadAll(io.LimitReader(r, MaxEnvelope+1))
	if err != nil || len(plain) > MaxEnvelope {
		return "", "", nil, ErrEnvelope
	}
	line, rest, ok := bytes.Cut(plain, []byte("\n"))
	if !ok {
		return "", "", nil, ErrEnvelope
	}
	f := strings.Split(string(line), " ")
	if len(f) != 3 || f[0] != envelopeMagic || f[1] == "" || f[2] == "" {
		return "", "", nil, ErrEnvelope
	}
	return f[1], f[2], rest, nil
}
