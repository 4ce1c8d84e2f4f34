package telegram_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/corridor-gateway/corridor/channels/telegram"
	"github.com/corridor-gateway/corridor/crypto"
)

// countingBody records how much of a request body the handler read.
type countingBody struct {
	r io.Reader
	n int
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func (c *countingBody) Close() error { return nil }

// W5: a missing or wrong secret is 401 before anything is read, parsed or
// stored, and the Bot API hears nothing; the right one is 200.
func TestW5WebhookSecret(t *testing.T) {
	e := newEnv(t)
	c := e.newChat("en")
	valid := textUpdate(e.id(), c, "hello "+newCanary())
	bodies := map[string][]byte{
		"valid update":   valid,
		"malformed JSON": []byte(`{"update_id":`),
		"over 1 MB":      append([]byte(`{"update_id":1,"x":"`), bytes.Repeat([]byte("y"), 2<<20)...),
	}
	headers := []struct {
		name string
		set  func(http.Header)
	}{
		{"missing", func(http.Header) {}},
		{"empty", func(h http.Header) { h.Set(secretHeader, "") }},
		{"wrong", func(h http.Header) { h.Set(secretHeader, "not-the-secret") }},
		{"prefix only", func(h http.Header) { h.Set(secretHeader, webhookSecret[:6]) }},
		{"all but the last character", func(h http.Header) { h.Set(secretHeader, webhookSecret[:len(webhookSecret)-1]) }},
		{"one character more", func(h http.Header) { h.Set(secretHeader, webhookSecret+"n") }},
		{"wrong case", func(h http.Header) { h.Set(secretHeader, strings.ToUpper(webhookSecret)) }},
		{"equal to the bot token", func(h http.Header) { h.Set(secretHeader, botToken) }},
		{"padded", func(h http.Header) { h.Set(secretHeader, " "+webhookSecret) }},
		{"under another header", func(h http.Header) { h.Set("X-Telegram-Bot-Api-Secret", webhookSecret) }},
		{"wrong first of two", func(h http.Header) {
			h.Add(secretHeader, "not-the-secret")
			h.Add(secretHeader, webhookSecret)
		}},
	}
	for _, hd := range headers {
		for bname, body := range bodies {
			t.Run(hd.name+"/"+bname, func(t *testing.T) {
				cb := &countingBody{r: bytes.NewReader(body)}
				req := httptest.NewRequest(http.MethodPost, "/channels/telegram", nil)
				req.Body = cb
				req.ContentLength = int64(len(body))
				hd.set(req.Header)
				rec := httptest.NewRecorder()
				e.mux.ServeHTTP(rec, req)
				if rec.Code != http.StatusUnauthorized {
					t.Fatalf("status %d, want 401", rec.Code)
				}
				if cb.n != 0 {
					t.Errorf("the handler read %d bytes of a refused body", cb.n)
				}
				if rec.Body.Len() != 0 {
					t.Errorf("a refusal carries a body: %q", rec.Body.String())
				}
			})
		}
	}
	for _, table := range []string{"inbound", "quarantine", "sessions", "reports"} {
		if n := e.count(table); n != 0 {
			t.Errorf("%d rows in %s after refused requests", n, table)
		}
	}
	if n := e.api.totalRequests(); n != 0 {
		t.Errorf("the Bot API got %d calls after refused requests: %v", n, e.api.requestLog())
	}

	// The right secret.
	if rec := e.post(valid, ptr(webhookSecret)); rec.Code != http.StatusOK {
		t.Fatalf("the right secret: status %d", rec.Code)
	}
	if e.count("inbound") != 1 || len(e.api.sentMessages()) != 1 {
		t.Errorf("the right secret: %d inbound rows, %d messages sent; want 1 and 1", e.count("inbound"), len(e.api.sentMessages()))
	}
	if got := e.lastTo(c).Text; got != e.en("sms.lang") {
		t.Errorf("first answer %q, want the language menu", got)
	}
}

// With no webhook secret configured every delivery is refused, even one
// without the header.
func TestW5NoSecretConfiguredRefusesAll(t *testing.T) {
	e := newEnvOpts(t, envOpts{secret: ptr("")})
	c := e.newChat("en")
	body := textUpdate(e.id(), c, "hello")
	for _, s := range []*string{nil, ptr(""), ptr(webhookSecret)} {
		if rec := e.post(body, s); rec.Code != http.StatusUnauthorized {
			t.Errorf("header %v: status %d, want 401", s, rec.Code)
		}
	}
	if e.count("inbound") != 0 || e.api.totalRequests() != 0 {
		t.Error("something was stored or sent")
	}
}

// W6: fifty deliveries of one update at once: all 200, stored once, and
// every answer the same words.
func TestW6ConcurrentDuplicateUpdate(t *testing.T) {
	e := newEnv(t)
	c := e.newChat("en")
	e.toTestimony(c)
	m := e.onlyReport()
	entries0, inbound0, sent0 := len(e.entries(m.ID)), e.count("inbound"), len(e.api.sentMessages())
	cn := newCanary()
	body := textUpdate(e.id(), c, "They took our phones at the checkpoint "+cn)

	const n = 50
	codes := make([]int, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes[i] = e.post(body, ptr(webhookSecret)).Code
		}()
	}
	close(start)
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusOK {
			t.Errorf("delivery %d: status %d", i, code)
		}
	}
	es := e.entries(m.ID)
	if len(es)-entries0 != 1 {
		t.Errorf("%d entries stored for one update, want 1", len(es)-entries0)
	}
	if d := e.count("inbound") - inbound0; d != 1 {
		t.Errorf("%d inbound rows for one update, want 1", d)
	}
	if got := e.deskReport(m).Copy.Answers["testimony"]; strings.Count(got, cn) != 1 {
		t.Errorf("the testimony holds the update %d times", strings.Count(got, cn))
	}
	replies := e.api.sentMessages()[sent0:]
	if len(replies) < 1 || len(replies) > n {
		t.Fatalf("%d replies for %d deliveries", len(replies), n)
	}
	for _, r := range replies {
		if r.Text != e.en("sms.testimony.ack") || r.Markup != nil {
			t.Errorf("reply %q (markup %v), want every one the acknowledgement", r.Text, r.Markup)
		}
	}
	t.Logf("%d deliveries, %d replies sent (a redelivery re-sends the stored reply)", n, len(replies))

	// The same for an update that is quarantined.
	q0 := e.count("quarantine")
	poison := mustJSON(map[string]any{"update_id": e.id(), "message_reaction": map[string]any{"chat": c.chatObj(), "message_id": 3}})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = e.post(poison, ptr(webhookSecret)).Code
		}()
	}
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusOK {
			t.Errorf("quarantined delivery %d: status %d", i, code)
		}
	}
	if d := e.count("quarantine") - q0; d != 1 {
		t.Errorf("%d quarantine rows for one update, want 1", d)
	}
}

