package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/fnv"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"filippo.io/age"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
	"golang.org/x/text/unicode/norm"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/i18n"
)

// Catalog is the text the runner needs.
type Catalog interface {
	T(lang, id string, data map[string]any) string
	Languages() []i18n.Language
	Match(hints ...string) (string, bool)
}

// Runner walks a sender through the flow one message at a time, on any
// conversation channel. Every answer is sealed and committed as it arrives;
// the session keeps only the step, language, consent scopes and which
// steps have sealed answers.
type Runner struct {
	Svc     *Service
	Store   ConversationStore
	Text    Catalog
	Org     string
	Idle    time.Duration            // a session ends after this long without a message
	MoreURL func(lang string) string // where the full consent text is

	locksOnce sync.Once
	locks     []sync.Mutex
}

// senderLocks stripes a lock per sender key.
const senderLocks = 256

func (r *Runner) lockFor(key string) *sync.Mutex {
	r.locksOnce.Do(func() { r.locks = make([]sync.Mutex, senderLocks) })
	h := fnv.New32a()
	h.Write([]byte(key))
	return &r.locks[h.Sum32()%senderLocks]
}

// DefaultIdle is how long a conversation waits for the next message.
const DefaultIdle = 24 * time.Hour

type keyword int

const (
	kwNone keyword = iota
	kwStop
	kwHelp
	kwLang
	kwDelete
	kwStatus
	kwDone
	kwSkip
)

var kwIDs = map[string]keyword{"kw.stop": kwStop, "kw.help": kwHelp, "kw.lang": kwLang, "kw.delete": kwDelete, "kw.status": kwStatus, "kw.done": kwDone, "kw.skip": kwSkip}

var englishKW = map[string]keyword{"STOP": kwStop, "HELP": kwHelp, "LANG": kwLang, "LANGUAGE": kwLang, "DELETE": kwDelete, "STATUS": kwStatus, "DONE": kwDone, "SKIP": kwSkip}

// fold prepares typed words for comparison: case, surrounding punctuation,
// Arabic diacritics, and the letter variants that Arabic and Persian phone
// keyboards mix up (alef forms, teh marbuta, yeh and kaf).
func fold(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) })
	s = stripLatinAccents(s)
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0x064B && r <= 0x065F, r == 0x0670, r == 0x0640: // harakat, superscript alef, tatweel
			return -1
		case r == 'أ' || r == 'إ' || r == 'آ' || r == 'ٱ':
			return 'ا'
		case r == 'ة':
			return 'ه'
		case r == 'ى' || r == 'ی' || r == 'ې': // alef maqsura; Persian and Pashto yeh
			return 'ي'
		case r == 'ک': // Persian keheh: Arabic keyboards type kaf
			return 'ك'
		}
		return unicode.ToUpper(r)
	}, s)
}

// keyword recognises a keyword in English or in the sender's language (in
// any of ours before a language is chosen). STATUS and DELETE may carry a
// receipt; the others count only as the whole message.
func (r *Runner) keyword(lang, text string, command bool) (keyword, string) {
	f := strings.Fields(text)
	if len(f) == 0 || len(text) > 200 {
		return kwNone, ""
	}
	w := fold(f[0])
	k, ok := englishKW[w]
	if !ok {
		langs := []string{lang}
		if lang == "" {
			langs = nil
			for _, l := range r.Text.Languages() {
				langs = append(langs, l.Tag)
			}
		}
	search:
		for _, l := range langs {
			for id, kk := range kwIDs {
				if fold(r.Text.T(l, id, nil)) == w {
					k, ok = kk, true
					break search
				}
			}
		}
	}
	if !ok {
		return kwNone, ""
	}
	arg := strings.Join(f[1:], " ")
	if arg != "" && k != kwStatus && k != kwDelete {
		return kwNone, ""
	}
	if k == kwStatus && arg == "" && !command {
		return kwNone, ""
	}
	if arg != "" && !command {
		// "Status of the camp was..." is testimony, not a command: only
		// something shaped like a receipt makes STATUS/DELETE a keyword.
		if _, ok := crypto.NormalizeReceipt(arg); !ok {
			return kwNone, ""
		}
	}
	return k, arg
}

func (r *Runner) t(lang, id string, data map[string]any) string {
	if lang == "" {
		lang = "en"
	}
	return r.Text.T(lang, id, data)
}

