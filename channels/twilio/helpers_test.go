package twilio_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"database/sql"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corridor-gateway/corridor/channels/twilio"
	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/i18n"
	"github.com/corridor-gateway/corridor/intake"
	"github.com/corridor-gateway/corridor/intake/sqlite"
	"github.com/corridor-gateway/corridor/moderation"
)

// Test credentials. Twilio requires alphanumeric credentials (error 21224).
const (
	testAccountSID = "AC5f3e9b7c2d1a4e6f8091a2b3c4d5e6f7"
	testAuthToken  = "9d2f7a61c4b84e03a5f6e7d8c9b0a1f2"
	testPublicURL  = "https://intake.example.org"
	hookPath       = "/channels/twilio"
	statusPath     = "/channels/twilio/status"
	// recordedAPI is the API host in the recorded payloads under testdata;
	// the tests point it at the fake.
	recordedAPI = "https://api.twilio.com"
)

// sign computes X-Twilio-Signature as Twilio documents it: HMAC-SHA1 with
// the auth token over the full URL followed by every POST parameter's name
// and value, sorted by name, base64. It is written here, independently of
// twilio-go, on purpose.
func sign(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		b.WriteString(k)
		if len(form[k]) > 0 {
			b.WriteString(form[k][0])
		}
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// syncBuffer is a log sink shared by handler goroutines.
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

// apiCall is one request the fake Twilio API saw.
type apiCall struct {
	Method, Path string
	User, Pass   string
	AuthOK       bool
	Form         url.Values
}

type fakeMedia struct {
	ContentType string
	Data        []byte
	Chunked     bool   // no Content-Length
	Redirect    string // answer 302 to this URL instead
}

// fakeAPI is an httptest stand-in for api.twilio.com: media GETs, message
// creates and updates. Script, when set, answers first.
type fakeAPI struct {
	srv    *httptest.Server
	mu     sync.Mutex
	calls  []apiCall
	media  map[string]fakeMedia
	script func(w http.ResponseWriter, r *http.Request, n int) bool
}

func newFakeAPI(t testing.TB) *fakeAPI {
	f := &fakeAPI{media: map[string]fakeMedia{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) URL() string { return f.srv.URL }

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	u, p, ok := r.BasicAuth()
	f.mu.Lock()
	f.calls = append(f.calls, apiCall{Method: r.Method, Path: r.URL.Path, User: u, Pass: p, AuthOK: ok, Form: r.PostForm})
	n := len(f.calls)
	m, hasMedia := f.media[r.URL.Path]
	script := f.script
	f.mu.Unlock()
	if script != nil && script(w, r, n) {
		return
	}
	switch {
	case r.Method == http.MethodGet && hasMedia:
		if m.Redirect != "" {
			http.Redirect(w, r, m.Redirect, http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", m.ContentType)
		if m.Chunked {
			w.WriteHeader(http.StatusOK)
			for i := 0; i < len(m.Data); i += 512 {
				w.Write(m.Data[i:min(i+512, len(m.Data))])
				w.(http.Flusher).Flush()
			}
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(m.Data)))
		w.Write(m.Data)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/Messages.json"):
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"sid":"SMfeedfacefeedfacefeedfacefeedface","status":"queued"}`)
	case r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/Messages/"):
		sid := strings.TrimSuffix(r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:], ".json")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"sid":%q,"body":""}`, sid)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeAPI) Calls() []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]apiCall(nil), f.calls...)
}

func (f *fakeAPI) gets() []apiCall {
	var out []apiCall
	for _, c := range f.Calls() {
		if c.Method == http.MethodGet {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeAPI) addMedia(path string, m fakeMedia) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.media[path] = m
}

// mediaPath is where Twilio keeps a message's media item.
func mediaPath(msgSid, mediaSid string) string {
	return "/2010-04-01/Accounts/" + testAccountSID + "/Messages/" + msgSid + "/Media/" + mediaSid
}

// countingServer is a host that must never be contacted.
type countingServer struct {
	*httptest.Server
	hits atomic.Int64
	auth atomic.Int64 // requests that carried an Authorization header
}

func newCountingServer(t testing.TB, body []byte) *countingServer {
	c := &countingServer{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		if r.Header.Get("Authorization") != "" {
			c.auth.Add(1)
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(body)
	}))
	t.Cleanup(c.Server.Close)
	return c
}

// timings is an intake.Observer that sums the seal and commit times the
// runner reports (operational figures only, as the metrics registry).
type timings struct {
	seals, sealNs, commits, commitNs atomic.Int64
}

func (o *timings) Intake(string, string)  {}
func (o *timings) Seal(d time.Duration)   { o.seals.Add(1); o.sealNs.Add(int64(d)) }
func (o *timings) Commit(d time.Duration) { o.commits.Add(1); o.commitNs.Add(int64(d)) }

