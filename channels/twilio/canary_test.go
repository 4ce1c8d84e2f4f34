package twilio_test

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corridor-gateway/corridor/channels/twilio"
	"github.com/corridor-gateway/corridor/intake"
)

// panicking wraps the real runner and panics on a trigger word, to force
// the handler's panic path.
type panicking struct{ next twilio.Conversations }

func (p panicking) Handle(ctx context.Context, in *intake.Inbound) (intake.Reply, bool, error) {
	if strings.Contains(in.Text, "PANIC-TRIGGER") {
		panic("forced panic in the conversation runner")
	}
	return p.next.Handle(ctx, in)
}

// grepFiles returns which needles occur in which of the files.
func grepFiles(t *testing.T, files []string, needles []string) []string {
	t.Helper()
	var hits []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, n := range needles {
			if n != "" && bytes.Contains(b, []byte(n)) {
				hits = append(hits, filepath.Base(f)+": "+n)
			}
		}
	}
	return hits
}

// TestCanarySweep is SECURITY-CASES P1 (and C1 for this channel): every
// scenario above runs against one store with provider redaction on, the
// error paths are forced (signature failures, 413, media failures, a store
// error, a panic), and then the database, its -wal and -shm, and the logs
// hold none of the phone numbers, cities, profile names, IPs or testimony.
func TestCanarySweep(t *testing.T) {
	e := newEnv(t, func(c *twilio.Config) { c.RedactBody = true })
	e.sweep = true
	e.canary("LOS ANGELES", "90012", "203.0.113.9", "192.0.2.1")
	for _, c := range goldenCases {
		t.Run("golden/"+c.name, func(t *testing.T) { runGolden(t, e, c, false) })
	}
	t.Run("signature matrix", func(t *testing.T) { signatureMatrix(t, e) })
	t.Run("replay", func(t *testing.T) { replay(t, e) })
	t.Run("concurrent duplicates", func(t *testing.T) { concurrentDuplicates(t, e) })
	t.Run("oversized", func(t *testing.T) { oversized(t, e) })
	t.Run("media", func(t *testing.T) { mediaSSRF(t, e) })
	t.Run("status callbacks", func(t *testing.T) { statusCallbacks(t, e) })
	t.Run("redaction", func(t *testing.T) { redactAfterCommit(t, e) })
	t.Run("panic", func(t *testing.T) {
		ph, err := twilio.New(e.cfg, panicking{e.runner}, e.db, e.secret, nil,
			slog.New(slog.NewJSONHandler(e.logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		ph.Register(mux)
		srv := httptest.NewUnstartedServer(mux)
		srv.Config.ErrorLog = log.New(e.logs, "http: ", 0)
		srv.Start()
		defer srv.Close()
		from := e.newNumber()
		e.toTestimony(from)
		text := "PANIC-TRIGGER they beat my cousin CANARY-panic-6b2e"
		e.canary(text[len("PANIC-TRIGGER "):])
		form := smsForm(from, e.newSID(), text)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+hookPath, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sign(testAuthToken, testPublicURL+hookPath, form))
		if resp, err := srv.Client().Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				t.Errorf("a panicking request was answered 200")
			}
		}
	})

	files := []string{e.dbPath, e.dbPath + "-wal", e.dbPath + "-shm"}
	canaries := e.canaryList()
	if len(canaries) < 40 {
		t.Fatalf("only %d canaries collected: the sweep did not run", len(canaries))
	}
	if hits := grepFiles(t, files, canaries); len(hits) > 0 {
		t.Errorf("plaintext at rest (db open): %v", hits)
	}
	// Self-check: the sweep does see what is stored in clear.
	if hits := grepFiles(t, files, []string{"incomplete", "desk.add"}); len(hits) == 0 {
		t.Fatal("the grep found not even the clear metadata: it is not reading the store")
	}

	// A store error: the webhook gets 503 (Twilio retries) and the log says
	// so without content.
	e.db.Close()
	from := e.newNumber()
	text := "after the store closed CANARY-dberr-9f1d"
	e.canary(text)
	if res := e.post(hookPath, smsForm(from, e.newSID(), text)); res.Code != http.StatusServiceUnavailable {
		t.Errorf("a store error answered %d, want 503", res.Code)
	}
	if res := e.post(statusPath, statusForm(e.newSID(), "delivered")); res.Code != http.StatusServiceUnavailable {
		t.Errorf("a store error on a status callback answered %d, want 503", res.Code)
	}

	canaries = e.canaryList()
	if hits := grepFiles(t, files, canaries); len(hits) > 0 {
		t.Errorf("plaintext at rest (db closed): %v", hits)
	}
	var all []string
	filepath.Walk(filepath.Dir(e.dbPath), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			all = append(all, p)
		}
		return nil
	})
	if hits := grepFiles(t, all, canaries); len(hits) > 0 {
		t.Errorf("plaintext in the data dir: %v", hits)
	}
	logs := e.logs.String()
	for _, want := range []string{"twilio webhook refused", "twilio message taken", "twilio message not stored", "forced panic"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log capture missed %q: the error paths did not run", want)
		}
	}
	for _, c := range canaries {
		if c != "" && strings.Contains(logs, c) {
			t.Errorf("%q in the logs", c)
		}
	}
	for _, c := range []string{testAuthToken, "MessageSid", "whatsapp:+"} {
		if strings.Contains(logs, c) {
			t.Errorf("%q in the logs", c)
		}
	}
	t.Logf("%d canaries, %d log bytes, files %v", len(canaries), len(logs), all)
}