// label returns the short form of an option label for phones when the
// catalogue has one ("topic.LIFE" -> "topic.short.LIFE").
func (r *Runner) label(lang, id string) string {
	if i := strings.IndexByte(id, '.'); i > 0 {
		short := id[:i] + ".short" + id[i:]
		if s := r.t(lang, short, nil); s != short {
			return s
		}
	}
	return r.t(lang, id, nil)
}

// LanguagePage is how many languages one menu page lists, so that the
// menu fits a phone; "0" shows the next page.
const LanguagePage = 8

// languageMenu lists our languages, the ones the hints suggest first, a
// page at a time; the sender always chooses.
func (r *Runner) languageMenu(hints []string, page int) []MenuItem {
	langs := r.Text.Languages()
	var order []i18n.Language
	seen := map[string]bool{}
	for _, h := range hints {
		if tag, ok := r.Text.Match(h); ok && !seen[tag] {
			for _, l := range langs {
				if l.Tag == tag {
					order = append(order, l)
					seen[tag] = true
				}
			}
		}
	}
	for _, l := range langs {
		if !seen[l.Tag] {
			order = append(order, l)
		}
	}
	pages := (len(order) + LanguagePage - 1) / LanguagePage
	if page < 0 || page >= pages {
		page = 0
	}
	part := order[page*LanguagePage : min(len(order), (page+1)*LanguagePage)]
	menu := make([]MenuItem, 0, len(part)+1)
	for i, l := range part {
		menu = append(menu, MenuItem{Num: strconv.Itoa(i + 1), ID: l.Tag, Label: l.Name})
	}
	if pages > 1 {
		menu = append(menu, MenuItem{Num: "0", ID: "more", Label: r.t("en", "sms.lang.more", nil)})
	}
	return menu
}

// stepPage splits a stored step into its id and menu page ("language:2").
func stepPage(step string) (string, int) {
	id, p, ok := strings.Cut(step, ":")
	if !ok {
		return step, 0
	}
	n, _ := strconv.Atoi(p)
	return id, n
}

func (r *Runner) menu(lang string, st Step) []MenuItem {
	var m []MenuItem
	switch st.Kind {
	case KindConsent:
		m = []MenuItem{{ID: "read", Label: r.t(lang, "sms.consent.read", nil)}, {ID: "share", Label: r.t(lang, "sms.consent.share", nil)}, {ID: "no", Label: r.t(lang, "sms.consent.no", nil)}}
	case KindConfirm:
		m = []MenuItem{{ID: "send", Label: r.t(lang, "sms.confirm.send", nil)}}
	case KindChoice, KindPeriod, KindContact:
		for _, o := range st.Options {
			m = append(m, MenuItem{ID: o.ID, Label: r.label(lang, o.Label)})
		}
	}
	for i := range m {
		m[i].Num = strconv.Itoa(i + 1)
	}
	return m
}

// prompt is the question of a step, for a phone.
func (r *Runner) prompt(sess *Session, st Step, hints []string) Reply {
	lang := sess.Language
	if st.Kind == KindLanguage {
		_, page := stepPage(sess.Step)
		l := lang
		if l == "" {
			l = "en"
		}
		return Reply{Language: l, Text: r.t(l, "sms.lang", nil), Menu: r.languageMenu(hints, page)}
	}
	id := "sms." + st.ID
	text := r.t(lang, id, r.data(lang))
	if text == id {
		text = r.t(lang, st.Prompt, r.data(lang))
	}
	return Reply{Language: lang, Text: text, Menu: r.menu(lang, st)}
}

func (r *Runner) data(lang string) map[string]any {
	url := ""
	if r.MoreURL != nil {
		url = r.MoreURL(lang)
	}
	return map[string]any{"Org": r.Org, "URL": url}
}

