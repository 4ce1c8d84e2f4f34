package moderation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/intake"
)

// Markers a moderator may redact with.
var Markers = []string{"[NAME]", "[PLACE]", "[ID]", "[PHONE]", "[EMAIL]", "[DATE]", "[ORG]", "[OTHER]"}

// Facets and their allowed values ("" means free, checked elsewhere).
var Facets = map[string][]string{
	"perpetrator":    {"state_border", "state_police", "state_military", "detention_staff", "armed_group", "smuggler", "trafficker", "employer", "private_security", "community", "unknown"},
	"profile":        {"man", "woman", "child", "unaccompanied_child", "family", "lgbtiq", "disabled", "elderly", "group"},
	"stage":          {"origin", "transit", "border", "destination", "return"},
	"date_precision": {"day", "month", "year", "period", "unknown"},
	"severity":       {"low", "medium", "high", "critical"},
	"verification":   {"unverified", "corroborated", "verified"},
	"urgent":         {"yes", "no"},
	"country":        nil, // ISO 3166-1 alpha-3
}

// CheckFacets refuses unknown facets and values.
func CheckFacets(f map[string]string) error {
	for k, v := range f {
		allowed, ok := Facets[k]
		if !ok {
			return fmt.Errorf("%q is not a facet", k)
		}
		if v == "" {
			continue
		}
		if k == "country" {
			if iso3, ok := intake.CountryISO3(v); !ok || iso3 != v {
				return fmt.Errorf("%q is not an ISO 3166-1 alpha-3 country code", v)
			}
			continue
		}
		if !slices.Contains(allowed, v) {
			return fmt.Errorf("%q is not a value of %s", v, k)
		}
	}
	return nil
}

// Writer stores what moderators produce.
type Writer interface {
	NextSeq(ctx context.Context, reportID string) (int, error)
	AddVersion(ctx context.Context, reportID string, seq int, blob []byte, parent, child, actor string) error
	AddSealedEntry(ctx context.Context, reportID string, seq int, kind string, blob []byte, actor, action string) error
}

// ErrNothingToRedact means the text to hide was not found.
var ErrNothingToRedact = errors.New("that text is not in the report")

// Redact replaces every occurrence of find in a field of the report with a
// marker and seals the result as a new anonymised version, recording
// parent -> child. The raw copy stays with the custodian.
func (k *Keyring) Redact(ctx context.Context, src ReportSource, w Writer, m intake.ReportMeta, field, find, marker, actor string) (*Report, error) {
	if !slices.Contains(Markers, marker) {
		return nil, fmt.Errorf("%q is not a redaction marker", marker)
	}
	if strings.TrimSpace(find) == "" {
		return nil, ErrNothingToRedact
	}
	id, ok := k.keys[m.DeskKeyID]
	if !ok {
		return nil, crypto.ErrNoKey
	}
	ks, err := crypto.NewKeySet(id.Recipient)
	if err != nil {
		return nil, err
	}
	for attempt := 0; attempt < 5; attempt++ {
		r, err := k.Open(ctx, src, m, false)
		if err != nil {
			return nil, err
		}
		v, ok := r.Copy.Answers[field]
		if !ok || !strings.Contains(v, find) {
			return nil, ErrNothingToRedact
		}
		parent := r.Hash
		c := r.Copy
		c.Answers = map[string]string{}
		for kk, vv := range r.Copy.Answers {
			c.Answers[kk] = vv
		}
		c.Answers[field] = strings.ReplaceAll(v, find, marker)
		kind := strings.Trim(marker, "[]")
		if !slices.Contains(c.Redactions, kind) {
			c.Redactions = append(slices.Clone(c.Redactions), kind)
			slices.Sort(c.Redactions)
		}
		plain, _ := json.Marshal(c)
		seq := r.lastSeq + 1
		blob, err := crypto.Seal(ks.Recipients, intake.EntryID(m.ID, seq), "version", plain)
		if err != nil {
			return nil, err
		}
		err = w.AddVersion(ctx, m.ID, seq, blob, parent, copyHash(c), actor)
		if errors.Is(err, intake.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return k.Open(ctx, src, m, false)
	}
	return nil, errors.New("the report kept changing; try again")
}

// seal adds one sealed entry of kind to a report.
func (k *Keyring) seal(ctx context.Context, w Writer, m intake.ReportMeta, kind, action, actor string, v any) error {
	id, ok := k.keys[m.DeskKeyID]
	if !ok {
		return crypto.ErrNoKey
	}
	ks, err := crypto.NewKeySet(id.Recipient)
	if err != nil {
		return err
	}
	plain, _ := json.Marshal(v)
	for attempt := 0; attempt < 5; attempt++ {
		seq, err := w.NextSeq(ctx, m.ID)
		if err != nil {
			return err
		}
		blob, err := crypto.Seal(ks.Recipients, intake.EntryID(m.ID, seq), kind, plain)
		if err != nil {
			return err
		}
		err = w.AddSealedEntry(ctx, m.ID, seq, kind, blob, actor, action)
		if !errors.Is(err, intake.ErrConflict) {
			return err
		}
	}
	return errors.New("the report kept changing; try again")
}

// AddNote seals a moderator's note to the desk.
func (k *Keyring) AddNote(ctx context.Context, w Writer, m intake.ReportMeta, by, text string) error {
	if strings.TrimSpace(text) == "" {
		return errors.New("the note is empty")
	}
	return k.seal(ctx, w, m, "note", "report.note", by, Note{By: by, Time: time.Now().UTC().Format(time.RFC3339), Text: text})
}

// SetFacets seals the report's facets to the desk (the latest set wins).
func (k *Keyring) SetFacets(ctx context.Context, w Writer, m intake.ReportMeta, by string, f map[string]string) error {
	if err := CheckFacets(f); err != nil {
		return err
	}
	return k.seal(ctx, w, m, "facets", "report.facets", by, f)
}
