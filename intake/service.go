package intake

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"filippo.io/age"

	"github.com/corridor-gateway/corridor/crypto"
)

// ErrNoConsent is returned when the read scope was not given: nothing is
// stored without it.
var ErrNoConsent = errors.New("consent to moderators reading the testimony is required")

// ErrNoDesk is returned when the routed desk and the default desk are both
// missing.
var ErrNoDesk = errors.New("no moderation desk is configured")

// Observer receives operational figures; it never sees content.
type Observer interface {
	Intake(channel, outcome string)
	Seal(d time.Duration)
	Commit(d time.Duration)
}

type nopObserver struct{}

func (nopObserver) Intake(string, string) {}
func (nopObserver) Seal(time.Duration)    {}
func (nopObserver) Commit(time.Duration)  {}

// Service takes submissions in, seals them and commits them.
type Service struct {
	Flow      *Flow
	Store     Store
	Secret    *crypto.Secret
	Custodian *crypto.KeySet
	Rules     []Rule
	Now       func() time.Time
	Observer  Observer

	mu        sync.Mutex
	desks     map[string]deskKeys
	desksTime time.Time
}

type deskKeys struct {
	desk Desk
	ks   *crypto.KeySet
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) observer() Observer {
	if s.Observer != nil {
		return s.Observer
	}
	return nopObserver{}
}

// desk returns the keys of the named desk, falling back to the default desk.
func (s *Service) desk(ctx context.Context, name string) (deskKeys, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.desks == nil || s.now().Sub(s.desksTime) > 2*time.Second {
		ds, err := s.Store.ActiveDesks(ctx)
		if err != nil {
			return deskKeys{}, err
		}
		m := map[string]deskKeys{}
		for _, d := range ds {
			ks, err := crypto.NewKeySet(d.Recipient)
			if err != nil {
				return deskKeys{}, fmt.Errorf("desk %s: %w", d.Name, err)
			}
			if s.Custodian != nil && ks.Type != s.Custodian.Type {
				return deskKeys{}, fmt.Errorf("desk %s uses %s keys but the custodian uses %s: a deployment uses one key type", d.Name, ks.Type, s.Custodian.Type)
			}
			m[d.Name] = deskKeys{d, ks}
		}
		s.desks, s.desksTime = m, s.now()
	}
	if d, ok := s.desks[name]; ok {
		return d, nil
	}
	if d, ok := s.desks[DefaultDesk]; ok {
		return d, nil
	}
	return deskKeys{}, ErrNoDesk
}

// CheckKeys loads the desks once so a bad key set stops the gateway at start.
func (s *Service) CheckKeys(ctx context.Context) error {
	if s.Custodian == nil || len(s.Custodian.Recipients) == 0 {
		return errors.New("no custodian key set is configured")
	}
	_, err := s.desk(ctx, DefaultDesk)
	return err
}

// deskCopy is the anonymised plaintext sealed to the desk.
type deskCopy struct {
	Channel    string            `json:"channel"`
	Language   string            `json:"language"`
	Answers    map[string]string `json:"answers"`
	Redactions []string          `json:"redactions,omitempty"`
	Consent    []string          `json:"consent"`
}

// custodianCopy is the raw original sealed to the custodian.
type custodianCopy struct {
	Channel     string            `json:"channel"`
	Language    string            `json:"language"`
	Answers     map[string][]byte `json:"answers"` // byte for byte (JSON base64), whatever the bytes
	Contact     string            `json:"contact_address,omitempty"`
	Attachments []attachmentMeta  `json:"attachments,omitempty"`
	Consent     Consent           `json:"consent"`
	Tag         string            `json:"tag,omitempty"`
}

type attachmentMeta struct {
	Seq         int    `json:"seq"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	SHA256      string `json:"sha256"`
	Size        int    `json:"size"`
}

// attachmentPayload is sealed to desk and custodian together.
type attachmentPayload struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"`
}

// EntryID binds a sealed entry to its report and position.
func EntryID(reportID string, seq int) string { return fmt.Sprintf("%s.%d", reportID, seq) }