// pick matches an answer to a menu: the option's number, its id, or its
// label (case and surrounding punctuation ignored).
func pick(menu []MenuItem, in *Inbound) (MenuItem, bool) {
	if in.Choice != "" {
		for _, m := range menu {
			if m.ID == in.Choice {
				return m, true
			}
		}
		return MenuItem{}, false
	}
	a := fold(in.Text)
	if a == "" {
		return MenuItem{}, false
	}
	if n, err := strconv.Atoi(normalizeDigits(a)); err == nil {
		for _, m := range menu {
			if m.Num == strconv.Itoa(n) {
				return m, true
			}
		}
		return MenuItem{}, false
	}
	for _, m := range menu {
		if a == fold(m.Label) || a == fold(m.ID) {
			return m, true
		}
	}
	// The first word of a label, when only one label starts with it.
	var hit []MenuItem
	for _, m := range menu {
		if f := strings.Fields(fold(m.Label)); len(f) > 0 && fold(f[0]) == a {
			hit = append(hit, m)
		}
	}
	if len(hit) == 1 {
		return hit[0], true
	}
	return MenuItem{}, false
}

// stripLatinAccents drops the accents of Latin letters ("Español" and
// "espanol" match on a phone without accents); marks on other scripts'
// letters are part of the letter and stay.
func stripLatinAccents(s string) string {
	d := norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(d))
	latinBase := false
	for _, r := range d {
		if unicode.Is(unicode.Mn, r) {
			if latinBase {
				continue
			}
		} else {
			latinBase = unicode.Is(unicode.Latin, r)
		}
		b.WriteRune(r)
	}
	return norm.NFC.String(b.String())
}

// normalizeDigits maps Arabic-Indic, Persian and other decimal digits to
// ASCII so "٢" chooses option 2.
func normalizeDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) && (r < '0' || r > '9') {
			for base := r; base >= r-9; base-- {
				if !unicode.IsDigit(base - 1) {
					return '0' + (r - base)
				}
			}
		}
		return r
	}, s)
}

func isNumber(text string) bool {
	_, err := strconv.Atoi(normalizeDigits(strings.TrimSpace(text)))
	return err == nil
}

func isSkip(k keyword, text string) bool {
	return k == kwSkip || normalizeDigits(strings.TrimSpace(text)) == "0"
}

// answerPayload is one sealed conversation answer.
type answerPayload struct {
	Step  string `json:"step"`
	Value string `json:"value"`
}

type custodianAnswer struct {
	Step    string `json:"step"`
	Value   []byte `json:"value"` // byte for byte (JSON base64)
	Channel string `json:"channel"`
	Contact string `json:"contact_address,omitempty"`
	Tag     string `json:"tag,omitempty"`
}

// turnBuilder accumulates one message's effects.
type turnBuilder struct {
	r      *Runner
	ctx    context.Context
	in     *Inbound
	sess   *Session // the new state (a copy)
	turn   *Turn
	now    time.Time
	method string
	desk   *deskKeys
}

// ensureReport creates the report at the first sealed answer, routed by
// what is known then (language, topic, channel).
func (b *turnBuilder) ensureReport(topic string) error {
	if b.sess.ReportID != "" {
		if b.desk == nil {
			d, err := b.r.Store.ReportDesk(b.ctx, b.sess.ReportID)
			if err != nil {
				return err
			}
			ks, err := crypto.NewKeySet(d.Recipient)
			if err != nil {
				return err
			}
			b.desk = &deskKeys{d, ks}
		}
		b.turn.ReportID = b.sess.ReportID
		return nil
	}
	s := b.r.Svc
	dk, err := s.desk(b.ctx, Route(s.Rules, b.sess.Language, topic, b.in.Channel))
	if err != nil {
		return err
	}
	b.desk = &dk
	id := crypto.NewID()
	consentText := b.r.t(b.sess.Language, "sms.consent", b.r.data(b.sess.Language))
	sum := sha256.Sum256([]byte(consentText))
	b.turn.NewReport = &NewReport{
		ID:        id,
		IdemKey:   s.Secret.IdempotencyKey(b.in.Channel, "report:"+b.in.ProviderID),
		Channel:   b.in.Channel,
		Language:  b.sess.Language,
		Desk:      dk.desk.Name,
		DeskKeyID: dk.desk.KeyID,
		Topic:     topic,
		State:     StateIncomplete,
		Received:  b.now.UTC(),
		Pseudonym: s.Secret.Pseudonym(b.in.Channel, b.in.Address),
		Consent:   Consent{Scopes: b.sess.Scopes, TextVersion: s.Flow.ConsentVersion + "/" + b.sess.Language + "/sms/" + hex.EncodeToString(sum[:6]), Method: b.method},
	}
	b.sess.ReportID, b.turn.ReportID = id, id
	return nil
}

