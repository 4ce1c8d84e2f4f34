package moderation

import (
	"context"
	"errors"
	"sort"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/intake"
)

// WrapSource lists wrapped desk keys.
type WrapSource interface {
	Wraps(ctx context.Context, desk string) ([]intake.Wrap, error)
}

// Keyring holds the desk identities a moderator unlocked, in memory only.
type Keyring struct {
	keys  map[string]*crypto.Identity // desk key id -> identity
	desks map[string]string           // desk key id -> desk
}

// ErrNoDesk means the identity given is on no desk.
var ErrNoDesk = errors.New("this identity is not a member of any desk")

// Unlock unwraps every desk key wrapped to one of ids.
func Unlock(ctx context.Context, src WrapSource, ids []*crypto.Identity) (*Keyring, error) {
	ws, err := src.Wraps(ctx, "")
	if err != nil {
		return nil, err
	}
	mine := map[string]bool{}
	for _, id := range ids {
		mine[id.Recipient] = true
	}
	ageIDs := crypto.AgeIdentities(ids)
	k := &Keyring{keys: map[string]*crypto.Identity{}, desks: map[string]string{}}
	for _, w := range ws {
		if !mine[w.Member] || k.keys[w.KeyID] != nil {
			continue
		}
		id, err := crypto.Unwrap(ageIDs, w.KeyID, w.Wrapped)
		if err != nil {
			return nil, errors.New("a desk key wrapped to you could not be opened: " + err.Error())
		}
		k.keys[w.KeyID], k.desks[w.KeyID] = id, w.Desk
	}
	if len(k.keys) == 0 {
		return nil, ErrNoDesk
	}
	return k, nil
}

// KeyIDs lists the unlocked desk key ids.
func (k *Keyring) KeyIDs() []string {
	out := make([]string, 0, len(k.keys))
	for id := range k.keys {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Desks lists the desks unlocked.
func (k *Keyring) Desks() []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range k.desks {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

// Identity returns the unlocked identity of a desk key.
func (k *Keyring) Identity(keyID string) (*crypto.Identity, bool) {
	id, ok := k.keys[keyID]
	return id, ok
}

// Forget drops every unlocked key.
func (k *Keyring) Forget() {
	for id := range k.keys {
		delete(k.keys, id)
	}
}

// NewDeskKey makes a desk identity of type t and wraps it to each member
// recipient. It returns the key id, the desk recipient and the wraps.
func NewDeskKey(t crypto.KeyType, members []string) (keyID, recipient string, wraps map[string][]byte, err error) {
	id, err := crypto.Generate(t)
	if err != nil {
		return "", "", nil, err
	}
	keyID = "k_" + crypto.NewID()[:16]
	wraps = map[string][]byte{}
	for _, m := range members {
		ks, err := crypto.NewKeySet(m)
		if err != nil {
			return "", "", nil, err
		}
		w, err := crypto.Wrap(ks, keyID, id)
		if err != nil {
			return "", "", nil, err
		}
		wraps[ks.Strings[0]] = w
	}
	return keyID, id.Recipient, wraps, nil
}

// WrapFor re-wraps every desk key of desk that ids can open to a new member.
func WrapFor(ctx context.Context, src WrapSource, desk string, ids []*crypto.Identity, member string) (map[string][]byte, error) {
	ks, err := crypto.NewKeySet(member)
	if err != nil {
		return nil, err
	}
	ws, err := src.Wraps(ctx, desk)
	if err != nil {
		return nil, err
	}
	ageIDs := crypto.AgeIdentities(ids)
	out := map[string][]byte{}
	for _, w := range ws {
		if _, done := out[w.KeyID]; done {
			continue
		}
		id, err := crypto.Unwrap(ageIDs, w.KeyID, w.Wrapped)
		if errors.Is(err, crypto.ErrNoKey) {
			continue
		}
		if err != nil {
			return nil, err
		}
		b, err := crypto.Wrap(ks, w.KeyID, id)
		if err != nil {
			return nil, err
		}
		out[w.KeyID] = b
	}
	if len(out) == 0 {
		return nil, errors.New("the identity given cannot open any key of that desk")
	}
	return out, nil
}