// Submit validates, redacts, routes, seals and commits a submission. It
// returns the receipt; a provider retry of the same ProviderID returns the
// same receipt and stores nothing.
func (s *Service) Submit(ctx context.Context, sub *Submission) (Receipt, error) {
	obs := s.observer()
	if sub.ProviderID == "" || sub.Channel == "" {
		obs.Intake(sub.Channel, "invalid")
		return Receipt{}, errors.New("submission without provider id or channel")
	}
	if s.Custodian == nil || len(s.Custodian.Recipients) == 0 {
		obs.Intake(sub.Channel, "error")
		return Receipt{}, errors.New("no custodian key set is configured")
	}
	if !sub.Consent.Has(ScopeRead) {
		obs.Intake(sub.Channel, "no_consent")
		return Receipt{}, ErrNoConsent
	}
	answers, ferr := s.Flow.Normalize(sub.Answers)
	if ferr != nil {
		obs.Intake(sub.Channel, "invalid")
		return Receipt{}, ferr
	}
	code := s.Secret.Receipt(sub.Channel, sub.ProviderID)
	topic := ""
	for _, st := range s.Flow.Steps {
		if st.Routes {
			topic = answers[st.ID]
		}
	}
	if topic == "other" {
		topic = ""
	}
	dk, err := s.desk(ctx, Route(s.Rules, sub.Language, topic, sub.Channel))
	if err != nil {
		obs.Intake(sub.Channel, "error")
		return Receipt{}, err
	}
	id := crypto.NewID()
	addr := sub.Address
	if addr == "" {
		addr = "submission:" + sub.ProviderID
	}

	t0 := time.Now()
	// The anonymised copy for the desk.
	dc := deskCopy{Channel: sub.Channel, Language: sub.Language, Answers: map[string]string{}}
	found := map[string]bool{}
	for k, v := range answers {
		st, _ := s.Flow.Step(stepOf(k))
		if st.Kind == KindContact && k != st.ID {
			continue // how to reach them: custodian only
		}
		if st.Redact {
			var kinds []string
			v, kinds = Redact(v)
			for _, kd := range kinds {
				found[kd] = true
			}
		}
		dc.Answers[k] = v
	}
	for k := range found {
		dc.Redactions = append(dc.Redactions, k)
	}
	sort.Strings(dc.Redactions)
	dc.Consent = sub.Consent.Scopes
	deskPlain, err := json.Marshal(dc)
	if err != nil {
		return Receipt{}, err
	}
	// The raw original for the custodian.
	cc := custodianCopy{Channel: sub.Channel, Language: sub.Language, Answers: map[string][]byte{}, Consent: sub.Consent, Tag: sub.Tag}
	for k, v := range answers {
		cc.Answers[k] = []byte(v)
	}
	if answers["contact"] == "yes" && sub.Address != "" {
		cc.Contact = sub.Address
	}
	raw := hmac.New(sha256.New, s.Secret.RawHashKey())
	for i, a := range sub.Attachments {
		sum := sha256.Sum256(a.Data)
		cc.Attachments = append(cc.Attachments, attachmentMeta{Seq: i + 1, Name: a.Name, ContentType: a.ContentType, SHA256: hex.EncodeToString(sum[:]), Size: len(a.Data)})
	}
	custPlain, err := json.Marshal(cc)
	if err != nil {
		return Receipt{}, err
	}
	raw.Write(custPlain) // canonical: encoding/json sorts map keys

	entries := make([]Entry, 0, 1+len(sub.Attachments))
	deskSealed, err := crypto.Seal(dk.ks.Recipients, EntryID(id, 0), "desk", deskPlain)
	if err != nil {
		return Receipt{}, err
	}
	custSealed, err := crypto.Seal(s.Custodian.Recipients, EntryID(id, 0), "custodian", custPlain)
	if err != nil {
		return Receipt{}, err
	}
	entries = append(entries, Entry{Seq: 0, Kind: "answers", Desk: deskSealed, Custodian: custSealed})
	both := append(append([]age.Recipient{}, dk.ks.Recipients...), s.Custodian.Recipients...)
	for i, a := range sub.Attachments {
		p, err := json.Marshal(attachmentPayload{Name: a.Name, ContentType: a.ContentType, Data: a.Data})
		if err != nil {
			return Receipt{}, err
		}
		blob, err := crypto.Seal(both, EntryID(id, i+1), "attachment", p)
		if err != nil {
			return Receipt{}, err
		}
		entries = append(entries, Entry{Seq: i + 1, Kind: "attachment", Desk: blob})
	}
	obs.Seal(time.Since(t0))

	now := s.now().UTC()
	nr := &NewReport{
		ID:          id,
		IdemKey:     s.Secret.IdempotencyKey(sub.Channel, sub.ProviderID),
		ReceiptHash: s.Secret.ReceiptHash(code),
		Channel:     sub.Channel,
		Language:    sub.Language,
		Desk:        dk.desk.Name,
		DeskKeyID:   dk.desk.KeyID,
		Topic:       topic,
		State:       StateNew,
		Received:    now,
		Pseudonym:   s.Secret.Pseudonym(sub.Channel, addr),
		RawSHA256:   hex.EncodeToString(raw.Sum(nil)),
		Consent:     sub.Consent,
		Entries:     entries,
	}
	t1 := time.Now()
	storedID, err := s.Store.CreateReport(ctx, nr)
	obs.Commit(time.Since(t1))
	if errors.Is(err, ErrDuplicate) {
		obs.Intake(sub.Channel, "duplicate")
		return Receipt{ReportID: storedID, Code: code, Duplicate: true}, nil
	}
	if err != nil {
		obs.Intake(sub.Channel, "error")
		return Receipt{}, err
	}
	obs.Intake(sub.Channel, "stored")
	return Receipt{ReportID: id, Code: code}, nil
}