// seal adds one answer: the redacted value for the desk, the raw value (and
// the contact address, if given for contact) for the custodian.
func (b *turnBuilder) seal(st Step, value string, contact bool) error {
	deskVal := value
	if st.Redact || st.Kind == KindText {
		deskVal, _ = Redact(value)
	}
	return b.sealPair(st, deskVal, value, contact)
}

// sealPair seals deskVal for the desk and raw for the custodian.
func (b *turnBuilder) sealPair(st Step, deskVal, value string, contact bool) error {
	topic := ""
	if st.Routes {
		topic = value
		if topic == "other" {
			topic = ""
		}
	}
	if err := b.ensureReport(topic); err != nil {
		return err
	}
	if st.Routes && b.turn.NewReport == nil && topic != "" {
		b.turn.SetTopic = topic
	}
	t0 := time.Now()
	seq := b.sess.NextSeq
	dp, _ := json.Marshal(answerPayload{Step: st.ID, Value: deskVal})
	tag := b.in.Tag
	if tag == "" {
		tag = b.sess.Tag
	}
	ca := custodianAnswer{Step: st.ID, Value: []byte(value), Channel: b.in.Channel, Tag: tag}
	if contact {
		ca.Contact = b.in.Address
	}
	cp, _ := json.Marshal(ca)
	dsealed, err := crypto.Seal(b.desk.ks.Recipients, EntryID(b.sess.ReportID, seq), "desk", dp)
	if err != nil {
		return err
	}
	csealed, err := crypto.Seal(b.r.Svc.Custodian.Recipients, EntryID(b.sess.ReportID, seq), "custodian", cp)
	if err != nil {
		return err
	}
	b.turn.Entries = append(b.turn.Entries, Entry{Seq: seq, Kind: "answer", Desk: dsealed, Custodian: csealed})
	b.sess.NextSeq++
	if !slices.Contains(b.sess.Answered, st.ID) {
		b.sess.Answered = append(b.sess.Answered, st.ID)
	}
	b.r.Svc.observer().Seal(time.Since(t0))
	return nil
}

func (b *turnBuilder) sealMedia(st Step) error {
	if len(b.in.Media) == 0 {
		return nil
	}
	if err := b.ensureReport(""); err != nil {
		return err
	}
	both := append(append([]age.Recipient{}, b.desk.ks.Recipients...), b.r.Svc.Custodian.Recipients...)
	for _, a := range b.in.Media {
		p, err := json.Marshal(attachmentPayload{Name: a.Name, ContentType: a.ContentType, Data: a.Data})
		if err != nil {
			return err
		}
		seq := b.sess.NextSeq
		blob, err := crypto.Seal(both, EntryID(b.sess.ReportID, seq), "attachment", p)
		if err != nil {
			return err
		}
		b.turn.Entries = append(b.turn.Entries, Entry{Seq: seq, Kind: "attachment", Desk: blob})
		b.sess.NextSeq++
	}
	if !slices.Contains(b.sess.Answered, st.ID) {
		b.sess.Answered = append(b.sess.Answered, st.ID)
	}
	return nil
}

func (r *Runner) stepIndex(id string) int {
	for i, s := range r.Svc.Flow.Steps {
		if s.ID == id {
			return i
		}
	}
	return -1
}

