package twilio

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	twclient "github.com/twilio/twilio-go/client"

	"github.com/corridor-gateway/corridor/intake"
	"github.com/corridor-gateway/corridor/sms"
)

// Config is the Twilio channel's configuration.
type Config struct {
	PublicURL   string // CORRIDOR_PUBLIC_URL: Twilio signs this URL, not the Host header
	AccountSID  string
	AuthToken   string
	APIURL      string // TWILIO_API_URL (default https://api.twilio.com)
	MaxBody     int64
	MaxMedia    int64 // one media item
	MaxMediaN   int
	Timeout     time.Duration // media fetch and REST calls
	RedactBody  bool          // after the commit, blank the provider's copy of the message body
	MediaHosts  []string      // other hosts a media URL may redirect to (Twilio's media CDN); never fetched first
	RetryBudget int           // REST retries on 429/5xx
}

func (c *Config) defaults() {
	if c.APIURL == "" {
		c.APIURL = "https://api.twilio.com"
	}
	c.APIURL = strings.TrimRight(c.APIURL, "/")
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.MaxBody == 0 {
		c.MaxBody = 64 << 10
	}
	if c.MaxMedia == 0 {
		c.MaxMedia = 5 << 20
	}
	if c.MaxMediaN == 0 {
		c.MaxMediaN = 10
	}
	if c.Timeout == 0 {
		c.Timeout = 15 * time.Second
	}
	if c.RetryBudget == 0 {
		c.RetryBudget = 3
	}
}

// Conversations is the runner.
type Conversations interface {
	Handle(ctx context.Context, in *intake.Inbound) (intake.Reply, bool, error)
}

// Deliveries records status callbacks.
type Deliveries interface {
	RecordDelivery(ctx context.Context, sidHash []byte, status string, day time.Time) error
}

// Hasher turns a message id into a keyed hash.
type Hasher interface {
	IdempotencyKey(channel, providerID string) []byte
}

// Counter counts delivery outcomes (metrics).
type Counter interface {
	Delivery(status string)
}

// Handler is the Twilio channel.
type Handler struct {
	cfg        Config
	conv       Conversations
	deliveries Deliveries
	hash       Hasher
	count      Counter
	validator  twclient.RequestValidator
	log        *slog.Logger
	http       *http.Client // media fetches: API host only
	rest       *REST
	Now        func() time.Time
}

// New returns the channel.
func New(cfg Config, conv Conversations, deliveries Deliveries, hash Hasher, count Counter, log *slog.Logger) (*Handler, error) {
	cfg.defaults()
	if cfg.AuthToken == "" || cfg.PublicURL == "" {
		return nil, errors.New("the Twilio channel needs TWILIO_AUTH_TOKEN and CORRIDOR_PUBLIC_URL")
	}
	api, err := url.Parse(cfg.APIURL)
	if err != nil || api.Host == "" {
		return nil, errors.New("TWILIO_API_URL is not a URL")
	}
	h := &Handler{cfg: cfg, conv: conv, deliveries: deliveries, hash: hash, count: count,
		validator: twclient.NewRequestValidator(cfg.AuthToken), log: log, Now: time.Now}
	allowed := map[string]bool{api.Host: true}
	for _, m := range cfg.MediaHosts {
		allowed[m] = true
	}
	h.http = &http.Client{
		Timeout: cfg.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > 3 || !allowed[req.URL.Host] || req.URL.Scheme != api.Scheme && api.Scheme == "https" {
				return errors.New("media redirect outside the allowed hosts")
			}
			return nil
		},
	}
	h.rest = NewREST(cfg)
	return h, nil
}

// REST returns the outbound client.
func (h *Handler) REST() *REST { return h.rest }

// Register adds the channel's routes.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /channels/twilio", h.webhook)
	mux.HandleFunc("POST /channels/twilio/status", h.status)
}

var errForbidden = errors.New("forbidden")

// verify reads the bounded body, checks the signature over the parsed form
// (or the body hash for JSON), and returns the form.
func (h *Handler) verify(w http.ResponseWriter, r *http.Request) (url.Values, int) {
	sig := r.Header.Get("X-Twilio-Signature")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, http.StatusRequestEntityTooLarge
		}
		return nil, http.StatusBadRequest
	}
	if sig == "" {
		return nil, http.StatusForbidden
	}
	full := h.cfg.PublicURL + r.URL.RequestURI()
	if r.URL.Query().Has("bodySHA256") {
		// A JSON body: the signature covers the URL, whose bodySHA256
		// covers the body.
		if !h.validator.ValidateBody(full, body, sig) {
			return nil, http.StatusForbidden
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, http.StatusBadRequest
		}
		form := url.Values{}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				form.Set(k, v)
			case float64:
				form.Set(k, strconv.FormatFloat(v, 'f', -1, 64))
			case bool:
				form.Set(k, strconv.FormatBool(v))
			}
		}
		return form, 0
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		return nil, http.StatusForbidden
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, http.StatusForbidden
	}
	params := make(map[string]string, len(form))
	for k, v := range form {
		// The validator keeps one value per key: a repeated key could hide
		// a second, unsigned value.
		if len(v) != 1 {
			return nil, http.StatusForbidden
		}
		params[k] = v[0]
	}
	if !h.validator.Validate(full, params, sig) {
		return nil, http.StatusForbidden
	}
	return form, 0
}

