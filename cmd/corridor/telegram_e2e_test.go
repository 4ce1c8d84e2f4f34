package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBotAPI is the outside world: Telegram's Bot API, recording what the
// bot sends and serving updates for long polling.
type fakeBotAPI struct {
	*httptest.Server
	token string
	mu    sync.Mutex
	sent  []sentMessage
	calls map[string]int
	queue []string // updates for getUpdates
	acked int64    // highest offset asked for
}

type sentMessage struct {
	ChatID   string
	Text     string
	Keyboard [][]struct {
		Text         string `json:"text"`
		CallbackData string `json:"callback_data"`
	}
	RawMarkup string
}

func newFakeBotAPI(t *testing.T, token string) *fakeBotAPI {
	f := &fakeBotAPI{token: token, calls: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix := "/bot" + token + "/"
		if strings.HasPrefix(r.URL.Path, "/file/bot"+token+"/") {
			w.Write([]byte("\x89PNG\r\n\x1a\nphoto-bytes"))
			return
		}
		if !strings.HasPrefix(r.URL.Path, prefix) {
			http.Error(w, `{"ok":false,"error_code":404,"description":"Not Found"}`, 404)
			return
		}
		method := strings.TrimPrefix(r.URL.Path, prefix)
		f.mu.Lock()
		f.calls[method]++
		f.mu.Unlock()
		switch method {
		case "sendMessage":
			r.ParseMultipartForm(1 << 20)
			m := sentMessage{ChatID: r.FormValue("chat_id"), Text: r.FormValue("text"), RawMarkup: r.FormValue("reply_markup")}
			if m.RawMarkup != "" {
				var kb struct {
					InlineKeyboard json.RawMessage `json:"inline_keyboard"`
				}
				json.Unmarshal([]byte(m.RawMarkup), &kb)
				json.Unmarshal(kb.InlineKeyboard, &m.Keyboard)
			}
			f.mu.Lock()
			f.sent = append(f.sent, m)
			f.mu.Unlock()
			fmt.Fprintf(w, `{"ok":true,"result":{"message_id":1,"date":0,"chat":{"id":%s,"type":"private"}}}`, m.ChatID)
		case "answerCallbackQuery", "setWebhook":
			fmt.Fprint(w, `{"ok":true,"result":true}`)
		case "getFile":
			fmt.Fprint(w, `{"ok":true,"result":{"file_id":"x","file_unique_id":"u","file_size":18,"file_path":"photos/file_1.jpg"}}`)
		case "getUpdates":
			var off int64
			fmt.Sscan(r.URL.Query().Get("offset"), &off)
			f.mu.Lock()
			if off > f.acked {
				f.acked = off
			}
			var out []string
			for _, u := range f.queue {
				var id struct {
					ID int64 `json:"update_id"`
				}
				json.Unmarshal([]byte(u), &id)
				if id.ID >= off {
					out = append(out, u)
				}
			}
			f.mu.Unlock()
			if len(out) == 0 {
				time.Sleep(50 * time.Millisecond)
			}
			fmt.Fprintf(w, `{"ok":true,"result":[%s]}`, strings.Join(out, ","))
		default:
			fmt.Fprint(w, `{"ok":true,"result":true}`)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeBotAPI) messages() []sentMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentMessage(nil), f.sent...)
}

