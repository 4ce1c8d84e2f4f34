package moderation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/intake"
)

// ReportSource reads stored reports.
type ReportSource interface {
	ListReports(ctx context.Context, f intake.Filter) ([]intake.ReportMeta, error)
	Entries(ctx context.Context, reportID string) ([]intake.Entry, error)
}

// Report is a decrypted, anonymised report: the latest version of it.
type Report struct {
	Meta        intake.ReportMeta
	Copy        intake.DeskCopy
	Attachments []Attachment
	Notes       []Note
	Facets      map[string]string
	Versions    int    // redactions made after intake
	Hash        string // SHA-256 of the current anonymised version
	lastSeq     int
}

// Note is a moderator's note, sealed to the desk.
type Note struct {
	By   string `json:"by"`
	Time string `json:"time"`
	Text string `json:"text"`
}

// Attachment is an opened attachment.
type Attachment struct {
	Seq         int
	Name        string
	ContentType string
	Data        []byte
}

// ErrDamaged names a record whose envelope does not open; nothing of it is
// shown.
type ErrDamaged struct{ ReportID string }

func (e *ErrDamaged) Error() string {
	return fmt.Sprintf("report %s is damaged or was tampered with; nothing of it is shown", e.ReportID)
}

// Open decrypts one report with the keyring.
func (k *Keyring) Open(ctx context.Context, src ReportSource, m intake.ReportMeta, withAttachments bool) (*Report, error) {
	id, ok := k.keys[m.DeskKeyID]
	if !ok {
		return nil, crypto.ErrNoKey
	}
	es, err := src.Entries(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	r := &Report{Meta: m}
	ids := crypto.AgeIdentities([]*crypto.Identity{id})
	gotAnswers := false
	for _, e := range es {
		switch e.Kind {
		case "answers":
			p, err := crypto.Open(ids, intake.EntryID(m.ID, e.Seq), "desk", e.Desk)
			if err != nil {
				return nil, &ErrDamaged{m.ID}
			}
			if err := json.Unmarshal(p, &r.Copy); err != nil {
				return nil, &ErrDamaged{m.ID}
			}
			gotAnswers = true
		case "answer":
			// A conversation seals each answer as it arrives; free text
			// that came in several messages is joined in order.
			p, err := crypto.Open(ids, intake.EntryID(m.ID, e.Seq), "desk", e.Desk)
			if err != nil {
				return nil, &ErrDamaged{m.ID}
			}
			var a intake.AnswerPayload
			if err := json.Unmarshal(p, &a); err != nil {
				return nil, &ErrDamaged{m.ID}
			}
			if r.Copy.Answers == nil {
				r.Copy.Answers = map[string]string{}
				r.Copy.Channel, r.Copy.Language, r.Copy.Consent = m.Channel, m.Language, m.Scopes
			}
			if prev, ok := r.Copy.Answers[a.Step]; ok && a.Step == "testimony" {
				a.Value = prev + "\n" + a.Value
			}
			r.Copy.Answers[a.Step] = a.Value
			gotAnswers = true
		case "version", "note", "facets":
			p, err := crypto.Open(ids, intake.EntryID(m.ID, e.Seq), e.Kind, e.Desk)
			if err != nil {
				return nil, &ErrDamaged{m.ID}
			}
			switch e.Kind {
			case "version":
				var c intake.DeskCopy
				if err := json.Unmarshal(p, &c); err != nil {
					return nil, &ErrDamaged{m.ID}
				}
				r.Copy = c
				r.Versions++
			case "note":
				var n Note
				if err := json.Unmarshal(p, &n); err != nil {
					return nil, &ErrDamaged{m.ID}
				}
				r.Notes = append(r.Notes, n)
			case "facets":
				var f map[string]string
				if err := json.Unmarshal(p, &f); err != nil {
					return nil, &ErrDamaged{m.ID}
				}
				r.Facets = f
			}
		case "attachment":
			if !withAttachments {
				continue
			}
			p, err := crypto.Open(ids, intake.EntryID(m.ID, e.Seq), "attachment", e.Desk)
			if err != nil {
				return nil, &ErrDamaged{m.ID}
			}
			var a intake.AttachmentPayload
			if err := json.Unmarshal(p, &a); err != nil {
				return nil, &ErrDamaged{m.ID}
			}
			r.Attachments = append(r.Attachments, Attachment{Seq: e.Seq, Name: a.Name, ContentType: a.ContentType, Data: a.Data})
		}
	}
	if !gotAnswers {
		return nil, &ErrDamaged{m.ID}
	}
	if len(es) > 0 {
		r.lastSeq = es[len(es)-1].Seq
	}
	r.Hash = copyHash(r.Copy)
	return r, nil
}

// copyHash is the SHA-256 of an anonymised version as sealed.
func copyHash(c intake.DeskCopy) string {
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// List returns every report the keyring can read, decrypted, matching f.
// A damaged report is returned as an error naming it, after the others.
func (k *Keyring) List(ctx context.Context, src ReportSource, f intake.Filter) ([]*Report, error) {
	f.KeyIDs = k.KeyIDs()
	ms, err := src.ListReports(ctx, f)
	if err != nil {
		return nil, err
	}
	var out []*Report
	var errs []error
	for _, m := range ms {
		r, err := k.Open(ctx, src, m, false)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}
