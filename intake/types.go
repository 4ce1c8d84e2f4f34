package intake

import (
	"context"
	"errors"
	"time"
)

// Channels a report can arrive on.
const (
	ChannelSMS      = "sms"
	ChannelWhatsApp = "whatsapp"
	ChannelTelegram = "telegram"
	ChannelWeb      = "web"
)

// Report states.
const (
	StateNew           = "new"
	StateInReview      = "in_review"
	StateAccepted      = "accepted"
	StateNeedsFollowUp = "needs_follow_up"
	StateRejected      = "rejected"
	StateForwarded     = "forwarded"
	StateArchived      = "archived"
	StateIncomplete    = "incomplete"
)

// Consent scopes.
const (
	ScopeRead  = "read"  // trained moderators may read it (needed to go on)
	ScopeShare = "share" // anonymised excerpts may go to review bodies
)

// Attachment is a file a sender gave. Data is plaintext in memory only until
// it is sealed.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// Consent is what a sender agreed to, as recorded data (DO-NO-HARM R3).
type Consent struct {
	Scopes      []string // ScopeRead, ScopeShare
	TextVersion string   // flow consent version + hash of the text shown
	Method      string   // "form", "keyword", "button", "kiosk-assisted"
}

// Has reports whether scope was given.
func (c Consent) Has(scope string) bool {
	for _, s := range c.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// Submission is a complete report from a one-page channel (the web form).
// Address and every answer are plaintext in memory only.
type Submission struct {
	Channel     string
	Address     string // sender address for the pseudonym; "" for the web form
	ProviderID  string // idempotency key from the provider (form token, MessageSid, update_id)
	Language    string
	Answers     map[string]string // field id -> raw answer
	Attachments []Attachment
	Consent     Consent
	Tag         string // routing tag (organisation code), plain
}

// Receipt is what a sender gets back.
type Receipt struct {
	ReportID  string
	Code      string
	Duplicate bool // the provider retried; nothing new was stored
}

// Desk is a moderation desk as the edge sees it: its current recipient.
type Desk struct {
	Name      string
	KeyID     string
	Recipient string
}

// Entry is one sealed piece of a report: an answer or an attachment.
type Entry struct {
	Seq       int
	Kind      string // "answers" or "attachment"
	Desk      []byte // sealed to the desk key (anonymised)
	Custodian []byte // sealed to the custodian (raw); nil for attachments
}

// NewReport is what Service.Submit commits in one transaction.
type NewReport struct {
	ID          string
	IdemKey     []byte
	ReceiptHash []byte
	Channel     string
	Language    string
	Desk        string
	DeskKeyID   string
	Topic       string
	State       string
	Received    time.Time // stored at day precision
	Pseudonym   string
	RawSHA256   string // HMAC-SHA256 (keyed by the secret) of the canonical raw submission (R17), hex
	Consent     Consent
	Entries     []Entry
}

// ReportMeta is the clear metadata of a stored report.
type ReportMeta struct {
	ID          string
	Channel     string
	Language    string
	Desk        string
	DeskKeyID   string
	Topic       string
	Tags        []string
	State       string
	ReceivedDay string // YYYY-MM-DD
	Pseudonym   string
	RawSHA256   string
	Scopes      []string
}

// Errors a Store returns.
var (
	ErrDuplicate = errors.New("already stored")
	ErrNotFound  = errors.New("not found")
)

// Store is what the intake service needs from storage.
type Store interface {
	// CreateReport commits r in one durable transaction. If r.IdemKey was
	// seen before it commits nothing and returns the earlier report id with
	// ErrDuplicate.
	CreateReport(ctx context.Context, r *NewReport) (string, error)
	// ActiveDesks lists every desk with its current key.
	ActiveDesks(ctx context.Context) ([]Desk, error)
}

// Filter selects reports by clear metadata.
type Filter struct {
	KeyIDs   []string // only reports sealed to these desk keys (nil: any)
	Desk     string
	State    string
	Language string
	Topic    string
	Tag      string // a taxonomy code the report is tagged with
	Day      string // YYYY-MM-DD received
	Limit    int    // 0: no limit
	Offset   int
}

// DeskKey is one key of a desk, current or retired.
type DeskKey struct {
	ID        string
	Desk      string
	Recipient string
	Active    bool
}

// Wrap is a desk identity wrapped (age-encrypted) to one member.
type Wrap struct {
	KeyID   string
	Desk    string
	Member  string // the member's public recipient
	Wrapped []byte
}
