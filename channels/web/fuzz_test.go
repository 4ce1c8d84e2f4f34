package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/i18n"
	"github.com/corridor-gateway/corridor/intake"
)

// recorder stands in for the intake service in the parser's fuzz target and
// unit tests: it validates like the real one (Flow.Normalize) and records
// what the channel handed over.
type recorder struct {
	flow *intake.Flow
	got  []*intake.Submission
}

func (r *recorder) Submit(_ context.Context, s *intake.Submission) (intake.Receipt, error) {
	if !s.Consent.Has(intake.ScopeRead) {
		return intake.Receipt{}, intake.ErrNoConsent
	}
	if _, fe := r.flow.Normalize(s.Answers); fe != nil {
		return intake.Receipt{}, fe
	}
	r.got = append(r.got, s)
	return intake.Receipt{ReportID: "r", Code: "AAAA-CCCC-DDDD"}, nil
}

func (r *recorder) StatusByReceipt(context.Context, string) (string, string, error) {
	return "", "", intake.ErrNotFound
}

func (r *recorder) EraseByReceipt(context.Context, string) error { return intake.ErrNotFound }

func newTestHandler(t testing.TB) (*Handler, *recorder, *http.ServeMux) {
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	flow := intake.DefaultFlow()
	rec := &recorder{flow: flow}
	h := New(Config{MaxAttachment: 1 << 16, MaxAttachments: 2}, rec, flow, cat, crypto.SecretFromBytes(bytes.Repeat([]byte{7}, 32)), slog.New(slog.NewTextHandler(io.Discard, nil)))
	mux := http.NewServeMux()
	h.Register(mux)
	return h, rec, mux
}

const boundary = "XBOUNDARYX"

var tokenField = regexp.MustCompile(`name="token" value="([^"]+)"`)

func FuzzFormPost(f *testing.F) {
	f.Add([]byte("--XBOUNDARYX\r\nContent-Disposition: form-data; name=\"testimony\"\r\n\r\nhello\r\n--XBOUNDARYX--\r\n"))
	f.Add([]byte("--XBOUNDARYX\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"a.png\"\r\n\r\n\x89PNG\r\n\x1a\n\r\n--XBOUNDARYX--\r\n"))
	f.Add([]byte("--XBOUNDARYX\r\nContent-Disposition: form-data; name=\"testimony\"\r\n\r\na\r\n--XBOUNDARYX\r\nContent-Disposition: form-data; name=\"testimony\"\r\n\r\nb\r\n--XBOUNDARYX--\r\n"))
	f.Add([]byte("garbage"))
	h, rec, mux := newTestHandler(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		// A real token and cookie, so the fuzzer reaches the parser and
		// the submit path, not only the token check.
		cookie := "cccccccccccccccccccccccccccccccc"
		tok := h.makeToken(cookie, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn")
		prefix := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\n" + tok + "\r\n" +
			"--" + boundary + "\r\nContent-Disposition: form-data; name=\"consent.read\"\r\n\r\nyes\r\n"
		req := httptest.NewRequest("POST", "/report", strings.NewReader(prefix+string(body)))
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		req.AddCookie(&http.Cookie{Name: "corridor-form", Value: cookie})
		w := httptest.NewRecorder()
		before := len(rec.got)
		mux.ServeHTTP(w, req)
		switch w.Code {
		case 303:
			if len(rec.got) != before+1 {
				t.Fatal("303 without a submission")
			}
		case 400, 403, 413, 415:
			if len(rec.got) != before {
				t.Fatalf("status %d but a submission was handed to intake", w.Code)
			}
		default:
			t.Fatalf("unexpected status %d", w.Code)
		}
		if strings.Contains(w.Body.String(), "goroutine ") || strings.Contains(w.Body.String(), "runtime error") {
			t.Fatal("internal error text reached the visitor")
		}
	})
}

func TestTokenExpiresButKeepsTheText(t *testing.T) {
	h, rec, mux := newTestHandler(t)
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	h.Now = func() time.Time { return now }
	cookie := "cccccccccccccccccccccccccccccccc"
	tok := h.makeToken(cookie, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn")
	now = now.Add(5 * time.Hour)
	body := "token=" + tok + "&consent.read=yes&testimony=still+here"
	req := httptest.NewRequest("POST", "/report?lang=es", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "corridor-form", Value: cookie})
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "still here") || !strings.Contains(w.Body.String(), `lang="es"`) {
		t.Fatalf("expired token: status %d; the page must come back in Spanish with the text kept", w.Code)
	}
	if len(rec.got) != 0 {
		t.Fatal("an expired form was submitted")
	}
	// The page it returns carries a fresh token that works.
	m := tokenField.FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatal("no new token")
	}
	req = httptest.NewRequest("POST", "/report", strings.NewReader("token="+m[1]+"&consent.read=yes&testimony=still+here"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "corridor-form", Value: cookie})
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	if w.Code != 303 || len(rec.got) != 1 {
		t.Fatalf("resubmission with the fresh token: status %d", w.Code)
	}
}

func TestConfirmationShownOnceAndClearsTheBrowser(t *testing.T) {
	h, _, mux := newTestHandler(t)
	cookie := "cccccccccccccccccccccccccccccccc"
	tok := h.makeToken(cookie, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn")
	req := httptest.NewRequest("POST", "/report", strings.NewReader("token="+tok+"&consent.read=yes&testimony=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "corridor-form", Value: cookie})
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	if w.Code != 303 || w.Header().Get("Location") != "/report/done" {
		t.Fatalf("status %d, location %q", w.Code, w.Header().Get("Location"))
	}
	var done *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == "corridor-done" {
			done = c
		}
	}
	if done == nil || !done.HttpOnly || done.SameSite != http.SameSiteStrictMode {
		t.Fatalf("confirmation cookie: %+v", done)
	}
	get := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/report/done", nil)
		r.AddCookie(done)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	w = get()
	if w.Code != 200 || !strings.Contains(w.Body.String(), "AAAA-CCCC-DDDD") || !strings.Contains(w.Header().Get("Clear-Site-Data"), `"storage"`) {
		t.Fatalf("first view: %d %v", w.Code, w.Header())
	}
	if w = get(); w.Code != 303 || strings.Contains(w.Body.String(), "AAAA-CCCC-DDDD") {
		t.Fatalf("the receipt must be shown once only; second view status %d", w.Code)
	}
}

func TestSecureCookiesUseHostPrefix(t *testing.T) {
	cat, _ := i18n.New()
	h := New(Config{SecureCookies: true}, &recorder{flow: intake.DefaultFlow()}, intake.DefaultFlow(), cat, crypto.SecretFromBytes(make([]byte, 32)), slog.New(slog.NewTextHandler(io.Discard, nil)))
	mux := http.NewServeMux()
	h.Register(mux)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/report", nil))
	cs := w.Result().Cookies()
	if len(cs) != 1 || cs[0].Name != "__Host-corridor-form" || !cs[0].Secure || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode || cs[0].Path != "/" || cs[0].Domain != "" {
		t.Fatalf("cookie %+v", cs)
	}
}
