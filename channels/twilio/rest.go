package twilio

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	twclient "github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// REST sends through Twilio's 2010 API with every request pointed at
// TWILIO_API_URL, a timeout, and retries on 429 and 5xx.
type REST struct {
	api *openapi.ApiService
	cfg Config
}

// NewREST builds the outbound client.
func NewREST(cfg Config) *REST {
	cfg.defaults()
	base, _ := url.Parse(cfg.APIURL)
	c := &twclient.Client{
		Credentials: twclient.NewCredentials(cfg.AccountSID, cfg.AuthToken),
		HTTPClient: &http.Client{
			Timeout:   cfg.Timeout,
			Transport: &rewrite{base: base, next: http.DefaultTransport, retries: cfg.RetryBudget},
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
	c.SetAccountSid(cfg.AccountSID)
	rh := twclient.NewRequestHandler(c)
	rh.Edge, rh.Region = "", ""
	return &REST{api: openapi.NewApiService(rh), cfg: cfg}
}

// Send sends one message (used by later follow-ups; the gateway never
// writes first).
func (r *REST) Send(ctx context.Context, from, to, body string) (string, error) {
	p := &openapi.CreateMessageParams{}
	p.SetFrom(from).SetTo(to).SetBody(body)
	m, err := r.api.CreateMessage(p)
	if err != nil {
		return "", errors.New("twilio refused the message")
	}
	if m.Sid == nil {
		return "", errors.New("twilio gave no message id")
	}
	return *m.Sid, nil
}

// Redact blanks the provider's copy of a message body (DO-NO-HARM R10).
func (r *REST) Redact(ctx context.Context, sid string) error {
	empty := ""
	_, err := r.api.UpdateMessage(sid, &openapi.UpdateMessageParams{Body: &empty})
	if err != nil {
		return errors.New("twilio did not redact the message")
	}
	return nil
}

// rewrite points every request at the configured API base and retries
// 429 and 5xx answers a few times, with backoff (Retry-After honoured).
type rewrite struct {
	base    *url.URL
	next    http.RoundTripper
	retries int
}

func (t *rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		r := req.Clone(req.Context())
		r.URL.Scheme, r.URL.Host, r.Host = t.base.Scheme, t.base.Host, t.base.Host
		if t.base.Path != "" && t.base.Path != "/" {
			r.URL.Path = t.base.Path + r.URL.Path
		}
		if req.GetBody != nil && attempt > 0 {
			b, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = b
		}
		resp, err := t.next.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		if attempt >= t.retries || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500) || (req.Body != nil && req.GetBody == nil) {
			return resp, nil
		}
		wait := time.Duration(200<<attempt) * time.Millisecond
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 && s <= 10 {
			wait = time.Duration(s) * time.Second
		}
		resp.Body.Close()
		select {
		case <-time.After(wait):
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
}