// env is a real Corridor intake behind the Twilio channel: a SQLite store
// in a temp dir, real age keys, the real catalogue and runner; only the
// Twilio API is a fake.
type env struct {
	t       testing.TB
	dbPath  string
	db      *sqlite.DB
	raw     *sql.DB
	secret  *crypto.Secret
	svc     *intake.Service
	runner  *intake.Runner
	h       *twilio.Handler
	mux     *http.ServeMux
	api     *fakeAPI
	obs     *timings
	cfg     twilio.Config
	logs    *syncBuffer
	modID   *crypto.Identity
	clock   atomic.Int64 // offset added to the wall clock (ns)
	sids    atomic.Int64
	numbers atomic.Int64

	sweep bool // part of the P1 sweep: known BUG cases are reported by their own test

	mu       sync.Mutex
	canaries []string // phone numbers, cities, bodies that must never be at rest or in logs
}

var fixedSecret = bytes.Repeat([]byte{0x5a}, 32)

func newEnv(t testing.TB, edit func(*twilio.Config)) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, logs: &syncBuffer{}}
	e.api = newFakeAPI(t)
	e.dbPath = filepath.Join(t.TempDir(), "corridor.db")
	db, err := sqlite.Open(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
	t.Cleanup(func() { db.Close() })
	e.modID, err = crypto.Generate(crypto.X25519)
	if err != nil {
		t.Fatal(err)
	}
	keyID, rcpt, wraps, err := moderation.NewDeskKey(crypto.X25519, []string{e.modID.Recipient})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddDesk(ctx, intake.DefaultDesk, keyID, rcpt, wraps, "test"); err != nil {
		t.Fatal(err)
	}
	cust, err := crypto.Generate(crypto.X25519)
	if err != nil {
		t.Fatal(err)
	}
	custKS, err := crypto.NewKeySet(cust.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	e.secret = crypto.SecretFromBytes(fixedSecret)
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	e.obs = &timings{}
	e.svc = &intake.Service{Flow: intake.DefaultFlow(), Store: db, Secret: e.secret, Custodian: custKS, Observer: e.obs,
		Now: func() time.Time { return time.Now().Add(time.Duration(e.clock.Load())) }}
	if err := e.svc.CheckKeys(ctx); err != nil {
		t.Fatal(err)
	}
	e.runner = &intake.Runner{Svc: e.svc, Store: db, Text: cat, Org: "Test Org",
		MoreURL: func(lang string) string { return testPublicURL + "/report?lang=" + lang }}
	e.cfg = twilio.Config{PublicURL: testPublicURL, AccountSID: testAccountSID, AuthToken: testAuthToken,
		APIURL: e.api.URL(), MaxMedia: 16 << 10, Timeout: 3 * time.Second}
	if edit != nil {
		edit(&e.cfg)
	}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.h, err = twilio.New(e.cfg, e.runner, db, e.secret, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	e.mux = http.NewServeMux()
	e.h.Register(e.mux)
	e.raw, err = sql.Open("sqlite", "file:"+e.dbPath+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.raw.Close() })
	return e
}

// canary remembers strings that must never be found at rest or in logs.
func (e *env) canary(s ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.canaries = append(e.canaries, s...)
}

func (e *env) canaryList() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.canaries...)
}

// count counts the rows of a table, read from the file as an operator would.
func (e *env) count(table string) int {
	e.t.Helper()
	var n int
	if err := e.raw.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		e.t.Fatalf("count %s: %v", table, err)
	}
	return n
}

type rowCounts struct{ inbound, sessions, reports, entries, deliveries int }

func (e *env) counts() rowCounts {
	return rowCounts{e.count("inbound"), e.count("sessions"), e.count("reports"), e.count("entries"), e.count("deliveries")}
}

var sidPrefix = fmt.Sprintf("%016x", uint64(time.Now().UnixNano()))

// newSID returns a fresh MessageSid (SM + 32 hex digits).
func (e *env) newSID() string {
	return fmt.Sprintf("SM%s%016x", sidPrefix, e.sids.Add(1))
}

// newNumber returns a fresh (fictional) sender number, remembered as a canary.
func (e *env) newNumber() string {
	n := fmt.Sprintf("+1202555%04d", e.numbers.Add(1)%10000)
	e.canary(n, strings.TrimPrefix(n, "+"))
	return n
}