// Handle takes one inbound message: it answers a retried delivery with the
// reply it gave before (dup is true, nothing is stored), and otherwise
// computes, seals and commits the turn before returning the reply.
func (r *Runner) Handle(ctx context.Context, in *Inbound) (reply Reply, dup bool, err error) {
	s := r.Svc
	obs := s.observer()
	if in.ProviderID == "" || in.Channel == "" || in.Address == "" {
		obs.Intake(in.Channel, "invalid")
		return Reply{}, false, errors.New("inbound without provider id, channel or address")
	}
	idem := s.Secret.IdempotencyKey(in.Channel, in.ProviderID)
	if rep, ok := r.storedReply(ctx, in, idem); ok {
		obs.Intake(in.Channel, "duplicate")
		return rep, true, nil
	}
	key := s.Secret.Pseudonym(in.Channel, in.Address)
	// One sender's messages are worked out one at a time in this process,
	// so a burst does not race on the session; across processes the
	// session version catches a race and the turn is computed again.
	lk := r.lockFor(key)
	lk.Lock()
	defer lk.Unlock()
	for attempt := 0; attempt < 20; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * time.Millisecond)
		}
		sess, err := r.Store.Session(ctx, key)
		if err != nil {
			obs.Intake(in.Channel, "error")
			return Reply{}, false, err
		}
		now := s.now()
		var prev int64
		if sess != nil {
			prev = sess.Version
			if now.After(sess.Expires) {
				sess = nil
			}
		}
		turn, rep, err := r.compute(ctx, in, sess, now)
		if err != nil {
			obs.Intake(in.Channel, "error")
			return Reply{}, false, err
		}
		turn.IdemKey, turn.SessionKey, turn.PrevVersion = idem, key, prev
		plain, _ := json.Marshal(rep)
		if turn.Reply, err = s.Secret.SealReply(in.Channel, in.ProviderID, plain); err != nil {
			return Reply{}, false, err
		}
		t1 := time.Now()
		err = r.Store.CommitTurn(ctx, turn)
		obs.Commit(time.Since(t1))
		switch {
		case errors.Is(err, ErrConflict):
			continue
		case errors.Is(err, ErrDuplicate):
			if rep, ok := r.storedReply(ctx, in, idem); ok {
				obs.Intake(in.Channel, "duplicate")
				return rep, true, nil
			}
			return Reply{}, false, errors.New("a duplicate delivery has no stored reply")
		case err != nil:
			obs.Intake(in.Channel, "error")
			return Reply{}, false, err
		}
		obs.Intake(in.Channel, "stored")
		return rep, false, nil
	}
	obs.Intake(in.Channel, "error")
	return Reply{}, false, errors.New("the conversation kept changing; giving up on this message")
}

func (r *Runner) storedReply(ctx context.Context, in *Inbound, idem []byte) (Reply, bool) {
	blob, err := r.Store.InboundReply(ctx, idem)
	if err != nil {
		return Reply{}, false
	}
	plain, err := r.Svc.Secret.OpenReply(in.Channel, in.ProviderID, blob)
	if err != nil {
		return Reply{}, false
	}
	var rep Reply
	if json.Unmarshal(plain, &rep) != nil {
		return Reply{}, false
	}
	return rep, true
}

var monthAnswer = regexp.MustCompile(`^(19|20)\d\d-(0[1-9]|1[0-2])$`)

