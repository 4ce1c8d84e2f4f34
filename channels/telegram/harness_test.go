package telegram_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite" // database/sql on the store's file, for counting rows

	"github.com/corridor-gateway/corridor/channels/telegram"
	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/i18n"
	"github.com/corridor-gateway/corridor/intake"
	"github.com/corridor-gateway/corridor/intake/sqlite"
	"github.com/corridor-gateway/corridor/moderation"
)

// The channel as it runs: a real intake.Runner over a real SQLite store in
// t.TempDir(), real age keys (a custodian, and the default desk wrapped to a
// test moderator), the real catalogue. Only the Bot API is a fake: it is the
// outside world.

const (
	botToken      = "123:ABC"
	webhookSecret = "s3cret-token"
	secretHeader  = "X-Telegram-Bot-Api-Secret-Token"
	testOrg       = "Test Org"
	// maxFile is the media cap of every test deployment: small, so the
	// fake can serve a file over it cheaply.
	maxFile = 64 << 10
)

var fixedNow = time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)

func moreURL(lang string) string { return "https://intake.example.org/report?lang=" + lang }

// ---------------------------------------------------------------- canaries

// canaries is every string that must never reach a log or the data dir:
// chat ids, names, usernames, testimony canaries, the bot token and the
// webhook secret. Tests register theirs; every deployment's files are
// swept at its cleanup and every log line at the end of the run (TestMain).
var canaries = struct {
	sync.Mutex
	set map[string]bool
}{set: map[string]bool{botToken: true, webhookSecret: true}}

func addCanary(s ...string) {
	canaries.Lock()
	defer canaries.Unlock()
	for _, x := range s {
		if x != "" {
			canaries.set[x] = true
		}
	}
}

func canaryList() []string {
	canaries.Lock()
	defer canaries.Unlock()
	out := make([]string, 0, len(canaries.set))
	for s := range canaries.set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// newCanary is a unique string to put in testimony.
func newCanary() string {
	var b [8]byte
	rand.Read(b[:])
	c := "CANARY-" + hex.EncodeToString(b[:])
	addCanary(c)
	return c
}

// syncBuffer is a bytes.Buffer safe for the handler's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// allLogs holds every log line of every deployment of this run.
var allLogs syncBuffer

// hits lists the canaries found in data.
func hits(data []byte, cs []string) []string {
	var out []string
	for _, c := range cs {
		if bytes.Contains(data, []byte(c)) {
			out = append(out, c)
		}
	}
	return out
}

// sweepDir greps every file under dir (the database, -wal, -shm and
// anything else) for canaries.
func sweepDir(tb testing.TB, dir string) []string {
	tb.Helper()
	return sweepDirFor(dir, canaryList())
}

func sweepDirFor(dir string, cs []string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, h := range hits(data, cs) {
			out = append(out, filepath.Base(p)+": "+h)
		}
		return nil
	})
	return out
}

// ---------------------------------------------------------------- fake Bot API

type sentMessage struct {
	ChatID string `json:"chat_id"`
	Text   string `json:"text"`
	Markup any    `json:"reply_markup"` // parsed JSON (keys sorted when re-encoded), nil when none
	raw    string
}

// fileSpec is how the fake answers getFile for one file id, and what it
// serves at the file's path.
type fileSpec struct {
	Path   string // file_path in the getFile answer
	Size   int64  // file_size in the getFile answer (0: left out)
	Data   []byte // served at /file/bot<token>/<Path>
	Status int    // download status (0: 200)
	Header map[string]string
	// GetFileFail makes getFile answer an error.
	GetFileFail bool
}

type fakeAPI struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string // every request URI, in order
	methods  map[string]int
	sent     []sentMessage
	getFile  []string // file ids asked for
	dls      []string // download request URIs
	callback []string // callback query ids answered
	files    map[string]fileSpec
	sendCode int // status for sendMessage (0: 200)
}