// W7: updates the bot cannot handle are sealed into quarantine and
// answered 200, silently; the chat's next message is handled as usual.
func TestW7PoisonUpdatesDoNotBlockTheChat(t *testing.T) {
	e := newEnv(t)
	c := e.newChat("en")
	e.toTestimony(c)
	group := map[string]any{"id": -1001234567890, "type": "group", "title": "Canary group"}
	addCanary("-1001234567890")
	msg := func(fields map[string]any) map[string]any {
		m := map[string]any{"message_id": 77, "date": 1773136800, "from": c.from(), "chat": c.chatObj()}
		for k, v := range fields {
			m[k] = v
		}
		return m
	}
	poisons := []struct {
		name string
		body func(id int64) []byte
	}{
		{"unknown kind", func(id int64) []byte {
			return mustJSON(map[string]any{"update_id": id, "message_reaction": map[string]any{"chat": c.chatObj(), "message_id": 41, "user": c.from(),
				"date": 1773136870, "old_reaction": []any{}, "new_reaction": []any{map[string]any{"type": "emoji", "emoji": "👍"}}}})
		}},
		{"chat_member", func(id int64) []byte {
			return mustJSON(map[string]any{"update_id": id, "my_chat_member": map[string]any{"chat": c.chatObj(), "from": c.from(), "date": 1773136870,
				"old_chat_member": map[string]any{"status": "member"}, "new_chat_member": map[string]any{"status": "kicked"}}})
		}},
		{"20 KB text", func(id int64) []byte { return textUpdate(id, c, strings.Repeat("A long message. ", 20<<10/16)) }},
		{"caption over the cap", func(id int64) []byte {
			return messageUpdate(id, c, map[string]any{
				"photo":   []any{map[string]any{"file_id": "cap-photo", "file_unique_id": "u", "file_size": 100, "width": 10, "height": 10}},
				"caption": strings.Repeat("c", telegram.MaxText+1)})
		}},
		{"group chat", func(id int64) []byte {
			return mustJSON(map[string]any{"update_id": id, "message": msg(map[string]any{"chat": group, "text": "hello group"})})
		}},
		{"supergroup", func(id int64) []byte {
			return mustJSON(map[string]any{"update_id": id, "message": msg(map[string]any{"chat": map[string]any{"id": -1001234567890, "type": "supergroup"}, "text": "hi"})})
		}},
		{"channel post", func(id int64) []byte {
			return mustJSON(map[string]any{"update_id": id, "channel_post": msg(map[string]any{"chat": map[string]any{"id": -1001234567890, "type": "channel"}, "text": "hi"})})
		}},
		{"two kinds in one update", func(id int64) []byte {
			return mustJSON(map[string]any{"update_id": id, "message": msg(map[string]any{"text": "a"}), "edited_message": msg(map[string]any{"text": "b"})})
		}},
		{"message of the wrong shape", func(id int64) []byte {
			return mustJSON(map[string]any{"update_id": id, "message": map[string]any{"chat": "not an object", "text": 5}})
		}},
		{"message without a chat id", func(id int64) []byte {
			return mustJSON(map[string]any{"update_id": id, "message": msg(map[string]any{"chat": map[string]any{"type": "private"}, "text": "x"})})
		}},
		{"callback data over 64 bytes", func(id int64) []byte {
			return pressUpdate(id, c, "o:"+strings.Repeat("D", 80))
		}},
		{"callback without its message", func(id int64) []byte {
			return mustJSON(map[string]any{"update_id": id, "callback_query": map[string]any{"id": "cbq", "from": c.from(), "inline_message_id": "AAA", "data": "o:DET"}})
		}},
	}
	for _, p := range poisons {
		q0, sent0, gf0, cb0 := e.count("quarantine"), len(e.api.sentMessages()), len(e.api.getFiles()), len(e.api.callbacks())
		body := p.body(e.id())
		rec := e.post(body, ptr(webhookSecret))
		if rec.Code != http.StatusOK {
			t.Errorf("%s: status %d, want 200", p.name, rec.Code)
		}
		if d := e.count("quarantine") - q0; d != 1 {
			t.Errorf("%s: %d quarantine rows, want 1", p.name, d)
		}
		if d := len(e.api.sentMessages()) - sent0; d != 0 {
			t.Errorf("%s: the bot wrote %d messages about a quarantined update", p.name, d)
		}
		if d := len(e.api.getFiles()) - gf0; d != 0 {
			t.Errorf("%s: a quarantined update's file was fetched", p.name)
		}
		if d := len(e.api.callbacks()) - cb0; d != 0 {
			t.Errorf("%s: a quarantined callback was answered", p.name)
		}
	}

	// The quarantine rows are sealed to the custodian, byte for byte.
	rows, err := e.ro.Query("SELECT id, blob FROM quarantine")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var id string
		var blob []byte
		if err := rows.Scan(&id, &blob); err != nil {
			t.Fatal(err)
		}
		raw, err := crypto.Open(crypto.AgeIdentities([]*crypto.Identity{e.cust}), id, "quarantine", blob)
		if err != nil {
			t.Errorf("quarantine row %s does not open for the custodian: %v", id, err)
		}
		if !bytes.Contains(raw, []byte(`"update_id"`)) {
			t.Errorf("quarantine row %s does not hold the update", id)
		}
		n++
	}
	rows.Close()
	if n != len(poisons) {
		t.Errorf("%d quarantine rows, want %d", n, len(poisons))
	}

	// The chat goes on.
	sent0 := len(e.api.sentMessages())
	e.text(c, "After that they let us go. "+newCanary())
	if got := e.lastTo(c).Text; got != e.en("sms.testimony.ack") {
		t.Errorf("after the quarantined updates: %q, want the acknowledgement", got)
	}
	e.text(c, "DONE")
	next := e.lastTo(c)
	if next.Text != e.en("sms.when") || next.Markup == nil {
		t.Errorf("after DONE: %q (markup %v), want the when prompt with its buttons", next.Text, next.Markup)
	}
	if d := len(e.api.sentMessages()) - sent0; d != 2 {
		t.Errorf("%d messages sent for 2 updates", d)
	}
	if got := e.deskReport(e.onlyReport()).Copy.Answers["when"]; got != "" {
		t.Errorf("when answered already: %q", got)
	}
}

