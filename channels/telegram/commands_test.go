package telegram_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/corridor-gateway/corridor/intake"
)

var receiptRE = regexp.MustCompile(`[ACDEFGHJKMNPQRTWXY34679]{4}-[ACDEFGHJKMNPQRTWXY34679]{4}-[ACDEFGHJKMNPQRTWXY34679]{4}`)

// languageMenu checks m is the language menu (in lang), with our
// languages as buttons, a page of them at most.
func languageMenu(t *testing.T, e *env, m sentMessage, lang string) {
	t.Helper()
	if want := e.cat.T(lang, "sms.lang", nil); m.Text != want {
		t.Fatalf("%q, want the language menu %q", m.Text, want)
	}
	ours := map[string]bool{}
	for _, l := range e.cat.Languages() {
		ours["o:"+l.Tag] = true
	}
	kb, _ := m.Markup.(map[string]any)
	rows, _ := kb["inline_keyboard"].([]any)
	n := 0
	for _, r := range rows {
		row, _ := r.([]any)
		for _, b := range row {
			if ours[b.(map[string]any)["callback_data"].(string)] {
				n++
			}
		}
	}
	if n != min(len(ours), intake.LanguagePage) {
		t.Fatalf("language keyboard %v: %d languages, want %d", m.Markup, n, min(len(ours), intake.LanguagePage))
	}
	if strings.Contains(m.raw, "copy_text") {
		t.Error("the keyboard carries copy_text, which Telegram rejects")
	}
}

// /start with a deep-link payload: the payload is a plain routing tag, kept
// with the sealed answers for the custodian.
func TestStartPayloadKeepsRoutingTag(t *testing.T) {
	e := newEnv(t)
	c := e.newChat("en")
	e.text(c, "/start ngo42")
	languageMenu(t, e, e.lastTo(c), "en")
	e.press(c, "o:en")
	e.press(c, "o:read")
	e.press(c, "o:DET")
	m := e.onlyReport()
	es := e.entries(m.ID)
	if len(es) == 0 {
		t.Fatal("no sealed answer")
	}
	first := e.custodian(m.ID, es[0])
	if first.Step != "topic" {
		t.Fatalf("first sealed answer is %q", first.Step)
	}
	if first.Tag != "ngo42" {
		t.Errorf("BUG: the /start deep-link tag is lost: the custodian copy of the first sealed answer has tag %q, want \"ngo42\" "+
			"(the tag rides only on the /start update, which seals nothing; the session does not keep it)", first.Tag)
	}
	found := false
	for _, tag := range m.Tags {
		found = found || tag == "ngo42"
	}
	t.Logf("report tags: %q (has ngo42: %v)", m.Tags, found)
}

// A payload that is not a plain tag is dropped; /start still opens the
// language menu, with or without the bot's name.
func TestStartVariants(t *testing.T) {
	e := newEnv(t)
	for _, s := range []string{"/start", "/start@corridor_bot", "/START", "/start <script>alert(1)</script>", "/start " + strings.Repeat("a", 65),
		"/start@corridor_bot ngo42", "/start ../../x"} {
		c := e.newChat("en")
		e.text(c, s)
		languageMenu(t, e, e.lastTo(c), "en")
	}
}

func TestHelpKeepsTheStep(t *testing.T) {
	e := newEnv(t)
	c := e.newChat("en")
	e.toTestimony(c)
	e.text(c, "/help")
	if got := e.lastTo(c).Text; got != e.en("sms.help") {
		t.Errorf("/help: %q", got)
	}
	e.text(c, "/help@corridor_bot")
	if got := e.lastTo(c).Text; got != e.en("sms.help") {
		t.Errorf("/help@bot: %q", got)
	}
	e.text(c, "Still at the testimony step "+newCanary())
	if got := e.lastTo(c).Text; got != e.en("sms.testimony.ack") {
		t.Errorf("after /help: %q", got)
	}
	if got := e.deskReport(e.onlyReport()).Copy.Answers["testimony"]; strings.Contains(got, "HELP") || strings.Contains(got, "/help") {
		t.Errorf("the command was sealed as testimony: %q", got)
	}
}

// /language shows the menu; choosing goes back to where consent was given.
func TestLanguageCommand(t *testing.T) {
	e := newEnv(t)
	c := e.newChat("fr")
	e.toTestimony(c)
	e.text(c, "/language")
	m := e.lastTo(c)
	languageMenu(t, e, m, "en") // the language chosen so far
	kb := m.Markup.(map[string]any)["inline_keyboard"].([]any)
	first := kb[0].([]any)[0].(map[string]any)
	if first["callback_data"] != "o:fr" {
		t.Errorf("language_code fr should put French first: %v", first)
	}
	e.press(c, "o:fr")
	if got, want := e.lastTo(c).Text, e.cat.T("fr", "sms.topic", nil); got != want {
		t.Errorf("after choosing French: %q, want %q", got, want)
	}
	e.text(c, "/lang")
	languageMenu(t, e, e.lastTo(c), "fr")
}

func TestDeleteCommand(t *testing.T) {
	e := newEnv(t)
	c := e.newChat("en")
	e.toTestimony(c)
	e.text(c, "Something I want erased "+newCanary())
	if len(e.reports()) != 1 {
		t.Fatal("no report")
	}
	e.text(c, "/delete")
	if got := e.lastTo(c).Text; got != e.en("sms.deleted") {
		t.Errorf("/delete: %q", got)
	}
	if n := len(e.reports()); n != 0 {
		t.Errorf("%d reports after /delete", n)
	}
	if n := e.count("entries"); n != 0 {
		t.Errorf("%d entries after /delete", n)
	}
	// The conversation ended: the next message starts again.
	e.text(c, "hello")
	languageMenu(t, e, e.lastTo(c), "en")
}