func newFakeAPI(tb testing.TB) *fakeAPI {
	f := &fakeAPI{methods: map[string]int{}, files: map[string]fileSpec{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.Close)
	return f
}

// defaultFile is what the fake serves for a file id no test registered.
func defaultFile(id string) fileSpec {
	s := sha256.Sum256([]byte(id))
	data := []byte("file-bytes:" + hex.EncodeToString(s[:8]))
	return fileSpec{Path: "documents/file_" + hex.EncodeToString(s[:6]) + ".bin", Size: int64(len(data)), Data: data}
}

func (f *fakeAPI) setFile(id string, s fileSpec) {
	f.mu.Lock()
	f.files[id] = s
	f.mu.Unlock()
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.RequestURI)
	f.mu.Unlock()
	filePrefix := "/file/bot" + botToken + "/"
	if strings.HasPrefix(r.URL.Path, "/file/") {
		f.mu.Lock()
		f.dls = append(f.dls, r.RequestURI)
		var spec fileSpec
		found := false
		for _, s := range f.files {
			if filePrefix+s.Path == r.URL.Path {
				spec, found = s, true
			}
		}
		f.mu.Unlock()
		if !found {
			http.Error(w, "not found", 404)
			return
		}
		for k, v := range spec.Header {
			w.Header().Set(k, v)
		}
		if spec.Status != 0 {
			w.WriteHeader(spec.Status)
		}
		w.Write(spec.Data)
		return
	}
	prefix := "/bot" + botToken + "/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		w.WriteHeader(404)
		fmt.Fprint(w, `{"ok":false,"error_code":404,"description":"Not Found"}`)
		return
	}
	method := strings.TrimPrefix(r.URL.Path, prefix)
	r.ParseMultipartForm(1 << 20)
	f.mu.Lock()
	f.methods[method]++
	code := f.sendCode
	f.mu.Unlock()
	switch method {
	case "sendMessage":
		m := sentMessage{ChatID: r.FormValue("chat_id"), Text: r.FormValue("text"), raw: r.FormValue("reply_markup")}
		if m.raw != "" {
			var v any
			if err := json.Unmarshal([]byte(m.raw), &v); err != nil {
				v = "UNPARSEABLE: " + m.raw
			}
			m.Markup = v
		}
		f.mu.Lock()
		f.sent = append(f.sent, m)
		f.mu.Unlock()
		if code != 0 {
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"ok":false,"error_code":%d,"description":"Internal Server Error"}`, code)
			return
		}
		fmt.Fprint(w, `{"ok":true,"result":{"message_id":1,"date":1773136800,"chat":{"id":1,"type":"private"},"text":"x"}}`)
	case "answerCallbackQuery":
		f.mu.Lock()
		f.callback = append(f.callback, r.FormValue("callback_query_id"))
		f.mu.Unlock()
		fmt.Fprint(w, `{"ok":true,"result":true}`)
	case "getFile":
		id := r.FormValue("file_id")
		f.mu.Lock()
		f.getFile = append(f.getFile, id)
		spec, ok := f.files[id]
		f.mu.Unlock()
		if !ok {
			spec = defaultFile(id)
			f.mu.Lock()
			f.files[id] = spec
			f.mu.Unlock()
		}
		if spec.GetFileFail {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"ok":false,"error_code":400,"description":"Bad Request: wrong file_id or the file is temporarily unavailable"}`)
			return
		}
		res := map[string]any{"file_id": id, "file_unique_id": "uniq", "file_path": spec.Path}
		if spec.Size != 0 {
			res["file_size"] = spec.Size
		}
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": res})
	default:
		fmt.Fprint(w, `{"ok":true,"result":true}`)
	}
}

func (f *fakeAPI) sentMessages() []sentMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentMessage(nil), f.sent...)
}

func (f *fakeAPI) calls(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.methods[method]
}

func (f *fakeAPI) totalRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func (f *fakeAPI) requestLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func (f *fakeAPI) downloads() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.dls...)
}

func (f *fakeAPI) callbacks() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.callback...)
}

func (f *fakeAPI) getFiles() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.getFile...)
}

// ---------------------------------------------------------------- deployment