// Bodies that are not updates: 400; too big: 413 (before parsing); nothing
// stored, nothing sent.
func TestMalformedAndOversizeBodies(t *testing.T) {
	e := newEnv(t)
	c := e.newChat("en")
	for _, b := range []string{``, ` `, `{"update_id":`, `null`, `[]`, `[{"update_id":1}]`, `"update"`, `{}`,
		`{"message":{"chat":{"id":1,"type":"private"},"text":"x"}}`, `{"update_id":"5","message":{}}`, `{"update_id":-1}`,
		`{"update_id":1.5}`, `{"update_id":1e3}`, `{"update_id":99999999999999999999}`, `{"update_id":null}`, `{"update_id":1}{"update_id":2}`,
		"\xff\xfe{", `{"update_id":1,}`} {
		if rec := e.post([]byte(b), ptr(webhookSecret)); rec.Code != http.StatusBadRequest {
			t.Errorf("%q: status %d, want 400", b, rec.Code)
		}
	}
	// Exactly the bound is read and decoded; one byte more is 413.
	at := func(size int) []byte {
		b := textUpdate(e.id(), c, "x")
		pad := size - len(b)
		return append(b[:len(b)-1], append(bytes.Repeat([]byte(" "), pad), '}')...)
	}
	if rec := e.post(at(telegram.MaxUpdate), ptr(webhookSecret)); rec.Code != http.StatusOK {
		t.Errorf("an update of exactly %d bytes: status %d, want 200", telegram.MaxUpdate, rec.Code)
	}
	inbound0 := e.count("inbound")
	for _, size := range []int{telegram.MaxUpdate + 1, 2 << 20, 10 << 20} {
		body := textUpdate(e.id(), c, strings.Repeat("z", size))
		if rec := e.post(body, ptr(webhookSecret)); rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("a %d-byte body: status %d, want 413", len(body), rec.Code)
		}
		if rec := e.post(at(size), ptr(webhookSecret)); rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("a padded %d-byte body: status %d, want 413", size, rec.Code)
		}
	}
	if e.count("inbound") != inbound0 || e.count("quarantine") != 0 {
		t.Errorf("bad bodies stored something: %d inbound, %d quarantine", e.count("inbound")-inbound0, e.count("quarantine"))
	}
	if len(e.api.sentMessages()) != 1 {
		t.Errorf("%d messages sent; only the update at the bound should be answered", len(e.api.sentMessages()))
	}
}

