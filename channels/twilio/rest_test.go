package twilio_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/corridor-gateway/corridor/channels/twilio"
)

func restConfig(api string) twilio.Config {
	return twilio.Config{PublicURL: testPublicURL, AccountSID: testAccountSID, AuthToken: testAuthToken, APIURL: api, Timeout: 5 * time.Second}
}

// Send retries 429 and 5xx and succeeds on the 201, every attempt at the
// fake API with the account's basic auth.
func TestRESTSendRetries(t *testing.T) {
	api := newFakeAPI(t)
	api.script = func(w http.ResponseWriter, r *http.Request, n int) bool {
		switch n {
		case 1:
			w.Header().Set("Retry-After", "0")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"code":20429,"message":"Too Many Requests","status":429}`)
		case 2:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"code":20500,"message":"Internal Server Error","status":500}`)
		default:
			return false // the fake's 201
		}
		return true
	}
	start := time.Now()
	sid, err := twilio.NewREST(restConfig(api.URL())).Send(context.Background(), "+14155550100", "+12025550123", "Your code was received.")
	if err != nil {
		t.Fatalf("Send: %v (calls %+v)", err, api.Calls())
	}
	if sid != "SMfeedfacefeedfacefeedfacefeedface" {
		t.Errorf("sid %q", sid)
	}
	calls := api.Calls()
	if len(calls) != 3 {
		t.Fatalf("%d requests, want 3 (429, 500, 201)", len(calls))
	}
	want := "/2010-04-01/Accounts/" + testAccountSID + "/Messages.json"
	for i, c := range calls {
		if c.Method != http.MethodPost || c.Path != want {
			t.Errorf("request %d: %s %s, want POST %s", i, c.Method, c.Path, want)
		}
		if !c.AuthOK || c.User != testAccountSID || c.Pass != testAuthToken {
			t.Errorf("request %d: basic auth %q:%q", i, c.User, c.Pass)
		}
		if c.Form.Get("To") != "+12025550123" || c.Form.Get("From") != "+14155550100" || c.Form.Get("Body") != "Your code was received." {
			t.Errorf("request %d: form %v (a retry must resend the same body)", i, c.Form)
		}
	}
	t.Logf("Send succeeded after 2 retries in %v", time.Since(start).Round(time.Millisecond))
}

// Send gives up after the retry budget, with an error that names no
// number or text.
func TestRESTSendGivesUp(t *testing.T) {
	api := newFakeAPI(t)
	api.script = func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.Header().Set("Retry-After", "0")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"code":20503,"message":"Service Unavailable","status":503}`)
		return true
	}
	cfg := restConfig(api.URL())
	cfg.RetryBudget = 2
	_, err := twilio.NewREST(cfg).Send(context.Background(), "+14155550100", "+12025550123", "secret words")
	if err == nil {
		t.Fatal("Send succeeded against a failing API")
	}
	if n := len(api.Calls()); n != 3 {
		t.Errorf("%d requests, want 1 + 2 retries", n)
	}
	if s := err.Error(); strings.Contains(s, "12025550123") || strings.Contains(s, "secret words") {
		t.Errorf("the error carries content: %q", s)
	}
	// 4xx other than 429 is not retried.
	api2 := newFakeAPI(t)
	api2.script = func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"code":21211,"message":"Invalid 'To' Phone Number","status":400}`)
		return true
	}
	if _, err := twilio.NewREST(restConfig(api2.URL())).Send(context.Background(), "+14155550100", "+1", "x"); err == nil {
		t.Error("Send succeeded on a 400")
	}
	if n := len(api2.Calls()); n != 1 {
		t.Errorf("a 400 was retried: %d requests", n)
	}
}

// Redact posts Body= (empty) to the message resource.
func TestRESTRedact(t *testing.T) {
	api := newFakeAPI(t)
	sid := "SM0123456789abcdef0123456789abcdef"
	if err := twilio.NewREST(restConfig(api.URL())).Redact(context.Background(), sid); err != nil {
		t.Fatal(err)
	}
	calls := api.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d requests", len(calls))
	}
	c := calls[0]
	want := fmt.Sprintf("/2010-04-01/Accounts/%s/Messages/%s.json", testAccountSID, sid)
	if c.Method != http.MethodPost || c.Path != want {
		t.Errorf("%s %s, want POST %s", c.Method, c.Path, want)
	}
	if v, ok := c.Form["Body"]; !ok || len(v) != 1 || v[0] != "" || len(c.Form) != 1 {
		t.Errorf("form %v, want exactly Body=", c.Form)
	}
	if c.User != testAccountSID || c.Pass != testAuthToken {
		t.Errorf("basic auth %q:%q", c.User, c.Pass)
	}
}

// The API base may carry a path prefix (a proxy in front of Twilio).
func TestRESTBaseWithPath(t *testing.T) {
	api := newFakeAPI(t)
	if _, err := twilio.NewREST(restConfig(api.URL()+"/twilio/")).Send(context.Background(), "+14155550100", "+12025550123", "hi"); err != nil {
		t.Fatal(err)
	}
	calls := api.Calls()
	if len(calls) != 1 || calls[0].Path != "/twilio/2010-04-01/Accounts/"+testAccountSID+"/Messages.json" {
		t.Errorf("calls %+v", calls)
	}
}