type env struct {
	tb     testing.TB
	dir    string
	dbPath string
	db     *sqlite.DB
	ro     *sql.DB
	secret *crypto.Secret
	cust   *crypto.Identity
	mod    *crypto.Identity
	cat    *i18n.Catalog
	svc    *intake.Service
	runner *intake.Runner
	api    *fakeAPI
	h      *telegram.Handler
	mux    *http.ServeMux
	logs   syncBuffer
	nextID atomic.Int64
	chats  atomic.Int64
}

type envOpts struct {
	secret  *string   // webhook secret (nil: webhookSecret)
	logTo   io.Writer // nil: the deployment's buffer and allLogs
	noSweep bool
}

func newEnv(tb testing.TB) *env { return newEnvOpts(tb, envOpts{}) }

func newEnvOpts(tb testing.TB, o envOpts) *env {
	tb.Helper()
	ctx := context.Background()
	// Our own temp dir: a subtest name can put '#' or '%' in t.TempDir(),
	// which the store's DSN does not escape (see TestStoreDataDirWithHash).
	dir, err := os.MkdirTemp("", "corridor-tg-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	e := &env{tb: tb, dir: dir}
	e.nextID.Store(1000)
	e.dbPath = filepath.Join(e.dir, "corridor.db")
	db, err := sqlite.Open(e.dbPath)
	if err != nil {
		tb.Fatal(err)
	}
	e.db = db
	e.ro, err = sql.Open("sqlite", "file:"+e.dbPath+"?_pragma=busy_timeout(10000)&_pragma=query_only(ON)")
	if err != nil {
		tb.Fatal(err)
	}
	if e.cust, err = crypto.Generate(crypto.X25519); err != nil {
		tb.Fatal(err)
	}
	if e.mod, err = crypto.Generate(crypto.X25519); err != nil {
		tb.Fatal(err)
	}
	keyID, rcpt, wraps, err := moderation.NewDeskKey(crypto.X25519, []string{e.mod.Recipient})
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.AddDesk(ctx, intake.DefaultDesk, keyID, rcpt, wraps, "test"); err != nil {
		tb.Fatal(err)
	}
	ks, err := crypto.NewKeySet(e.cust.Recipient)
	if err != nil {
		tb.Fatal(err)
	}
	e.secret = crypto.SecretFromBytes(bytes.Repeat([]byte{0x5c}, 32))
	db.SetAuditKey(e.secret.AuditKey())
	if e.cat, err = i18n.New(); err != nil {
		tb.Fatal(err)
	}
	e.svc = &intake.Service{Flow: intake.DefaultFlow(), Store: db, Secret: e.secret, Custodian: ks, Now: func() time.Time { return fixedNow }}
	if err := e.svc.CheckKeys(ctx); err != nil {
		tb.Fatal(err)
	}
	e.runner = &intake.Runner{Svc: e.svc, Store: db, Text: e.cat, Org: testOrg, MoreURL: moreURL}
	e.api = newFakeAPI(tb)
	logTo := o.logTo
	if logTo == nil {
		logTo = io.MultiWriter(&e.logs, &allLogs)
	}
	log := slog.New(slog.NewJSONHandler(logTo, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sec := webhookSecret
	if o.secret != nil {
		sec = *o.secret
	}
	e.h, err = telegram.New(telegram.Config{Token: botToken, WebhookSecret: sec, APIURL: e.api.URL, MaxFile: maxFile, Timeout: 5 * time.Second}, e.runner, e.svc, log)
	if err != nil {
		tb.Fatal(err)
	}
	e.mux = http.NewServeMux()
	e.h.Register(e.mux)
	// Registered after the temp dir, so it runs before the directory goes: the
	// data dir (database, -wal, -shm) is swept open and again closed.
	tb.Cleanup(func() {
		var found []string
		if !o.noSweep {
			found = sweepDir(tb, e.dir)
		}
		e.ro.Close()
		db.Close()
		if !o.noSweep {
			found = append(found, sweepDir(tb, e.dir)...)
		}
		if len(found) > 0 {
			tb.Errorf("canaries in the data dir: %v", found)
		}
	})
	return e
}

// ---------------------------------------------------------------- updates

// chat is a sender's private chat; its id, names and username are canaries.
type chat struct {
	ID    int64
	Lang  string
	First string
	User  string
}

func (e *env) newChat(lang string) chat {
	n := e.chats.Add(1)
	id := 7300000000 + (time.Now().UnixNano()%9000)*100000 + n
	c := chat{ID: id, Lang: lang, First: fmt.Sprintf("Canaryfirst%dX", id), User: fmt.Sprintf("canary_user_%d", id)}
	addCanary(strconv.FormatInt(id, 10), c.First, c.User)
	return c
}

func (c chat) from() map[string]any {
	m := map[string]any{"id": c.ID, "is_bot": false, "first_name": c.First, "last_name": "Canarylast", "username": c.User}
	if c.Lang != "" {
		m["language_code"] = c.Lang
	}
	return m
}

func (c chat) chatObj() map[string]any {
	return map[string]any{"id": c.ID, "type": "private", "first_name": c.First, "last_name": "Canarylast", "username": c.User}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func messageUpdate(id int64, c chat, fields map[string]any) []byte {
	m := map[string]any{"message_id": id % 100000, "date": 1773136800, "from": c.from(), "chat": c.chatObj()}
	for k, v := range fields {
		m[k] = v
	}
	return mustJSON(map[string]any{"update_id": id, "message": m})
}

func textUpdate(id int64, c chat, text string) []byte {
	return messageUpdate(id, c, map[string]any{"text": text})
}

func pressUpdate(id int64, c chat, data string) []byte {
	return mustJSON(map[string]any{"update_id": id, "callback_query": map[string]any{
		"id": fmt.Sprintf("cbq%d", id), "from": c.from(), "chat_instance": "-8457745219046633470", "data": data,
		"message": map[string]any{"message_id": 40, "date": 1773136800, "chat": c.chatObj(), "text": "menu",
			"from": map[string]any{"id": 123, "is_bot": true, "first_name": "Corridor", "username": "corridor_bot"}},
	}})
}

// ---------------------------------------------------------------- posting

// post delivers body with the given secret header (nil: no header).
func (e *env) post(body []byte, secret *string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/channels/telegram", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if secret != nil {
		req.Header.Set(secretHeader, *secret)
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	return rec
}

func ptr(s string) *string { return &s }

// deliver posts body with the right secret and wants 200.
func (e *env) deliver(body []byte) {
	e.tb.Helper()
	if rec := e.post(body, ptr(webhookSecret)); rec.Code != http.StatusOK {
		e.tb.Fatalf("delivery answered %d, want 200", rec.Code)
	}
}

func (e *env) id() int64 { return e.nextID.Add(1) }

func (e *env) text(c chat, s string) { e.deliver(textUpdate(e.id(), c, s)) }

func (e *env) press(c chat, data string) { e.deliver(pressUpdate(e.id(), c, data)) }

// lastTo is the last message sent to c.
func (e *env) lastTo(c chat) sentMessage {
	e.tb.Helper()
	ms := e.api.sentMessages()
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].ChatID == strconv.FormatInt(c.ID, 10) {
			return ms[i]
		}
	}
	e.tb.Fatalf("nothing was sent to the chat")
	return sentMessage{}
}

func (e *env) en(id string) string { return e.cat.T("en", id, nil) }

// toTestimony brings c to the testimony step in English: /start, English,
// consent to reading, topic DET. The topic is the report's first sealed
// answer (seq 0).
func (e *env) toTestimony(c chat) {
	e.tb.Helper()
	e.text(c, "/start")
	e.press(c, "o:en")
	e.press(c, "o:read")
	e.press(c, "o:DET")
	if got := e.lastTo(c).Text; got != e.en("sms.testimony") {
		e.tb.Fatalf("not at the testimony step: %q", got)
	}
}

// ---------------------------------------------------------------- the store

func (e *env) count(table string) int {
	e.tb.Helper()
	var n int
	if err := e.ro.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		e.tb.Fatalf("count %s: %v", table, err)
	}
	return n
}

func (e *env) reports() []intake.ReportMeta {
	e.tb.Helper()
	rs, err := e.db.ListReports(context.Background(), intake.Filter{})
	if err != nil {
		e.tb.Fatal(err)
	}
	return rs
}

// onlyReport is the deployment's one report.
func (e *env) onlyReport() intake.ReportMeta {
	e.tb.Helper()
	rs := e.reports()
	if len(rs) != 1 {
		e.tb.Fatalf("%d reports, want 1", len(rs))
	}
	return rs[0]
}

func (e *env) entries(reportID string) []intake.Entry {
	e.tb.Helper()
	es, err := e.db.Entries(context.Background(), reportID)
	if err != nil {
		e.tb.Fatal(err)
	}
	return es
}

// deskReport opens a report the way a moderator does.
func (e *env) deskReport(m intake.ReportMeta) *moderation.Report {
	e.tb.Helper()
	ctx := context.Background()
	k, err := moderation.Unlock(ctx, e.db, []*crypto.Identity{e.mod})
	if err != nil {
		e.tb.Fatal(err)
	}
	r, err := k.Open(ctx, e.db, m, true)
	if err != nil {
		e.tb.Fatal(err)
	}
	return r
}

// custodianAnswer mirrors the runner's sealed custodian copy of one answer.
type custodianAnswer struct {
	Step    string `json:"step"`
	Value   []byte `json:"value"`
	Channel string `json:"channel"`
	Contact string `json:"contact_address,omitempty"`
	Tag     string `json:"tag,omitempty"`
}

func (e *env) custodian(reportID string, en intake.Entry) custodianAnswer {
	e.tb.Helper()
	p, err := crypto.Open(crypto.AgeIdentities([]*crypto.Identity{e.cust}), intake.EntryID(reportID, en.Seq), "custodian", en.Custodian)
	if err != nil {
		e.tb.Fatalf("custodian copy of entry %d: %v", en.Seq, err)
	}
	var a custodianAnswer
	if err := json.Unmarshal(p, &a); err != nil {
		e.tb.Fatal(err)
	}
	return a
}

// deskAnswer opens one answer entry with the desk key.
func (e *env) deskAnswer(m intake.ReportMeta, en intake.Entry) intake.AnswerPayload {
	e.tb.Helper()
	id := e.deskIdentity(m)
	p, err := crypto.Open(crypto.AgeIdentities([]*crypto.Identity{id}), intake.EntryID(m.ID, en.Seq), "desk", en.Desk)
	if err != nil {
		e.tb.Fatalf("desk copy of entry %d: %v", en.Seq, err)
	}
	var a intake.AnswerPayload
	if err := json.Unmarshal(p, &a); err != nil {
		e.tb.Fatal(err)
	}
	return a
}

func (e *env) deskIdentity(m intake.ReportMeta) *crypto.Identity {
	e.tb.Helper()
	k, err := moderation.Unlock(context.Background(), e.db, []*crypto.Identity{e.mod})
	if err != nil {
		e.tb.Fatal(err)
	}
	id, ok := k.Identity(m.DeskKeyID)
	if !ok {
		e.tb.Fatal("the moderator cannot open the report's desk key")
	}
	return id
}

// attachment opens an attachment entry with the desk key and checks the
// custodian can open it too.
func (e *env) attachment(m intake.ReportMeta, en intake.Entry) intake.AttachmentPayload {
	e.tb.Helper()
	var out intake.AttachmentPayload
	for _, id := range []*crypto.Identity{e.deskIdentity(m), e.cust} {
		p, err := crypto.Open(crypto.AgeIdentities([]*crypto.Identity{id}), intake.EntryID(m.ID, en.Seq), "attachment", en.Desk)
		if err != nil {
			e.tb.Fatalf("attachment %d: %v", en.Seq, err)
		}
		if err := json.Unmarshal(p, &out); err != nil {
			e.tb.Fatal(err)
		}
	}
	return out
}
