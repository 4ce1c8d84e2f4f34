package twilio_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corridor-gateway/corridor/channels/twilio"
	"github.com/corridor-gateway/corridor/intake"
)

// concurrentDuplicates is SECURITY-CASES W6 for MessageSid: 50 copies of one
// signed testimony message arrive at the same moment over real HTTP; all
// get 200 and the same TwiML, and the testimony is stored once.
func concurrentDuplicates(t *testing.T, e *env) {
	srv := httptest.NewServer(e.mux)
	defer srv.Close()
	from := e.newNumber()
	e.toTestimony(from)
	rid := e.reportOf(intake.ChannelSMS, from)
	before, beforeRows := e.kinds(rid), e.counts()
	text := "They held eleven of us in a locked truck for two days near the border post. CANARY-w6-0e1f2a"
	e.canary(text)
	form := smsForm(from, e.newSID(), text)
	body, sig := form.Encode(), sign(testAuthToken, testPublicURL+hookPath, form)
	const n = 50
	codes, replies := make([]int, n), make([]string, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+hookPath, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", sig)
			<-start
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			codes[i], replies[i] = resp.StatusCode, string(b)
		}(i)
	}
	close(start)
	wg.Wait()
	for i := range n {
		if codes[i] != 200 {
			t.Errorf("copy %d: status %d %q", i, codes[i], replies[i])
		}
		if replies[i] != replies[0] {
			t.Errorf("copy %d got another answer: %q vs %q", i, replies[i], replies[0])
		}
	}
	if msg := message(t, replies[0]); !strings.Contains(msg, "Received") {
		t.Errorf("answer %q", msg)
	}
	after, afterRows := e.kinds(rid), e.counts()
	if after["answer"] != before["answer"]+1 || after["attachment"] != before["attachment"] {
		t.Errorf("entries by kind %v -> %v: the testimony must be stored exactly once", before, after)
	}
	if afterRows.inbound != beforeRows.inbound+1 {
		t.Errorf("inbound rows %d -> %d, want one more", beforeRows.inbound, afterRows.inbound)
	}
	got := e.openEntries(rid, "answer")
	if n := bytes.Count(bytes.Join(got, nil), []byte("locked truck")); n != 1 {
		t.Errorf("the testimony opens %d times from the desk copies, want 1", n)
	}
}

func TestConcurrentDuplicates(t *testing.T) { concurrentDuplicates(t, newEnv(t, nil)) }

// oversized is SECURITY-CASES I2: a body over MaxBody is refused with 413
// before anything is parsed or stored, signed or not.
func oversized(t *testing.T, e *env) {
	from := e.newNumber()
	e.toTestimony(from)
	for _, c := range []struct {
		name string
		size int
	}{{"just over MaxBody", int(e.maxBody()) + 1}, {"1 MB single field", 1 << 20}, {"10 MB", 10 << 20}} {
		t.Run(c.name, func(t *testing.T) {
			form := smsForm(from, e.newSID(), "")
			pad := c.size - len(form.Encode()) + 1
			e.canary("CANARY-big-xxxxxxxxxxxxxxxx")
			form.Set("Body", "CANARY-big-"+strings.Repeat("x", max(pad, 1)))
			before := e.counts()
			res := e.post(hookPath, form)
			if res.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413", res.Code)
			}
			if c := e.counts(); c != before {
				t.Errorf("an oversized body changed the store: %+v -> %+v", before, c)
			}
		})
	}
	t.Run("100k form fields", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(smsForm(from, e.newSID(), "x").Encode())
		for i := 0; b.Len() <= int(e.maxBody()); i++ {
			b.WriteString("&f")
			b.WriteString(strings.Repeat("a", i%7))
			b.WriteString("=1")
		}
		before := e.counts()
		res := e.do(request(hookPath, b.String(), "c2ln"))
		if res.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", res.Code)
		}
		if c := e.counts(); c != before {
			t.Errorf("the store changed: %+v -> %+v", before, c)
		}
	})
	t.Run("a body at MaxBody is taken", func(t *testing.T) {
		form := smsForm(from, e.newSID(), "")
		form.Set("Body", "y")
		e.canary("CANARY-fit-yyyyyyyyyyyyyyyy")
		form.Set("Body", "CANARY-fit-"+strings.Repeat("y", int(e.maxBody())-len(form.Encode())-len("CANARY-fit-")+1))
		if n := len(form.Encode()); n != int(e.maxBody()) {
			t.Fatalf("test body is %d bytes", n)
		}
		if res := e.post(hookPath, form); res.Code != 200 {
			t.Fatalf("status %d", res.Code)
		}
	})
}

func (e *env) maxBody() int64 {
	if e.cfg.MaxBody != 0 {
		return e.cfg.MaxBody
	}
	return 64 << 10
}

func TestOversized(t *testing.T) { oversized(t, newEnv(t, nil)) }

func TestOversizedSmallCap(t *testing.T) {
	oversized(t, newEnv(t, func(c *twilio.Config) { c.MaxBody = 4 << 10 }))
}