// smsForm is a realistic inbound SMS webhook body.
func smsForm(from, sid, body string) url.Values {
	return url.Values{
		"ToCountry": {"US"}, "ToState": {"CA"}, "SmsMessageSid": {sid}, "NumMedia": {"0"}, "ToCity": {"SAN FRANCISCO"},
		"FromZip": {"90012"}, "SmsSid": {sid}, "FromState": {"CA"}, "SmsStatus": {"received"}, "FromCity": {"LOS ANGELES"},
		"Body": {body}, "FromCountry": {"US"}, "To": {"+14155550100"}, "MessagingServiceSid": {"MG0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"},
		"ToZip": {"94105"}, "NumSegments": {"1"}, "ReferralNumMedia": {"0"}, "MessageSid": {sid}, "AccountSid": {testAccountSID},
		"From": {from}, "ApiVersion": {"2010-04-01"},
	}
}

// request builds a webhook request as it reaches the gateway behind its
// proxy: an internal host, the path Twilio called.
func request(target, body, sig string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://10.0.0.7:8080"+target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		r.Header.Set("X-Twilio-Signature", sig)
	}
	return r
}

type response struct {
	Code  int
	Body  string
	Ctype string
}

func (e *env) do(r *http.Request) response {
	e.t.Helper()
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, r)
	return response{rec.Code, rec.Body.String(), rec.Header().Get("Content-Type")}
}

// post signs form over the public URL of path and delivers it.
func (e *env) post(path string, form url.Values) response {
	e.t.Helper()
	return e.do(request(path, form.Encode(), sign(testAuthToken, testPublicURL+path, form)))
}

// message extracts the text of a TwiML reply.
func message(t testing.TB, twiml string) string {
	t.Helper()
	var tw struct {
		XMLName xml.Name `xml:"Response"`
		Message []string `xml:"Message"`
	}
	if err := xml.Unmarshal([]byte(twiml), &tw); err != nil {
		t.Fatalf("the reply is not TwiML: %v: %q", err, twiml)
	}
	return strings.Join(tw.Message, "\n")
}

// say sends one signed SMS from a sender and returns the reply text.
func (e *env) say(from, body string) string {
	e.t.Helper()
	sid := e.newSID()
	res := e.post(hookPath, smsForm(from, sid, body))
	if res.Code != http.StatusOK {
		e.t.Fatalf("webhook %q: status %d %q", body, res.Code, res.Body)
	}
	return message(e.t, res.Body)
}

const testimonyPrompt = "Write what happened"

// toTestimony walks a new sender through language, consent and topic to
// the testimony step.
func (e *env) toTestimony(from string) {
	e.t.Helper()
	if got := e.say(from, "Hello"); !strings.Contains(got, "English") {
		e.t.Fatalf("first reply is not the language menu: %q", got)
	}
	if got := e.say(from, "English"); !strings.Contains(got, "3 ") {
		e.t.Fatalf("no consent menu: %q", got)
	}
	e.say(from, "1")
	if got := e.say(from, "4"); !strings.Contains(got, testimonyPrompt) {
		e.t.Fatalf("not at the testimony step: %q", got)
	}
}

// reportOf returns the report a sender's conversation writes to.
func (e *env) reportOf(channel, from string) string {
	e.t.Helper()
	s, err := e.db.Session(context.Background(), e.secret.Pseudonym(channel, from))
	if err != nil || s == nil {
		e.t.Fatalf("no session for the sender: %v", err)
	}
	if s.ReportID == "" {
		e.t.Fatal("the session has no report yet")
	}
	return s.ReportID
}

// kinds counts a report's entries by kind.
func (e *env) kinds(reportID string) map[string]int {
	e.t.Helper()
	es, err := e.db.Entries(context.Background(), reportID)
	if err != nil {
		e.t.Fatal(err)
	}
	m := map[string]int{}
	for _, x := range es {
		m[x.Kind]++
	}
	return m
}

// openEntries decrypts a report's entries of one kind with the moderator's
// identity (desk copy).
func (e *env) openEntries(reportID, kind string) [][]byte {
	e.t.Helper()
	ctx := context.Background()
	kr, err := moderation.Unlock(ctx, e.db, []*crypto.Identity{e.modID})
	if err != nil {
		e.t.Fatal(err)
	}
	d, err := e.db.ReportDesk(ctx, reportID)
	if err != nil {
		e.t.Fatal(err)
	}
	id, ok := kr.Identity(d.KeyID)
	if !ok {
		e.t.Fatal("the moderator cannot open the report's desk key")
	}
	es, err := e.db.Entries(ctx, reportID)
	if err != nil {
		e.t.Fatal(err)
	}
	var out [][]byte
	for _, x := range es {
		if x.Kind != kind {
			continue
		}
		sealKind := kind
		if kind == "answer" {
			sealKind = "desk" // the desk copy of an answer
		}
		p, err := crypto.Open(crypto.AgeIdentities([]*crypto.Identity{id}), intake.EntryID(reportID, x.Seq), sealKind, x.Desk)
		if err != nil {
			e.t.Fatalf("entry %d does not open: %v", x.Seq, err)
		}
		out = append(out, p)
	}
	return out
}
