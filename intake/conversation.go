package intake

import (
	"context"
	"errors"
	"time"
)

// Inbound is one message from a conversation channel (SMS, WhatsApp,
// Telegram). Address, Text and Media are plaintext in memory only.
type Inbound struct {
	Channel    string
	Address    string       // phone number or chat id: for the pseudonym and the reply, never stored
	ProviderID string       // MessageSid, update_id: the idempotency key
	Text       string       // what the sender typed
	Choice     string       // a button's option id (Telegram), instead of Text
	Media      []Attachment // fetched from the provider
	MediaError string       // "too_large" or "failed" when a media item could not be taken
	// LoadMedia fetches the message's media from the provider. The runner
	// calls it once, and only at a step that takes media, after the
	// delivery was found new: a retried delivery, or media sent before
	// consent, is never downloaded.
	LoadMedia func(ctx context.Context) (media []Attachment, mediaError string)
	Location  string   // a shared location "lat,lon": sealed raw for the custodian only
	Hints     []string // language hints: used in memory for the menu order only
	Tag       string   // routing tag (deep-link payload), plain
	Command   bool     // an explicit bot command (/status): a keyword even when its argument is not a receipt
}

// MenuItem is one numbered option of a reply.
type MenuItem struct {
	Num   string // what to type: "1", "2", ...
	ID    string // the option id, for buttons
	Label string
}

// Reply is what a conversation answers: a text and, for menu steps, the
// options. Channels render it (SMS lines, Telegram buttons).
type Reply struct {
	Language string     `json:"lang"`
	Text     string     `json:"text"`
	Menu     []MenuItem `json:"menu,omitempty"`
	Silent   bool       `json:"silent,omitempty"` // STOP: send nothing
}

// Session is a conversation's state: nothing a sender wrote.
type Session struct {
	Key      string
	Version  int64
	Step     string
	Language string
	Scopes   []string
	Answered []string // ids of the steps whose answers are sealed
	Tag      string   // the plain routing tag the conversation started with (organisation code)
	ReportID string
	NextSeq  int
	Expires  time.Time
}

// Turn is everything one inbound message changes, committed in one
// transaction: the delivery record (with the sealed reply), the session,
// and the sealed answers.
type Turn struct {
	IdemKey     []byte
	SessionKey  string
	PrevVersion int64    // the session version this turn was computed from (0: none)
	Session     *Session // the new state; nil ends the conversation
	NewReport   *NewReport
	ReportID    string  // the report Entries belong to
	Entries     []Entry // appended
	SetTopic    string
	Finish      bool   // the report is complete: state new, receipt stored
	ReceiptHash []byte // with Finish
	Erase       []string
	Reply       []byte // sealed reply
	Actor       string // audit actor for erasures
}

// ErrConflict means the session changed while a turn was computed; the
// caller computes it again.
var ErrConflict = errors.New("the conversation moved on; try again")

// ConversationStore is what the conversation runner needs from storage.
type ConversationStore interface {
	Store
	Session(ctx context.Context, key string) (*Session, error) // nil, nil when none
	CommitTurn(ctx context.Context, t *Turn) error             // ErrDuplicate, ErrConflict
	InboundReply(ctx context.Context, idemKey []byte) ([]byte, error)
	ReportByReceipt(ctx context.Context, hash []byte) (ReportMeta, error)
	ReportDesk(ctx context.Context, reportID string) (Desk, error)
	ReportIDsByPseudonym(ctx context.Context, pseudonym string) ([]string, error)
}