// compute works out what one message does. It never stores anything.
func (r *Runner) compute(ctx context.Context, in *Inbound, old *Session, now time.Time) (*Turn, Reply, error) {
	idle := r.Idle
	if idle <= 0 {
		idle = DefaultIdle
	}
	var sess Session
	if old != nil {
		sess = *old
		sess.Scopes = slices.Clone(old.Scopes)
		sess.Answered = slices.Clone(old.Answered)
	}
	sess.Expires = now.Add(idle)
	if in.Tag != "" {
		sess.Tag = in.Tag
	}
	method := "keyword"
	if in.Choice != "" {
		method = "button"
	}
	b := &turnBuilder{r: r, ctx: ctx, in: in, sess: &sess, turn: &Turn{Actor: "sender"}, now: now, method: method}
	lang := sess.Language
	keep := func(rep Reply) (*Turn, Reply, error) {
		if old == nil && sess.Step == "" {
			b.turn.Session = nil
		} else {
			b.turn.Session = &sess
		}
		return b.turn, rep, nil
	}
	end := func(rep Reply) (*Turn, Reply, error) {
		b.turn.Session = nil
		return b.turn, rep, nil
	}
	text := func(id string, data map[string]any) Reply {
		l := lang
		if l == "" {
			l = "en"
		}
		return Reply{Language: l, Text: r.t(l, id, data)}
	}

	kw, arg := kwNone, ""
	if in.Choice == "" {
		kw, arg = r.keyword(lang, in.Text, in.Command)
	}
	switch kw {
	case kwStop:
		return end(Reply{Language: lang, Silent: true})
	case kwHelp:
		return keep(text("sms.help", nil))
	case kwStatus, kwDelete:
		if arg == "" && kw == kwStatus {
			// A bare /status (a bot's command menu): no code given.
			return keep(text("sms.not_found", nil))
		}
		if arg == "" {
			// DELETE alone erases this conversation's report; once the
			// conversation is over, everything this sender gave on this
			// channel (found by pseudonym, DO-NO-HARM R11).
			if sess.ReportID != "" {
				b.turn.Erase = []string{sess.ReportID}
			} else {
				ids, err := r.Store.ReportIDsByPseudonym(ctx, r.Svc.Secret.Pseudonym(in.Channel, in.Address))
				if err != nil {
					return nil, Reply{}, err
				}
				b.turn.Erase = ids
			}
			return end(text("sms.deleted", nil))
		}
		code, ok := crypto.NormalizeReceipt(arg)
		var meta ReportMeta
		err := ErrNotFound
		if ok {
			meta, err = r.Store.ReportByReceipt(ctx, r.Svc.Secret.ReceiptHash(code))
		}
		if errors.Is(err, ErrNotFound) {
			return keep(text("sms.not_found", nil))
		}
		if err != nil {
			return nil, Reply{}, err
		}
		if kw == kwStatus {
			return keep(text("sms.status", map[string]any{"Receipt": code, "State": r.t(lang, StatusWord(meta.State), nil)}))
		}
		b.turn.Erase = []string{meta.ID}
		if meta.ID == sess.ReportID {
			return end(text("sms.deleted.receipt", nil))
		}
		return keep(text("sms.deleted.receipt", nil))
	case kwLang:
		sess.Step = r.Svc.Flow.Steps[0].ID
		return keep(r.prompt(&sess, r.Svc.Flow.Steps[0], in.Hints))
	}

	steps := r.Svc.Flow.Steps
	if old == nil {
		// A new conversation: what the first message says is not kept
		// (there is no consent yet); the sender chooses a language.
		sess.Step = steps[0].ID
		return keep(r.prompt(&sess, steps[0], in.Hints))
	}
	stepID, page := stepPage(sess.Step)
	i := r.stepIndex(stepID)
	if i < 0 {
		sess.Step = steps[0].ID
		return keep(r.prompt(&sess, steps[0], in.Hints))
	}
	st := steps[i]
	next := func() (*Turn, Reply, error) {
		j := i + 1
		if st.Kind == KindLanguage && len(sess.Scopes) > 0 {
			// Back from LANG: consent was given; go on after it.
			j = r.stepIndex(r.Svc.Flow.ConsentStep().ID) + 1
		}
		if j >= len(steps) {
			j = len(steps) - 1
		}
		sess.Step = steps[j].ID
		return keep(r.prompt(&sess, steps[j], in.Hints))
	}
	retry := func(hint string) (*Turn, Reply, error) {
		p := r.prompt(&sess, st, in.Hints)
		p.Text = r.t(p.Language, hint, nil)
		return keep(p)
	}

	switch st.Kind {
	case KindLanguage:
		menu := r.languageMenu(in.Hints, page)
		m, ok := pick(menu, in)
		if ok && m.ID == "more" {
			pages := (len(r.Text.Languages()) + LanguagePage - 1) / LanguagePage
			sess.Step = st.ID + ":" + strconv.Itoa((page+1)%pages)
			return keep(r.prompt(&sess, st, in.Hints))
		}
		if !ok && (in.Choice != "" || !isNumber(in.Text)) {
			// A language's own name, or a button from an earlier page of
			// the menu (old keyboards stay on screen), chooses it.
			var all []MenuItem
			for _, l := range r.Text.Languages() {
				all = append(all, MenuItem{ID: l.Tag, Label: l.Name})
			}
			m, ok = pick(all, in)
		}
		if !ok {
			if tag, ok2 := r.Text.Match(strings.TrimSpace(in.Text)); ok2 && len(in.Text) <= 16 {
				m, ok = MenuItem{ID: tag}, true
			}
		}
		if !ok {
			return retry("sms.bad_choice")
		}
		sess.Language, lang = m.ID, m.ID
		return next()
	case KindConsent:
		m, ok := pick(r.menu(lang, st), in)
		if !ok {
			return retry("sms.bad_choice")
		}
		switch m.ID {
		case "no":
			if sess.ReportID != "" {
				b.turn.Erase = []string{sess.ReportID}
			}
			return end(text("sms.declined", nil))
		case "share":
			sess.Scopes = []string{ScopeRead, ScopeShare}
		default:
			sess.Scopes = []string{ScopeRead}
		}
		return next()
	case KindText:
		if in.LoadMedia != nil {
			media, merr := in.LoadMedia(ctx)
			in.Media, in.LoadMedia = append(in.Media, media...), nil
			if merr != "" && in.MediaError == "" {
				in.MediaError = merr
			}
		}
		if kw == kwDone {
			if !slices.Contains(sess.Answered, st.ID) {
				return keep(text("sms.need_text", nil))
			}
			return next()
		}
		if strings.TrimSpace(in.Text) == "" && len(in.Media) == 0 && in.Location == "" {
			if in.MediaError != "" {
				return keep(text("sms.media_"+mediaErr(in.MediaError), nil))
			}
			return keep(text("sms.need_text", nil))
		}
		if len(in.Text) > MaxAnswer {
			return keep(text("sms.error", nil))
		}
		if strings.TrimSpace(in.Text) != "" {
			if err := b.seal(st, in.Text, false); err != nil {
				return nil, Reply{}, err
			}
		}
		if err := b.sealMedia(st); err != nil {
			return nil, Reply{}, err
		}
		if in.Location != "" {
			// A shared location is raw for the custodian only; the desk
			// sees that one was shared.
			if err := b.sealPair(st, "[GPS]", "geo:"+in.Location, false); err != nil {
				return nil, Reply{}, err
			}
		}
		if in.MediaError != "" {
			return keep(text("sms.media_"+mediaErr(in.MediaError), nil))
		}
		return keep(text("sms.testimony.ack", nil))
	case KindChoice, KindPeriod, KindContact:
		if isSkip(kw, in.Text) && in.Choice == "" {
			return next()
		}
		value := ""
		if m, ok := pick(r.menu(lang, st), in); ok {
			value = m.ID
		} else if st.Kind == KindPeriod && monthAnswer.MatchString(normalizeDigits(strings.TrimSpace(in.Text))) {
			value = normalizeDigits(strings.TrimSpace(in.Text))
		} else {
			return retry("sms.bad_choice")
		}
		if err := b.seal(st, value, st.Kind == KindContact && value == "yes"); err != nil {
			return nil, Reply{}, err
		}
		return next()
	case KindCountry:
		if isSkip(kw, in.Text) {
			return next()
		}
		iso3, ok := matchCountry(lang, in.Text)
		if !ok {
			return keep(text("sms.bad_country", nil))
		}
		if err := b.seal(st, iso3, false); err != nil {
			return nil, Reply{}, err
		}
		return next()
	case KindConfirm:
		if _, ok := pick(r.menu(lang, st), in); !ok {
			return retry("sms.bad_choice")
		}
		if sess.ReportID == "" {
			// Nothing was sealed: there is nothing to send.
			return end(text("sms.declined", nil))
		}
		code := r.Svc.Secret.Receipt(in.Channel, in.ProviderID)
		b.turn.ReportID = sess.ReportID
		b.turn.Finish = true
		b.turn.ReceiptHash = r.Svc.Secret.ReceiptHash(code)
		return end(text("sms.done", map[string]any{"Receipt": code}))
	}
	return next()
}

