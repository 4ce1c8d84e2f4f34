package dossier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/intake"
	"github.com/corridor-gateway/corridor/intake/sqlite"
	"github.com/corridor-gateway/corridor/moderation"
)

// Item is a frozen, anonymised report as a review body receives it.
type Item struct {
	ReportID      string            `json:"report_id"`
	Channel       string            `json:"channel"`
	Language      string            `json:"language"`
	Reported      string            `json:"date_reported"` // month the report arrived (YYYY-MM)
	Incident      string            `json:"incident_date"` // YYYY-MM, or a rough period
	Country       string            `json:"country,omitempty"`
	Area          string            `json:"area,omitempty"`
	Tags          []string          `json:"tags"`
	GCM           []string          `json:"gcm_objectives"`
	Facets        map[string]string `json:"facets,omitempty"`
	Testimony     string            `json:"testimony"`
	Answers       map[string]string `json:"answers"`
	Consent       []string          `json:"consent"`
	VersionSHA256 string            `json:"version_sha256"` // of the anonymised version forwarded
	Attachments   []Attachment      `json:"attachments,omitempty"`
	Withheld      int               `json:"attachments_withheld,omitempty"` // files whose metadata could not be removed
}

// Attachment is a frozen attachment.
type Attachment struct {
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"`
}

// ErrNotShareable refuses a report the rules keep out of a dossier.
type ErrNotShareable struct{ ReportID, Why string }

func (e *ErrNotShareable) Error() string {
	return fmt.Sprintf("report %s cannot be forwarded: %s", e.ReportID, e.Why)
}

func freeze(r *moderation.Report) *Item {
	// Dates leave the moderated zone at month precision (R9).
	reported := r.Meta.ReceivedDay
	if len(reported) >= 7 {
		reported = reported[:7]
	}
	it := &Item{ReportID: r.Meta.ID, Channel: r.Meta.Channel, Language: r.Meta.Language, Reported: reported,
		Tags: slices.Clone(r.Meta.Tags), GCM: moderation.GCMObjectives(r.Meta.Tags), Facets: r.Facets,
		Testimony: r.Copy.Answers["testimony"], Answers: map[string]string{}, Consent: r.Meta.Scopes, VersionSHA256: r.Hash}
	if it.Tags == nil {
		it.Tags = []string{}
	}
	for k, v := range r.Copy.Answers {
		it.Answers[k] = v
	}
	// Dates leave the moderated zone at month precision (R9).
	if w := r.Copy.Answers["when"]; len(w) >= 7 && w[4] == '-' {
		it.Incident = w[:7]
	} else {
		it.Incident = w
	}
	it.Country = r.Copy.Answers["where"]
	if it.Country == "unknown" {
		it.Country = ""
	}
	if c := r.Facets["country"]; c != "" {
		it.Country = c
	}
	it.Area = r.Copy.Answers["where.detail"]
	for _, a := range r.Attachments {
		// Only files whose metadata we can remove leave: others are
		// withheld rather than risk EXIF, GPS, ID3 or PDF metadata.
		if clean := stripMetadata(a.ContentType, a.Data); clean != nil {
			it.Attachments = append(it.Attachments, Attachment{ContentType: a.ContentType, Data: clean})
		} else {
			it.Withheld++
		}
	}
	return it
}

// itemID binds a frozen item to its dossier and report.
func itemID(dossier, reportID string) string { return "dossier/" + dossier + "/" + reportID }

// Forward freezes an accepted report whose consent covers anonymised
// sharing into a dossier: sealed to the report's desk key and to the
// review body; the report becomes forwarded; the custody record says who,
// when and which hash.
func Forward(ctx context.Context, db *sqlite.DB, kr *moderation.Keyring, d *sqlite.Dossier, reportID, actor string) (string, error) {
	m, err := db.Report(ctx, reportID)
	if err != nil {
		return "", err
	}
	deskID, ok := kr.Identity(m.DeskKeyID)
	if !ok {
		return "", intake.ErrNotFound
	}
	if !slices.Contains(m.Scopes, intake.ScopeShare) {
		return "", &ErrNotShareable{reportID, "the sender did not agree to anonymised sharing"}
	}
	if m.State != intake.StateAccepted {
		return "", &ErrNotShareable{reportID, "only accepted reports can be forwarded (this one is " + m.State + ")"}
	}
	r, err := kr.Open(ctx, db, m, true)
	if err != nil {
		return "", err
	}
	it := freeze(r)
	if d.WordLimit > 0 {
		if n := len(strings.Fields(it.Testimony)); n > d.WordLimit {
			return "", &ErrNotShareable{reportID, fmt.Sprintf("the testimony has %d words; this dossier takes at most %d", n, d.WordLimit)}
		}
	}
	plain, err := json.Marshal(it)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(plain)
	hash := hex.EncodeToString(sum[:])
	deskKS, err := crypto.NewKeySet(deskID.Recipient)
	if err != nil {
		return "", err
	}
	deskBlob, err := crypto.Seal(deskKS.Recipients, itemID(d.Name, reportID), "dossier-item", plain)
	if err != nil {
		return "", err
	}
	bodyKS, err := crypto.NewKeySet(d.Recipients...)
	if err != nil {
		return "", err
	}
	bodyBlob, err := crypto.Seal(bodyKS.Recipients, itemID(d.Name, reportID), "dossier-item", plain)
	if err != nil {
		return "", err
	}
	err = db.ForwardItem(ctx, d.Name, &sqlite.DossierItem{ReportID: reportID, DeskBlob: deskBlob, BodyBlob: bodyBlob, SHA256: hash,
		AddedBy: actor, AddedAt: time.Now().UTC().Format(time.RFC3339)}, func(state string) error {
		if state != intake.StateAccepted {
			return &ErrNotShareable{reportID, "only accepted reports can be forwarded (this one is " + state + ")"}
		}
		return nil
	})
	if errors.Is(err, sqlite.ErrExists) {
		return "", fmt.Errorf("report %s is already in dossier %s", reportID, d.Name)
	}
	return hash, err
}

// openItem opens a frozen item with any of ids and checks its hash.
func openItem(ids []age.Identity, dossier string, it *sqlite.DossierItem, blob []byte) (*Item, []byte, error) {
	plain, err := crypto.Open(ids, itemID(dossier, it.ReportID), "dossier-item", blob)
	if err != nil {
		return nil, nil, fmt.Errorf("dossier item %s does not open: %w", it.ReportID, err)
	}
	sum := sha256.Sum256(plain)
	if hex.EncodeToString(sum[:]) != it.SHA256 {
		return nil, nil, fmt.Errorf("dossier item %s does not match its custody hash", it.ReportID)
	}
	var item Item
	if err := json.Unmarshal(plain, &item); err != nil {
		return nil, nil, fmt.Errorf("dossier item %s is damaged", it.ReportID)
	}
	return &item, plain, nil
}
