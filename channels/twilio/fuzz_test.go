package twilio_test

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/corridor-gateway/corridor/channels/twilio"
)

// FuzzWebhook sends arbitrary form bodies, correctly signed, through the
// real handler, runner and store (SECURITY-CASES I1): no panic, a status
// from the documented set, an empty 403, and well-formed TwiML on 200.
// The seed corpus is in testdata/fuzz/FuzzWebhook.
func FuzzWebhook(f *testing.F) {
	e := newEnv(f, nil)
	f.Add("From=%2B12025550100&MessageSid=SM00000000000000000000000000000001&Body=Hello")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			form = url.Values{}
		}
		r := request(hookPath, body, sign(testAuthToken, testPublicURL+hookPath, form))
		rec := httptest.NewRecorder()
		e.mux.ServeHTTP(rec, r)
		switch rec.Code {
		case 200:
			var tw struct {
				XMLName xml.Name `xml:"Response"`
			}
			if err := xml.Unmarshal(rec.Body.Bytes(), &tw); err != nil {
				t.Fatalf("200 with a body that is not TwiML: %q", rec.Body.String())
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/xml; charset=utf-8" {
				t.Fatalf("Content-Type %q", ct)
			}
		case 403:
			if rec.Body.Len() != 0 {
				t.Fatalf("a 403 with a body: %q", rec.Body.String())
			}
		case 400, 413, 503:
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		if err == nil && rec.Code == 403 {
			dup := false
			for _, v := range form {
				dup = dup || len(v) != 1
			}
			if !dup {
				t.Fatalf("a correctly signed form without repeated keys was refused: %q", body)
			}
		}
		if rec.Code == http.StatusServiceUnavailable {
			t.Logf("503 for %q", body)
		}
	})
}

var e164 = regexp.MustCompile(`^\+?[0-9]{3,15}$`)

// FuzzNormalizeE164: never panics; the result is "" or an optional + and
// 3 to 15 ASCII digits, the digits of the input in order, and normalising
// it again changes nothing.
func FuzzNormalizeE164(f *testing.F) {
	f.Add("+1 (415) 555-0100")
	f.Fuzz(func(t *testing.T, s string) {
		out := twilio.NormalizeE164(s)
		if out == "" {
			return
		}
		if !e164.MatchString(out) {
			t.Fatalf("NormalizeE164(%q) = %q", s, out)
		}
		if again := twilio.NormalizeE164(out); again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, out, again)
		}
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, s)
		if strings.TrimPrefix(out, "+") != digits {
			t.Fatalf("NormalizeE164(%q) = %q: the digits changed (%q)", s, out, digits)
		}
		if strings.HasPrefix(out, "+") != strings.HasPrefix(strings.TrimSpace(s), "+") {
			t.Fatalf("NormalizeE164(%q) = %q: the + moved", s, out)
		}
	})
}