func mediaErr(e string) string {
	if e == "too_large" {
		return "too_large"
	}
	return "failed"
}

// StatusWord is the neutral word for a report's state.
func StatusWord(state string) string {
	switch state {
	case StateInReview, StateNeedsFollowUp:
		return "status.reading"
	case StateAccepted, StateForwarded:
		return "status.accepted"
	case StateRejected, StateArchived:
		return "status.closed"
	}
	return "status.received"
}

// matchCountry finds a country by ISO code or by its name in the sender's
// language or in English.
func matchCountry(lang, text string) (string, bool) {
	t := strings.TrimSpace(text)
	if iso3, ok := CountryISO3(t); ok {
		return iso3, true
	}
	want := strings.ToLower(strings.Trim(t, ".!? "))
	if want == "" || len(want) > 80 {
		return "", false
	}
	namers := []display.Namer{display.English.Regions()}
	if lang != "" {
		if n := display.Regions(language.Make(lang)); n != nil { // nil where x/text has no names (kmr)
			namers = append(namers, n)
		}
	}
	for _, c := range Countries() {
		reg := language.MustParseRegion(c)
		for _, n := range namers {
			if strings.ToLower(n.Name(reg)) == want {
				return reg.ISO3(), true
			}
		}
	}
	return "", false
}