func (f *fakeBotAPI) waitMessages(t *testing.T, n int) []sentMessage {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ms := f.messages(); len(ms) >= n {
			return ms
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the bot sent %d messages, want %d: %+v", len(f.messages()), n, f.messages())
	return nil
}

const tgToken = "123456:TESTtokenABCdef"
const tgSecret = "webhook-secret-Xy12"

type tgChat struct {
	t    *testing.T
	d    *deployment
	chat int64
	lang string
	next *int64
}

var tgUpdateID int64 = 1000

func (c *tgChat) update(kind, inner string) string {
	c.t.Helper()
	tgUpdateID++
	return fmt.Sprintf(`{"update_id":%d,%q:%s}`, tgUpdateID, kind, inner)
}

func (c *tgChat) text(s string) string {
	b, _ := json.Marshal(s)
	return c.update("message", fmt.Sprintf(`{"message_id":%d,"date":1700000000,"from":{"id":%d,"is_bot":false,"first_name":"CANARYNAME","username":"canary_user","language_code":%q},"chat":{"id":%d,"type":"private","first_name":"CANARYNAME"},"text":%s}`,
		tgUpdateID, c.chat, c.lang, c.chat, b))
}

func (c *tgChat) press(data string) string {
	return c.update("callback_query", fmt.Sprintf(`{"id":"cb%d","from":{"id":%d,"is_bot":false,"first_name":"CANARYNAME","language_code":%q},"message":{"message_id":5,"date":1700000000,"chat":{"id":%d,"type":"private"}},"chat_instance":"ci","data":%q}`,
		tgUpdateID, c.chat, c.lang, c.chat, data))
}

func (d *deployment) postTelegram(t *testing.T, body, secret string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", d.url+"/channels/telegram", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func telegramDeployment(t *testing.T, api *fakeBotAPI, mode string) *deployment {
	return newDeployment(t, deployOpts{env: map[string]string{
		"TELEGRAM_BOT_TOKEN": tgToken, "TELEGRAM_WEBHOOK_SECRET": tgSecret, "TELEGRAM_API_URL": api.URL,
		"CORRIDOR_PUBLIC_URL": "https://intake.example.org",
	}, edit: func(dir string) { setConfig(t, dir, "mode", `mode = "`+mode+`"`) }})
}

// pressFor finds the button whose label contains want in the last message.
func pressFor(t *testing.T, m sentMessage, want string) string {
	t.Helper()
	for _, row := range m.Keyboard {
		for _, b := range row {
			if strings.Contains(b.Text, want) {
				return strings.TrimPrefix(b.CallbackData, "o:")
			}
		}
	}
	t.Fatalf("no button %q in %+v", want, m.Keyboard)
	return ""
}

// The "done when": an Arabic conversation by button presses
// through the webhook ends with a receipt and a report shown as channel
// telegram, language ar.
func TestTelegramWebhookArabicByButtons(t *testing.T) {
	api := newFakeBotAPI(t, tgToken)
	d := telegramDeployment(t, api, "webhook")
	if api.calls["setWebhook"] != 1 {
		t.Errorf("setWebhook called %d times", api.calls["setWebhook"])
	}
	c := &tgChat{t: t, d: d, chat: 987654321, lang: "ar"}
	send := func(body string, n int) sentMessage {
		t.Helper()
		if code := d.postTelegram(t, body, tgSecret); code != 200 {
			t.Fatalf("webhook: %d", code)
		}
		ms := api.waitMessages(t, n)
		return ms[n-1]
	}
	m := send(c.text("/start ngo42"), 1)
	if len(m.Keyboard) == 0 || !strings.Contains(m.Keyboard[0][0].Text, "العربية") {
		t.Fatalf("language_code ar should put Arabic first: %+v", m.Keyboard)
	}
	if strings.Contains(m.RawMarkup, "copy_text") {
		t.Error("the keyboard carries copy_text, which Telegram rejects")
	}
	m = send(c.press(pressFor(t, m, "العربية")), 2)
	m = send(c.press("read"), 3) // consent: moderators may read
	m = send(c.press("DET"), 4)  // topic
	cn := canary(t)
	send(c.text("احتجزونا في الميناء "+cn), 5)
	m = send(c.text("تم"), 6)      // DONE in Arabic
	m = send(c.press("months"), 7) // when
	m = send(c.text("ليبيا"), 8)   // where, typed
	m = send(c.press("no"), 9)     // contact
	m = send(c.press("send"), 10)  // confirm
	rc := receiptRE.FindString(m.Text)
	if rc == "" {
		t.Fatalf("no receipt in the last message: %q", m.Text)
	}
	if api.calls["answerCallbackQuery"] < 6 {
		t.Errorf("callback queries answered %d times", api.calls["answerCallbackQuery"])
	}
	rs := d.listJSON(d.modKey)
	if len(rs) != 1 || rs[0].Channel != "telegram" || rs[0].Language != "ar" || rs[0].Answers["where"] != "LBY" || !strings.Contains(rs[0].Testimony, cn) {
		t.Fatalf("report: %+v", rs)
	}
	for _, m := range api.messages() {
		if strings.Contains(m.Text, cn) {
			t.Error("the bot repeated the testimony")
		}
	}
	d.stop()
	if hits := grepDir(t, d.dir, "987654321", "CANARYNAME", "canary_user", cn); len(hits) > 0 {
		t.Errorf("chat id, name or testimony on disk: %v", hits)
	}
	for _, n := range []string{"987654321", "CANARYNAME", "canary_user", cn, tgToken} {
		if strings.Contains(d.logs.String(), n) {
			t.Errorf("%q in the logs", n)
		}
	}
}

func TestTelegramSecretRedeliveryAndQuarantine(t *testing.T) {
	api := newFakeBotAPI(t, tgToken)
	d := telegramDeployment(t, api, "webhook")
	c := &tgChat{t: t, d: d, chat: 5551234, lang: "fr"}
	first := c.text("bonjour")
	for _, s := range []string{"", "wrong", tgSecret[:5], strings.ToUpper(tgSecret), tgToken} {
		if code := d.postTelegram(t, first, s); code != 401 {
			t.Errorf("secret %q: status %d, want 401", s, code)
		}
	}
	if code := d.postTelegram(t, `{"update_id":`, tgSecret); code != 400 {
		t.Errorf("malformed JSON: %d", code)
	}
	if len(api.messages()) != 0 {
		t.Fatal("the bot wrote after refused requests")
	}
	// A redelivered update is answered 200 and stored once.
	for i := 0; i < 3; i++ {
		if code := d.postTelegram(t, first, tgSecret); code != 200 {
			t.Fatalf("delivery %d: %d", i, code)
		}
	}
	c.lang = "fr"
	d.postTelegram(t, c.text("français"), tgSecret)
	d.postTelegram(t, c.press("share"), tgSecret)
	d.postTelegram(t, c.press("DET"), tgSecret)
	part := c.text("une seule fois " + canary(t))
	for i := 0; i < 3; i++ {
		d.postTelegram(t, part, tgSecret)
	}
	// An unknown update kind is quarantined (200) and does not block the
	// next message of the chat.
	unknown := fmt.Sprintf(`{"update_id":%d,"message_reaction":{"chat":{"id":5551234,"type":"private"},"message_id":3}}`, tgUpdateID+1)
	tgUpdateID++
	if code := d.postTelegram(t, unknown, tgSecret); code != 200 {
		t.Errorf("unknown kind: %d", code)
	}
	huge := c.text("x" + strings.Repeat("y", 20000))
	if code := d.postTelegram(t, huge, tgSecret); code != 200 {
		t.Errorf("oversize text: %d", code)
	}
	d.postTelegram(t, c.text("FINI"), tgSecret)
	ms := api.messages()
	if !strings.Contains(ms[len(ms)-1].Text, "Quand") {
		t.Errorf("after the quarantined updates the chat moves on: %q", ms[len(ms)-1].Text)
	}
	rs := d.listJSON(d.modKey)
	if len(rs) != 1 || strings.Count(rs[0].Testimony, "une seule fois") != 1 {
		t.Fatalf("a redelivered update was stored twice: %+v", rs)
	}
	d.stop()
	db := openRO(t, d.dir)
	var q int
	db.QueryRow("SELECT count(*) FROM quarantine").Scan(&q)
	if q != 2 {
		t.Errorf("%d quarantined updates, want 2", q)
	}
}

// The same flow in long-polling mode, for a kiosk behind NAT.
func TestTelegramLongPolling(t *testing.T) {
	api := newFakeBotAPI(t, tgToken)
	c := &tgChat{t: t, chat: 42424242, lang: "fr-FR"}
	script := []string{c.text("/start"), c.press("fr"), c.press("read"), c.press("other"), c.text("on nous a frappés " + canary(t)),
		c.text("FINI"), c.press("unknown"), c.text("0"), c.press("no"), c.press("send")}
	api.mu.Lock()
	api.queue = script
	api.mu.Unlock()
	d := telegramDeployment(t, api, "polling")
	c.d = d
	ms := api.waitMessages(t, len(script))
	if rc := receiptRE.FindString(ms[len(ms)-1].Text); rc == "" {
		t.Fatalf("no receipt at the end: %q", ms[len(ms)-1].Text)
	}
	rs := d.listJSON(d.modKey)
	if len(rs) != 1 || rs[0].Channel != "telegram" || rs[0].Language != "fr" || rs[0].State != "new" {
		t.Fatalf("report: %+v", rs)
	}
	if ms[0].Keyboard[0][0].Text != "1. Français" {
		t.Errorf("language_code fr-FR should put French first: %+v", ms[0].Keyboard)
	}
}