func statusForm(sid, status string) url.Values {
	f := url.Values{"SmsSid": {sid}, "SmsStatus": {status}, "MessageStatus": {status}, "To": {"+12025550199"},
		"MessagingServiceSid": {"MG0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"}, "MessageSid": {sid}, "AccountSid": {testAccountSID},
		"From": {"+14155550100"}, "ApiVersion": {"2010-04-01"}}
	if status == "failed" || status == "undelivered" {
		f.Set("ErrorCode", "30003")
	}
	return f
}

// statusCallbacks: signed delivered/failed are recorded (a keyed hash of the
// MessageSid and the status word), an unknown word is 400, unsigned is 403.
func statusCallbacks(t *testing.T, e *env) {
	e.canary("+12025550199", "12025550199")
	for _, st := range []string{"delivered", "failed", "undelivered", "read"} {
		sid := e.newSID()
		before := e.counts()
		if res := e.post(statusPath, statusForm(sid, st)); res.Code != http.StatusNoContent || res.Body != "" {
			t.Errorf("%s: %d %q, want 204 and no body", st, res.Code, res.Body)
			continue
		}
		if c := e.counts(); c.deliveries != before.deliveries+1 || c.inbound != before.inbound || c.sessions != before.sessions {
			t.Errorf("%s: rows %+v -> %+v", st, before, c)
		}
		rows, err := e.raw.Query("SELECT sid_hash, status, day FROM deliveries")
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for rows.Next() {
			var h []byte
			var s, day string
			if err := rows.Scan(&h, &s, &day); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(h, []byte(sid)) || bytes.Contains(h, []byte(sid[2:])) || string(h) == sid {
				t.Errorf("deliveries.sid_hash holds the MessageSid in clear")
			}
			if s == st && len(day) == len("2006-01-02") {
				found = true
			}
			if strings.Contains(day, ":") {
				t.Errorf("deliveries.day %q is finer than a day", day)
			}
		}
		rows.Close()
		if !found {
			t.Errorf("%s: no deliveries row with that status", st)
		}
	}
	// A status update for the same message replaces, not adds.
	sid := e.newSID()
	e.post(statusPath, statusForm(sid, "sent"))
	before := e.counts()
	if res := e.post(statusPath, statusForm(sid, "delivered")); res.Code != 204 {
		t.Errorf("second status: %d", res.Code)
	}
	if c := e.counts(); c.deliveries != before.deliveries {
		t.Errorf("a second status for one message added a row")
	}
	for _, c := range []struct {
		name string
		req  func() *http.Request
		want int
	}{
		{"unknown status word", func() *http.Request {
			f := statusForm(e.newSID(), "exploded")
			return request(statusPath, f.Encode(), sign(testAuthToken, testPublicURL+statusPath, f))
		}, 400},
		{"no MessageSid", func() *http.Request {
			f := statusForm(e.newSID(), "delivered")
			f.Del("MessageSid")
			return request(statusPath, f.Encode(), sign(testAuthToken, testPublicURL+statusPath, f))
		}, 400},
		{"unsigned", func() *http.Request {
			return request(statusPath, statusForm(e.newSID(), "delivered").Encode(), "")
		}, 403},
		{"signed for the message webhook path", func() *http.Request {
			f := statusForm(e.newSID(), "delivered")
			return request(statusPath, f.Encode(), sign(testAuthToken, testPublicURL+hookPath, f))
		}, 403},
		{"oversized", func() *http.Request {
			f := statusForm(e.newSID(), "delivered")
			f.Set("Pad", strings.Repeat("p", int(e.maxBody())))
			return request(statusPath, f.Encode(), sign(testAuthToken, testPublicURL+statusPath, f))
		}, 413},
	} {
		before := e.counts()
		res := e.do(c.req())
		if res.Code != c.want {
			t.Errorf("%s: status %d, want %d", c.name, res.Code, c.want)
		}
		if c.want == 403 && res.Body != "" {
			t.Errorf("%s: a 403 has a body %q", c.name, res.Body)
		}
		if after := e.counts(); after != before {
			t.Errorf("%s: the store changed %+v -> %+v", c.name, before, after)
		}
	}
}

func TestStatusCallbacks(t *testing.T) { statusCallbacks(t, newEnv(t, nil)) }