// finish walks c from the testimony step to the receipt.
func finish(t *testing.T, e *env, c chat) string {
	t.Helper()
	e.text(c, "They kept us for a week. "+newCanary())
	e.text(c, "DONE")
	e.press(c, "o:months")
	e.text(c, "Libya")
	e.press(c, "o:no")
	e.press(c, "o:send")
	code := receiptRE.FindString(e.lastTo(c).Text)
	if code == "" {
		t.Fatalf("no receipt: %q", e.lastTo(c).Text)
	}
	return code
}

func TestStatusAndDeleteByReceipt(t *testing.T) {
	e := newEnv(t)
	c := e.newChat("en")
	e.toTestimony(c)
	code := finish(t, e, c)
	want := e.cat.T("en", "sms.status", map[string]any{"Receipt": code, "State": e.en("status.received")})
	for _, s := range []string{"/status " + code, "/status@corridor_bot " + code, "/status " + strings.ToLower(code), "/STATUS " + strings.ReplaceAll(code, "-", "")} {
		e.text(c, s)
		if got := e.lastTo(c).Text; got != want {
			t.Errorf("%q: %q, want %q", s, got, want)
		}
	}
	// Another chat may ask about the code too (it is the receipt that
	// counts, not the chat).
	other := e.newChat("en")
	e.text(other, "/status "+code)
	if got := e.lastTo(other).Text; got != want {
		t.Errorf("from another chat: %q", got)
	}
	e.text(c, "/status ACDE-FGHJ-KMNP") // well formed, unknown
	if got := e.lastTo(c).Text; got != e.en("sms.not_found") {
		t.Errorf("unknown receipt: %q", got)
	}
	e.text(c, "/delete "+code)
	if got := e.lastTo(c).Text; got != e.en("sms.deleted.receipt") {
		t.Errorf("/delete <receipt>: %q", got)
	}
	if len(e.reports()) != 0 {
		t.Error("the report is still there")
	}
	e.text(c, "/status "+code)
	if got := e.lastTo(c).Text; got != e.en("sms.not_found") {
		t.Errorf("status of a deleted report: %q", got)
	}
}

// /stop sends nothing, even on a redelivery; the next message starts a new
// conversation.
func TestStopSendsNothing(t *testing.T) {
	e := newEnv(t)
	c := e.newChat("en")
	e.toTestimony(c)
	sent0, req0 := len(e.api.sentMessages()), e.api.totalRequests()
	stop := textUpdate(e.id(), c, "/stop")
	for range 2 {
		if rec := e.post(stop, ptr(webhookSecret)); rec.Code != http.StatusOK {
			t.Fatalf("/stop: status %d", rec.Code)
		}
	}
	if d := len(e.api.sentMessages()) - sent0; d != 0 {
		t.Errorf("/stop sent %d messages: %+v", d, e.api.sentMessages()[sent0:])
	}
	if d := e.api.totalRequests() - req0; d != 0 {
		t.Errorf("/stop made %d Bot API calls: %q", d, e.api.requestLog()[req0:])
	}
	e.text(c, "hello again")
	languageMenu(t, e, e.lastTo(c), "en")
}

// Telegram's command menu sends a command without arguments: tapping
// /status mid-testimony must not seal "STATUS" into the testimony; nor a
// /status with a mistyped code. A bot command is never testimony.
func TestBareCommandIsNotTestimony(t *testing.T) {
	for i, cmd := range []string{"/status", "/status@corridor_bot", "/status AAAA-BBBB-CCCC", "/settings"} {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			e := newEnv(t)
			c := e.newChat("en")
			e.toTestimony(c)
			m := e.onlyReport()
			n0 := len(e.entries(m.ID))
			e.text(c, cmd)
			got := e.lastTo(c).Text
			if n := len(e.entries(m.ID)) - n0; n != 0 {
				a := e.deskAnswer(m, e.entries(m.ID)[n0])
				t.Errorf("BUG: the bot command %q was sealed as testimony (%q) and answered %q", cmd, a.Value, got)
			}
		})
	}
}

// The bot never edits old messages, so an earlier page of the language
// menu keeps its buttons. A language button is unambiguous (o:<tag>): a
// press on an earlier page, after "More languages", should choose it.
func TestLanguageButtonFromAnEarlierPage(t *testing.T) {
	e := newEnv(t)
	if len(e.cat.Languages()) <= intake.LanguagePage {
		t.Skip("one page of languages")
	}
	c := e.newChat("en")
	e.text(c, "/start")
	first := e.lastTo(c)
	languageMenu(t, e, first, "en")
	e.press(c, "o:more")
	if got := e.lastTo(c).Text; got != e.en("sms.lang") {
		t.Fatalf("after More: %q", got)
	}
	e.press(c, "o:en") // on the first page's keyboard, still on screen
	if got, want := e.lastTo(c).Text, e.cat.T("en", "sms.consent", map[string]any{"Org": testOrg, "URL": moreURL("en")}); got != want {
		t.Errorf("BUG: pressing English on the first page of the language menu after More was answered %q, want the consent text: "+
			"a button press is matched only against the current page", got)
	}
}