func stepOf(field string) string {
	for i := 0; i < len(field); i++ {
		if field[i] == '.' {
			return field[:i]
		}
	}
	return field
}

// DeskCopy is the anonymised report as a moderator reads it.
type DeskCopy = deskCopy

// AttachmentPayload is an opened attachment.
type AttachmentPayload = attachmentPayload

// AnswerPayload is one opened conversation answer.
type AnswerPayload = answerPayload

// ReceiptStore finds and erases reports by receipt.
type ReceiptStore interface {
	ReportByReceipt(ctx context.Context, hash []byte) (ReportMeta, error)
	DeleteReport(ctx context.Context, id, actor, reason string) error
}

// ErrBadReceipt is a typed code that cannot be a receipt.
var ErrBadReceipt = errors.New("not a receipt code")

func (s *Service) receipts() (ReceiptStore, error) {
	rs, ok := s.Store.(ReceiptStore)
	if !ok {
		return nil, errors.New("this store cannot look up receipts")
	}
	return rs, nil
}

// StatusByReceipt returns the state of the report a typed receipt names
// (ErrBadReceipt, ErrNotFound).
func (s *Service) StatusByReceipt(ctx context.Context, typed string) (code, state string, err error) {
	code, ok := crypto.NormalizeReceipt(typed)
	if !ok {
		return "", "", ErrBadReceipt
	}
	rs, err := s.receipts()
	if err != nil {
		return "", "", err
	}
	m, err := rs.ReportByReceipt(ctx, s.Secret.ReceiptHash(code))
	if err != nil {
		return code, "", err
	}
	return code, m.State, nil
}

// EraseByReceipt erases the report a typed receipt names, at the sender's
// request (DO-NO-HARM R11); the audit log keeps a tombstone.
func (s *Service) EraseByReceipt(ctx context.Context, typed string) error {
	code, ok := crypto.NormalizeReceipt(typed)
	if !ok {
		return ErrBadReceipt
	}
	rs, err := s.receipts()
	if err != nil {
		return err
	}
	m, err := rs.ReportByReceipt(ctx, s.Secret.ReceiptHash(code))
	if err != nil {
		return err
	}
	return rs.DeleteReport(ctx, m.ID, "sender", "subject-request")
}

// QuarantineStore keeps updates a channel could not handle.
type QuarantineStore interface {
	Quarantine(ctx context.Context, idemKey []byte, id string, blob []byte, day time.Time) error
}

// Quarantine seals a delivery the channel could not handle (an unknown
// kind, an oversize field) to the custodian, once per provider id, so it is
// neither lost nor able to block the sender's later messages.
func (s *Service) Quarantine(ctx context.Context, channel, providerID string, raw []byte) error {
	qs, ok := s.Store.(QuarantineStore)
	if !ok {
		return errors.New("this store cannot quarantine")
	}
	if s.Custodian == nil {
		return errors.New("no custodian key set is configured")
	}
	id := "q_" + crypto.NewID()
	blob, err := crypto.Seal(s.Custodian.Recipients, id, "quarantine", raw)
	if err != nil {
		return err
	}
	err = qs.Quarantine(ctx, s.Secret.IdempotencyKey(channel, providerID), id, blob, s.now())
	if errors.Is(err, ErrDuplicate) {
		s.observer().Intake(channel, "duplicate")
		return nil
	}
	if err != nil {
		s.observer().Intake(channel, "error")
		return err
	}
	s.observer().Intake(channel, "quarantined")
	return nil
}