func (h *Handler) webhook(w http.ResponseWriter, r *http.Request) {
	form, status := h.verify(w, r)
	if status != 0 {
		h.log.Info("twilio webhook refused", "status", status)
		w.WriteHeader(status)
		return
	}
	in, err := h.parse(form)
	if err != nil {
		h.log.Info("twilio webhook malformed")
		http.Error(w, "malformed message", http.StatusBadRequest)
		return
	}
	reply, dup, err := h.conv.Handle(r.Context(), in)
	if err != nil {
		// Not committed: Twilio will retry.
		h.log.Error("twilio message not stored", "error_kind", "store")
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	h.log.Info("twilio message taken", "channel", in.Channel, "duplicate", dup)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(TwiML(reply))
	if h.cfg.RedactBody && !dup {
		sid := in.ProviderID
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*h.cfg.Timeout)
			defer cancel()
			if err := h.rest.Redact(ctx, sid); err != nil {
				h.log.Warn("twilio body redaction failed", "error_kind", "provider")
			}
		}()
	}
}

// parse builds the Inbound. FromCity, FromState, FromZip, FromCountry and
// the rest of the provider's metadata are never read.
func (h *Handler) parse(form url.Values) (*intake.Inbound, error) {
	sid := form.Get("MessageSid")
	if sid == "" {
		sid = form.Get("SmsMessageSid")
	}
	from := form.Get("From")
	if sid == "" || from == "" || len(sid) > 64 {
		return nil, errors.New("missing MessageSid or From")
	}
	ch := intake.ChannelSMS
	if strings.HasPrefix(from, "whatsapp:") {
		ch = intake.ChannelWhatsApp
		from = strings.TrimPrefix(from, "whatsapp:")
	}
	addr := NormalizeE164(from)
	if addr == "" {
		return nil, errors.New("From is not a phone number")
	}
	in := &intake.Inbound{Channel: ch, Address: addr, ProviderID: sid, Text: form.Get("Body"), Hints: LanguageHints(addr)}
	n, _ := strconv.Atoi(form.Get("NumMedia"))
	if n > h.cfg.MaxMediaN {
		n = h.cfg.MaxMediaN
		in.MediaError = "too_large"
	}
	var urls []string
	for i := 0; i < n; i++ {
		urls = append(urls, form.Get("MediaUrl"+strconv.Itoa(i)))
	}
	if len(urls) > 0 {
		in.LoadMedia = func(ctx context.Context) ([]intake.Attachment, string) {
			var media []intake.Attachment
			merr := ""
			for _, u := range urls {
				a, err := h.fetchMedia(ctx, u)
				switch {
				case errors.Is(err, errTooLarge):
					merr = "too_large"
				case err != nil:
					if merr == "" {
						merr = "failed"
					}
				default:
					media = append(media, *a)
				}
			}
			return media, merr
		}
	}
	return in, nil
}

// NormalizeE164 keeps + and digits; "" if that is not a plausible number.
func NormalizeE164(s string) string {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return ""
		}
	}
	out := b.String()
	digits := strings.TrimPrefix(out, "+")
	if len(digits) < 3 || len(digits) > 15 {
		return ""
	}
	return out
}

// TwiML renders a reply as a TwiML document in UTF-8. A silent reply (STOP)
// is an empty Response: nothing is sent.
func TwiML(rep intake.Reply) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	if rep.Silent || rep.Text == "" {
		b.WriteString("<Response></Response>")
		return []byte(b.String())
	}
	b.WriteString("<Response><Message>")
	xml.EscapeText(&b, []byte(Render(rep)))
	b.WriteString("</Message></Response>")
	return []byte(b.String())
}

// Render is a reply as one SMS text: the message, then one line per option
// ("1 label"), with smart punctuation made plain when that keeps it GSM-7.
func Render(rep intake.Reply) string {
	var b strings.Builder
	b.WriteString(rep.Text)
	for _, m := range rep.Menu {
		b.WriteString("\n")
		b.WriteString(m.Num)
		b.WriteString(" ")
		b.WriteString(m.Label)
	}
	return sms.Fit(b.String())
}

var statusWords = map[string]bool{"accepted": true, "queued": true, "sending": true, "sent": true, "delivered": true,
	"undelivered": true, "failed": true, "read": true, "receiving": true, "received": true, "canceled": true, "scheduled": true}

func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	form, status := h.verify(w, r)
	if status != 0 {
		h.log.Info("twilio status refused", "status", status)
		w.WriteHeader(status)
		return
	}
	sid, st := form.Get("MessageSid"), form.Get("MessageStatus")
	if sid == "" || !statusWords[st] {
		http.Error(w, "malformed status", http.StatusBadRequest)
		return
	}
	if err := h.deliveries.RecordDelivery(r.Context(), h.hash.IdempotencyKey("twilio-status", sid), st, h.Now()); err != nil {
		h.log.Error("twilio status not stored", "error_kind", "store")
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	if h.count != nil {
		h.count.Delivery(st)
	}
	w.WriteHeader(http.StatusNoContent)
}