// redactAfterCommit: with RedactBody the provider's copy of the message is
// blanked through the REST API after the commit.
func redactAfterCommit(t *testing.T, e *env) {
	from := e.newNumber()
	sid := e.newSID()
	form := smsForm(from, sid, "Hello")
	if res := e.post(hookPath, form); res.Code != 200 {
		t.Fatalf("status %d", res.Code)
	}
	want := "/2010-04-01/Accounts/" + testAccountSID + "/Messages/" + sid + ".json"
	redactions := func() []apiCall {
		var out []apiCall
		for _, c := range e.api.Calls() {
			if c.Method == http.MethodPost && c.Path == want {
				out = append(out, c)
			}
		}
		return out
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(redactions()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no redaction POST %s within 2 s; the fake saw %+v", want, e.api.Calls())
		}
		time.Sleep(10 * time.Millisecond)
	}
	c := redactions()[0]
	if v, ok := c.Form["Body"]; !ok || len(v) != 1 || v[0] != "" {
		t.Errorf("redaction form %v, want Body= (empty)", c.Form)
	}
	if c.User != testAccountSID || c.Pass != testAuthToken {
		t.Errorf("redaction without the account's basic auth")
	}
	// A retried delivery is answered from the store and not redacted again.
	if res := e.post(hookPath, form); res.Code != 200 {
		t.Fatalf("retry: status %d", res.Code)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(redactions()); n != 1 {
		t.Errorf("%d redaction POSTs for one message, want 1", n)
	}
}

func TestRedactAfterCommit(t *testing.T) {
	redactAfterCommit(t, newEnv(t, func(c *twilio.Config) { c.RedactBody = true }))
}

// The request context is cancelled when the client goes away; a message
// that was committed must still be answered the same when Twilio retries.
func TestRetryAfterClientGone(t *testing.T) {
	e := newEnv(t, nil)
	from := e.newNumber()
	e.toTestimony(from)
	form := smsForm(from, e.newSID(), "first part of what happened CANARY-gone-77aa")
	e.canary("first part of what happened CANARY-gone-77aa")
	ctx, cancel := context.WithCancel(context.Background())
	r := request(hookPath, form.Encode(), sign(testAuthToken, testPublicURL+hookPath, form)).WithContext(ctx)
	cancel()
	first := e.do(r)
	second := e.post(hookPath, form)
	if second.Code != 200 {
		t.Fatalf("retry: %d", second.Code)
	}
	if first.Code == 200 && first.Body != second.Body {
		t.Errorf("retry answered differently: %q vs %q", first.Body, second.Body)
	}
	if k := e.kinds(e.reportOf(intake.ChannelSMS, from)); k["answer"] != 2 {
		t.Errorf("entries %v: want the topic and one testimony answer", k)
	}
}

// STOP ends the conversation with an empty TwiML Response (nothing is
// sent back) and removes the session.
func TestStopIsSilent(t *testing.T) {
	e := newEnv(t, nil)
	from := e.newNumber()
	e.toTestimony(from)
	res := e.post(hookPath, smsForm(from, e.newSID(), "STOP"))
	if res.Code != 200 || res.Body != `<?xml version="1.0" encoding="UTF-8"?><Response></Response>` {
		t.Fatalf("STOP: %d %q, want an empty Response", res.Code, res.Body)
	}
	if s, _ := e.db.Session(t.Context(), e.secret.Pseudonym(intake.ChannelSMS, from)); s != nil {
		t.Error("the session survived STOP")
	}
}

// Only POST is routed: a GET does nothing (A3).
func TestGetIsNotAllowed(t *testing.T) {
	e := newEnv(t, nil)
	for _, p := range []string{hookPath, statusPath} {
		form := smsForm(e.newNumber(), e.newSID(), "Hello")
		r := httptest.NewRequest(http.MethodGet, "http://10.0.0.7:8080"+p+"?"+form.Encode(), nil)
		r.Header.Set("X-Twilio-Signature", sign(testAuthToken, testPublicURL+p+"?"+form.Encode(), url.Values{}))
		before := e.counts()
		if res := e.do(r); res.Code != http.StatusMethodNotAllowed {
			t.Errorf("GET %s: %d, want 405", p, res.Code)
		}
		if e.counts() != before {
			t.Errorf("GET %s changed the store", p)
		}
	}
}

// A sender's several messages arriving at once (distinct MessageSids at the
// testimony step) contend for one session. Every one is answered 200 and
// stored exactly once (a 503 would send it to Twilio's fallback; it is
// tolerated only if nothing was committed and the retry stores it).
func TestConcurrentMessagesOneSender(t *testing.T) {
	e := newEnv(t, nil)
	srv := httptest.NewServer(e.mux)
	defer srv.Close()
	from := e.newNumber()
	e.toTestimony(from)
	rid := e.reportOf(intake.ChannelSMS, from)
	before := e.kinds(rid)
	const n = 20
	forms := make([]url.Values, n)
	codes := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		forms[i] = smsForm(from, e.newSID(), "part "+string(rune('A'+i))+" of what happened")
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+hookPath, strings.NewReader(forms[i].Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", sign(testAuthToken, testPublicURL+hookPath, forms[i]))
			<-start
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}(i)
	}
	close(start)
	wg.Wait()
	retried := 0
	for i, c := range codes {
		switch c {
		case 200:
		case 503:
			retried++
			if res := e.post(hookPath, forms[i]); res.Code != 200 {
				t.Errorf("message %d: retry answered %d", i, res.Code)
			}
		default:
			t.Errorf("message %d: status %d", i, c)
		}
	}
	if retried > 0 {
		t.Errorf("%d of %d concurrent messages from one sender got 503 (session contention); they were stored on retry, but Twilio does not retry messaging webhooks by default", retried, n)
	}
	if got := e.kinds(rid)["answer"] - before["answer"]; got != n {
		t.Errorf("%d answers stored for %d messages", got, n)
	}
}
