package telegram_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/corridor-gateway/corridor/channels/telegram"
)

// fuzzSeeds are the golden payloads and a few edge shapes; the committed
// corpora under testdata/fuzz/ hold more.
func fuzzSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{``, `{}`, `null`, `{"update_id":1}`, `{"update_id":1,"message":null}`,
		`{"update_id":1,"message":{"chat":{"id":5,"type":"private"},"text":"/start x"}}`,
		`{"update_id":1,"message":{"chat":{"id":5,"type":"private"},"text":"/"}}`,
		`{"update_id":1,"callback_query":{"id":"a","from":{"id":5},"message":{"chat":{"id":5,"type":"private"}},"data":"o:en"}}`,
		`{"update_id":1,"callback_query":{"id":"a","from":{"id":5},"data":"o:en"}}`,
		`{"update_id":1,"message":{"chat":{"id":5,"type":"private"},"photo":[{"file_id":"x","file_size":-1,"width":-1,"height":-1}]}}`,
		`{"update_id":1,"message":{"chat":{"id":5,"type":"private"},"location":{"latitude":1e308,"longitude":-1e308}}}`,
		`{"update_id":9223372036854775807,"edited_message":{}}`} {
		f.Add([]byte(s))
	}
}

// FuzzDecode: any bytes; Decode never panics, and what it accepts has a
// known kind and a chat to answer (or is quarantined).
func FuzzDecode(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := telegram.Decode(data)
		if err != nil {
			if u != nil {
				t.Fatal("an error with an update")
			}
			return
		}
		if u.ID < 0 {
			t.Fatalf("negative update_id %d accepted", u.ID)
		}
		k := u.Kind()
		switch k {
		case "":
		case "message":
			if u.Message == nil || u.Message.Chat.ID == 0 || u.Message.Chat.Type != "private" {
				t.Fatalf("kind message without a private chat: %+v", u.Message)
			}
			if len(u.Message.Text) > telegram.MaxText || len(u.Message.Caption) > telegram.MaxText {
				t.Fatal("kind message over the text cap")
			}
		case "callback_query":
			if u.CallbackQuery == nil || u.CallbackQuery.Message == nil || u.CallbackQuery.Message.Chat.ID == 0 {
				t.Fatalf("kind callback_query without a chat: %+v", u.CallbackQuery)
			}
		default:
			t.Fatalf("Kind() = %q", k)
		}
		chat := u.ChatID()
		if k != "" && chat == 0 {
			t.Fatal("a handled update with no chat to answer")
		}
		if u.Kind() != k {
			t.Fatal("Kind() is not stable")
		}
	})
}

// FuzzWebhook: any body, with the right secret, through the handler, a
// real runner and store, and the fake Bot API: never a panic, and only the
// statuses the handler has.
func FuzzWebhook(f *testing.F) {
	fuzzSeeds(f)
	e := newEnvOpts(f, envOpts{logTo: io.Discard, noSweep: true})
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := e.post(body, ptr(webhookSecret))
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable:
		default:
			t.Fatalf("status %d", rec.Code)
		}
		if rec.Body.Len() != 0 {
			t.Fatalf("a body in the answer: %q", rec.Body.String())
		}
	})
}
