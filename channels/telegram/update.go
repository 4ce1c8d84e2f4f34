package telegram

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// Update is the part of a Telegram update we read. Anything else is not
// decoded at all.
type Update struct {
	ID            int64          `json:"update_id"`
	Message       *Message       `json:"message,omitempty"`
	EditedMessage *Message       `json:"edited_message,omitempty"`
	CallbackQuery *CallbackQuery `json:"callback_query,omitempty"`
	// raw field names present, to tell an unknown kind from a known one
	kinds []string
}

// User is a sender; its names are read for nothing.
type User struct {
	ID           int64  `json:"id"`
	IsBot        bool   `json:"is_bot"`
	LanguageCode string `json:"language_code,omitempty"`
}

// Chat is where to answer.
type Chat struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
}

// PhotoSize is one size of a photo.
type PhotoSize struct {
	FileID   string `json:"file_id"`
	FileSize int64  `json:"file_size,omitempty"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
}

// File is a voice note, audio, video note or document.
type File struct {
	FileID   string `json:"file_id"`
	FileSize int64  `json:"file_size,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
}

// Location is a shared location.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// Message is a chat message.
type Message struct {
	ID        int64       `json:"message_id"`
	From      *User       `json:"from,omitempty"`
	Chat      Chat        `json:"chat"`
	Text      string      `json:"text,omitempty"`
	Caption   string      `json:"caption,omitempty"`
	Photo     []PhotoSize `json:"photo,omitempty"`
	Voice     *File       `json:"voice,omitempty"`
	Audio     *File       `json:"audio,omitempty"`
	VideoNote *File       `json:"video_note,omitempty"`
	Document  *File       `json:"document,omitempty"`
	Location  *Location   `json:"location,omitempty"`
}

// CallbackQuery is a button press.
type CallbackQuery struct {
	ID      string   `json:"id"`
	From    User     `json:"from"`
	Message *Message `json:"message,omitempty"`
	Data    string   `json:"data,omitempty"`
}

// MaxUpdate bounds one update's JSON.
const MaxUpdate = 1 << 20

// MaxText and MaxCaption are Telegram's own limits, in UTF-16 units as
// Telegram counts: anything longer did not come from a Telegram client.
const (
	MaxText    = 4096
	MaxCaption = 1024
)

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

var errMalformed = errors.New("malformed update")

// Decode parses one update. It fails only on malformed JSON or a missing
// update_id; an update of a kind we do not handle decodes with Kind() == "".
func Decode(data []byte) (*Update, error) {
	if len(data) > MaxUpdate {
		return nil, errMalformed
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, errMalformed
	}
	idRaw, ok := top["update_id"]
	if !ok {
		return nil, errMalformed
	}
	id, err := strconv.ParseInt(strings.TrimSpace(string(idRaw)), 10, 64)
	if err != nil || id < 0 {
		return nil, errMalformed
	}
	u := &Update{ID: id}
	for k := range top {
		if k != "update_id" {
			u.kinds = append(u.kinds, k)
		}
	}
	// Decode only the kinds we handle; a bad field there makes the update
	// unhandled (quarantined), not a 400.
	if raw, ok := top["message"]; ok {
		var m Message
		if json.Unmarshal(raw, &m) == nil {
			u.Message = &m
		}
	}
	if raw, ok := top["edited_message"]; ok {
		var m Message
		if json.Unmarshal(raw, &m) == nil {
			u.EditedMessage = &m
		}
	}
	if raw, ok := top["callback_query"]; ok {
		var c CallbackQuery
		if json.Unmarshal(raw, &c) == nil {
			u.CallbackQuery = &c
		}
	}
	return u, nil
}

// Kind names the update kind we handle: "message", "callback_query", or ""
// for anything else (quarantined).
func (u *Update) Kind() string {
	if len(u.kinds) != 1 {
		return ""
	}
	switch {
	case u.Message != nil && u.kinds[0] == "message":
		if u.Message.Chat.Type != "private" || u.Message.Chat.ID == 0 {
			return ""
		}
		if utf16Len(u.Message.Text) > MaxText || utf16Len(u.Message.Caption) > MaxCaption {
			return ""
		}
		return "message"
	case u.CallbackQuery != nil && u.kinds[0] == "callback_query":
		if u.CallbackQuery.Message == nil || u.CallbackQuery.Message.Chat.ID == 0 || len(u.CallbackQuery.Data) > 64 {
			return ""
		}
		return "callback_query"
	}
	return ""
}

// ChatID is the chat to answer, or 0.
func (u *Update) ChatID() int64 {
	switch {
	case u.Message != nil:
		return u.Message.Chat.ID
	case u.EditedMessage != nil:
		return u.EditedMessage.Chat.ID
	case u.CallbackQuery != nil && u.CallbackQuery.Message != nil:
		return u.CallbackQuery.Message.Chat.ID
	}
	return 0
}