// Telegram lets a user send 4,096 characters in one message. In a script of
// three bytes a character in UTF-8 (Ge'ez, used for Tigrinya and Amharic)
// that is 10 to 12 KB, over MaxText (8 KB): a legitimate message must be taken,
// not quarantined without a word to the sender.
func TestLongestTelegramMessageIsTaken(t *testing.T) {
	e := newEnv(t)
	c := e.newChat("ti")
	e.toTestimony(c)
	text := strings.Repeat("ሰላም ", 1024) // 4,096 characters, 10,240 bytes
	q0, sent0 := e.count("quarantine"), len(e.api.sentMessages())
	if rec := e.post(textUpdate(e.id(), c, text), ptr(webhookSecret)); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if e.count("quarantine") != q0 || len(e.api.sentMessages()) == sent0 {
		t.Errorf("BUG: a %d-character Tigrinya message (%d bytes, within Telegram's 4,096-character limit) was quarantined "+
			"and the sender got no answer: MaxText counts bytes (8 KB) where Telegram counts characters (UTF-16 units)",
			len([]rune(text)), len(text))
	}
	if got := e.deskReport(e.onlyReport()).Copy.Answers["testimony"]; got != text {
		t.Errorf("BUG: the testimony was not stored (%d bytes at the desk, want %d)", len(got), len(text))
	}
}

// The store fails: 503, so Telegram delivers again; nothing is sent.
func TestStoreFailureIs503(t *testing.T) {
	e := newEnv(t)
	c := e.newChat("en")
	e.text(c, "/start")
	sent0 := len(e.api.sentMessages())
	e.db.Close()
	for _, body := range [][]byte{
		textUpdate(e.id(), c, "hello "+newCanary()),
		mustJSON(map[string]any{"update_id": e.id(), "message_reaction": map[string]any{"chat": c.chatObj()}}),
	} {
		if rec := e.post(body, ptr(webhookSecret)); rec.Code != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503", rec.Code)
		}
	}
	if len(e.api.sentMessages()) != sent0 {
		t.Error("the bot answered an update it did not store")
	}
}
