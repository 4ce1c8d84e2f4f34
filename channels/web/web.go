package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/i18n"
	"github.com/corridor-gateway/corridor/intake"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var templates = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// Config is the web channel's configuration.
type Config struct {
	Organisation   string
	QuickExitURL   string        // the neutral page quick exit goes to
	KioskIdle      time.Duration // wipe an untouched form after this; 0: never
	DoneRefresh    time.Duration // the confirmation returns to a new form after this; 0: never
	MaxBody        int64         // whole request
	MaxAttachment  int64         // one file
	MaxAttachments int
	TokenTTL       time.Duration
	SecureCookies  bool // served over HTTPS: __Host- cookies with Secure
}

func (c *Config) defaults() {
	if c.Organisation == "" {
		c.Organisation = "the organisation that runs this service"
	}
	if c.QuickExitURL == "" {
		c.QuickExitURL = "https://www.google.com/search?q=weather"
	}
	if c.MaxAttachment == 0 {
		c.MaxAttachment = 10 << 20
	}
	if c.MaxAttachments == 0 {
		c.MaxAttachments = 5
	}
	if c.MaxBody == 0 {
		c.MaxBody = int64(c.MaxAttachments)*c.MaxAttachment + 1<<20
	}
	if c.TokenTTL == 0 {
		c.TokenTTL = 4 * time.Hour
	}
}

// Submitter is what the web channel needs from intake.
type Submitter interface {
	Submit(ctx context.Context, s *intake.Submission) (intake.Receipt, error)
	StatusByReceipt(ctx context.Context, typed string) (code, state string, err error)
	EraseByReceipt(ctx context.Context, typed string) error
}

// Handler serves the web form.
type Handler struct {
	cfg    Config
	svc    Submitter
	flow   *intake.Flow
	cat    *i18n.Catalog
	secret *crypto.Secret
	log    *slog.Logger
	Now    func() time.Time

	mu   sync.Mutex
	done map[string]doneEntry // one-time confirmation handles, memory only
}

type doneEntry struct {
	receipt string
	lang    string
	expires time.Time
}

// New returns the web channel.
func New(cfg Config, svc Submitter, flow *intake.Flow, cat *i18n.Catalog, secret *crypto.Secret, log *slog.Logger) *Handler {
	cfg.defaults()
	return &Handler{cfg: cfg, svc: svc, flow: flow, cat: cat, secret: secret, log: log, Now: time.Now, done: map[string]doneEntry{}}
}

// Register adds the channel's routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.log.Info("web form refused", "reason", "cross-origin")
		h.renderError(w, r, h.lang(r), http.StatusForbidden, "error.forbidden")
	}))
	mux.Handle("GET /report", Secure(http.HandlerFunc(h.form)))
	mux.Handle("POST /report", Secure(cop.Handler(http.HandlerFunc(h.submit))))
	mux.Handle("GET /report/done", Secure(http.HandlerFunc(h.confirmation)))
	mux.Handle("GET /report/receipt", Secure(http.HandlerFunc(h.receiptForm)))
	mux.Handle("POST /report/receipt", Secure(cop.Handler(http.HandlerFunc(h.receipt))))
	static := http.FileServerFS(staticFS)
	mux.Handle("GET /report/static/", Secure(http.StripPrefix("/report", static)))
}

// Secure sets the headers every Corridor page carries.
func Secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()")
		next.ServeHTTP(w, r)
	})
}

// lang picks the page language: ?lang= if we have it, else the browser's
// Accept-Language if it matches with confidence, else English.
func (h *Handler) lang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l != "" {
		if tag, ok := h.cat.Match(l); ok {
			return tag
		}
	}
	if tag, ok := h.cat.Match(r.Header.Get("Accept-Language")); ok {
		return tag
	}
	return "en"
}

type country struct{ Code, Name string }

var countryCache sync.Map // lang -> []country

func (h *Handler) countries(lang string) []country {
	if v, ok := countryCache.Load(lang); ok {
		return v.([]country)
	}
	tag := language.Make(lang)
	names := display.Regions(tag) // nil for a language x/text has no names in (kmr)
	var out []country
	for _, c := range intake.Countries() {
		reg := language.MustParseRegion(c)
		n := ""
		if names != nil {
			n = names.Name(reg)
		}
		if n == "" {
			n = display.English.Regions().Name(reg)
		}
		out = append(out, country{Code: c, Name: n})
	}
	col := collate.New(tag)
	sort.SliceStable(out, func(i, j int) bool { return col.CompareString(out[i].Name, out[j].Name) < 0 })
	countryCache.Store(lang, out)
	return out
}

// page is what templates see.
type page struct {
	h         *Handler
	Lang      string
	Dir       string
	Languages []i18n.Language
	ExitURL   string
	Home      string
	Idle      int
	Refresh   int
	Token     string
	Steps     []intake.Step
	Countries []country
	Error     string
	Receipt   string
	Notice    string
	values    map[string]string
}

func (p *page) T(id string) string { return p.h.cat.T(p.Lang, id, nil) }
func (p *page) Tp(id string) string {
	return p.h.cat.T(p.Lang, id, map[string]any{"Org": p.h.cfg.Organisation})
}
func (p *page) Value(k string) string { return p.values[k] }
func (p *page) Checked(k, v string) bool {
	return p.values[k] == v
}

func (h *Handler) newPage(lang string) *page {
	dir := "ltr"
	if h.cat.RTL(lang) {
		dir = "rtl"
	}
	return &page{h: h, Lang: lang, Dir: dir, Languages: h.cat.Languages(), ExitURL: h.cfg.QuickExitURL,
		Home: "/report?lang=" + lang, Idle: int(h.cfg.KioskIdle / time.Second), values: map[string]string{}}
}

func (h *Handler) render(w http.ResponseWriter, status int, name string, p *page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", p.Lang)
	w.WriteHeader(status)
	if err := templates.ExecuteTemplate(w, name, p); err != nil {
		h.log.Error("web template failed", "template", name)
	}
}

func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, lang string, status int, msgID string) {
	p := h.newPage(lang)
	p.Error = h.cat.T(lang, msgID, nil)
	h.render(w, status, "error.html", p)
}

// The form cookie binds a form token to one browser.
func (h *Handler) cookieName() string {
	if h.cfg.SecureCookies {
		return "__Host-corridor-form"
	}
	return "corridor-form"
}

func (h *Handler) doneCookieName() string {
	if h.cfg.SecureCookies {
		return "__Host-corridor-done"
	}
	return "corridor-done"
}

func (h *Handler) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: h.cfg.SecureCookies, SameSite: http.SameSiteStrictMode})
}

// token is nonce.expiry.mac, where mac binds both to the browser's cookie.
func (h *Handler) makeToken(cookie, nonce string) string {
	exp := strconv.FormatInt(h.Now().Add(h.cfg.TokenTTL).Unix(), 10)
	mac := h.secret.MAC("corridor/web-form/v1", cookie, nonce, exp)
	return nonce + "." + exp + "." + hex.EncodeToString(mac[:16])
}

var (
	errBadToken = errors.New("bad form token")
	errExpired  = errors.New("expired form token")
)

// checkToken returns the token's nonce: the idempotency key of the form.
func (h *Handler) checkToken(cookie, tok string) (string, error) {
	parts := strings.Split(tok, ".")
	if cookie == "" || len(parts) != 3 || len(parts[0]) < 16 || len(parts[0]) > 64 {
		return "", errBadToken
	}
	mac := h.secret.MAC("corridor/web-form/v1", cookie, parts[0], parts[1])
	got, err := hex.DecodeString(parts[2])
	if err != nil || !hmac.Equal(got, mac[:16]) {
		return "", errBadToken
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", errBadToken
	}
	if h.Now().Unix() > exp {
		return parts[0], errExpired
	}
	return parts[0], nil
}

func (h *Handler) formCookie(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(h.cookieName()); err == nil && len(c.Value) >= 16 && len(c.Value) <= 64 {
		return c.Value
	}
	v := crypto.Token(20)
	h.setCookie(w, h.cookieName(), v, 0)
	return v
}

func (h *Handler) form(w http.ResponseWriter, r *http.Request) {
	lang := h.lang(r)
	p := h.newPage(lang)
	p.Steps = h.flow.Steps
	p.Countries = h.countries(lang)
	p.Token = h.makeToken(h.formCookie(w, r), crypto.Token(20))
	h.render(w, http.StatusOK, "form.html", p)
}

// maxFields bounds the number of multipart parts.
const maxFields = 64

var errTooLarge = errors.New("too large")
var errBadFile = errors.New("bad file")

// readForm reads the body into memory under caps: no temp files.
func (h *Handler) readForm(w http.ResponseWriter, r *http.Request) (map[string]string, []intake.Attachment, error) {
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	vals := map[string]string{}
	if ct == "application/x-www-form-urlencoded" {
		if err := r.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, nil, errTooLarge
			}
			return nil, nil, err
		}
		if len(r.PostForm) > maxFields {
			return nil, nil, errTooLarge
		}
		for k, v := range r.PostForm {
			if len(v) != 1 {
				return nil, nil, errors.New("repeated field")
			}
			vals[k] = v[0]
		}
		return vals, nil, nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, err
	}
	var files []intake.Attachment
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, nil, errTooLarge
			}
			return nil, nil, err
		}
		if n >= maxFields {
			return nil, nil, errTooLarge
		}
		name := part.FormName()
		if part.FileName() != "" || name == "attachment" {
			a, err := h.readFile(part)
			if err != nil {
				return nil, nil, err
			}
			if a != nil {
				if len(files) >= h.cfg.MaxAttachments {
					return nil, nil, errTooLarge
				}
				files = append(files, *a)
			}
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, intake.MaxAnswer+1))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, nil, errTooLarge
			}
			return nil, nil, err
		}
		if len(b) > intake.MaxAnswer {
			return nil, nil, errTooLarge
		}
		if _, dup := vals[name]; dup {
			return nil, nil, errors.New("repeated field")
		}
		vals[name] = string(b)
	}
	return vals, files, nil
}

// allowedType reports whether a sniffed content type may be attached:
// images, audio and PDF.
func allowedType(ct string) bool {
	ct, _, _ = mime.ParseMediaType(ct)
	switch {
	case strings.HasPrefix(ct, "image/") && ct != "image/svg+xml":
		return true
	case strings.HasPrefix(ct, "audio/"), ct == "application/ogg", ct == "application/pdf", ct == "video/mp4", ct == "video/webm":
		return true
	}
	return false
}

func (h *Handler) readFile(part *multipart.Part) (*intake.Attachment, error) {
	data, err := io.ReadAll(io.LimitReader(part, h.cfg.MaxAttachment+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge
		}
		return nil, err
	}
	if len(data) == 0 {
		return nil, nil // no file chosen
	}
	if int64(len(data)) > h.cfg.MaxAttachment {
		return nil, errTooLarge
	}
	ct := http.DetectContentType(data)
	if !allowedType(ct) {
		return nil, errBadFile
	}
	return &intake.Attachment{Name: part.FileName(), ContentType: ct, Data: data}, nil
}

// ConsentVersion names the consent text a visitor saw: the flow's version,
// the language, and a hash of the text as shown.
func ConsentVersion(flow *intake.Flow, cat *i18n.Catalog, lang, org string) string {
	st := flow.ConsentStep()
	sum := sha256.New()
	for _, id := range append(append([]string{}, st.Text...), st.Prompt) {
		io.WriteString(sum, cat.T(lang, id, map[string]any{"Org": org}))
		sum.Write([]byte{0})
	}
	for _, sc := range st.Scopes {
		io.WriteString(sum, cat.T(lang, sc.Label, nil))
		sum.Write([]byte{0})
	}
	return flow.ConsentVersion + "/" + lang + "/" + hex.EncodeToString(sum.Sum(nil)[:6])
}

func (h *Handler) submit(w http.ResponseWriter, r *http.Request) {
	lang := h.lang(r)
	cookie := ""
	if c, err := r.Cookie(h.cookieName()); err == nil {
		cookie = c.Value
	}
	vals, files, err := h.readForm(w, r)
	if err != nil {
		switch {
		case errors.Is(err, errTooLarge):
			h.log.Info("web form refused", "reason", "too_large")
			h.renderError(w, r, lang, http.StatusRequestEntityTooLarge, "error.too_large")
		case errors.Is(err, errBadFile):
			h.log.Info("web form refused", "reason", "file_type")
			p := h.refill(w, r, lang, vals)
			p.Error = h.cat.T(lang, "error.bad_file", nil)
			h.render(w, http.StatusUnsupportedMediaType, "form.html", p)
		default:
			h.log.Info("web form refused", "reason", "malformed")
			h.renderError(w, r, lang, http.StatusBadRequest, "error.generic")
		}
		return
	}
	if l := vals["lang"]; l != "" {
		if tag, ok := h.cat.Match(l); ok {
			lang = tag
		}
	}
	nonce, err := h.checkToken(cookie, vals["token"])
	if errors.Is(err, errExpired) {
		h.log.Info("web form refused", "reason", "token_expired")
		p := h.refill(w, r, lang, vals)
		p.Error = h.cat.T(lang, "error.expired", nil)
		h.render(w, http.StatusBadRequest, "form.html", p)
		return
	}
	if err != nil {
		h.log.Info("web form refused", "reason", "token")
		h.renderError(w, r, lang, http.StatusForbidden, "error.forbidden")
		return
	}
	consent := intake.Consent{TextVersion: ConsentVersion(h.flow, h.cat, lang, h.cfg.Organisation), Method: "form"}
	for _, sc := range h.flow.ConsentStep().Scopes {
		if vals["consent."+sc.ID] == "yes" {
			consent.Scopes = append(consent.Scopes, sc.ID)
		}
	}
	answers := map[string]string{}
	for k, v := range vals {
		if k != "token" && k != "lang" && !strings.HasPrefix(k, "consent.") {
			answers[k] = v
		}
	}
	rc, err := h.svc.Submit(r.Context(), &intake.Submission{
		Channel: intake.ChannelWeb, ProviderID: nonce, Language: lang,
		Answers: answers, Attachments: files, Consent: consent,
	})
	var fe *intake.FieldError
	switch {
	case errors.Is(err, intake.ErrNoConsent):
		h.log.Info("web form refused", "reason", "no_consent")
		p := h.refill(w, r, lang, vals)
		p.Error = h.cat.T(lang, "error.consent_required", nil)
		h.render(w, http.StatusBadRequest, "form.html", p)
		return
	case errors.As(err, &fe):
		h.log.Info("web form refused", "reason", "invalid", "field", fe.Field)
		p := h.refill(w, r, lang, vals)
		p.Error = h.cat.T(lang, fe.Msg, nil)
		h.render(w, http.StatusBadRequest, "form.html", p)
		return
	case err != nil:
		h.log.Error("web form not stored", "error_kind", "store")
		h.renderError(w, r, lang, http.StatusServiceUnavailable, "error.generic")
		return
	}
	h.log.Info("web form stored", "duplicate", rc.Duplicate)
	handle := crypto.Token(20)
	h.mu.Lock()
	now := h.Now()
	for k, e := range h.done {
		if now.After(e.expires) {
			delete(h.done, k)
		}
	}
	h.done[handle] = doneEntry{receipt: rc.Code, lang: lang, expires: now.Add(10 * time.Minute)}
	h.mu.Unlock()
	h.setCookie(w, h.doneCookieName(), handle, 600)
	http.Redirect(w, r, "/report/done", http.StatusSeeOther)
}

// refill renders the form again with what the visitor typed (never files)
// and the same token, so sending again stores at most once.
func (h *Handler) refill(w http.ResponseWriter, r *http.Request, lang string, vals map[string]string) *page {
	p := h.newPage(lang)
	p.Steps = h.flow.Steps
	p.Countries = h.countries(lang)
	for k, v := range vals {
		p.values[k] = v
	}
	cookie := h.formCookie(w, r)
	nonce, err := h.checkToken(cookie, vals["token"])
	if err != nil {
		nonce = crypto.Token(20)
	}
	p.Token = h.makeToken(cookie, nonce)
	return p
}

// confirmation shows the receipt once, then clears everything the browser
// holds for this site.
func (h *Handler) confirmation(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(h.doneCookieName())
	var e doneEntry
	ok := false
	if err == nil {
		h.mu.Lock()
		e, ok = h.done[c.Value]
		delete(h.done, c.Value)
		h.mu.Unlock()
		ok = ok && h.Now().Before(e.expires)
	}
	if !ok {
		http.Redirect(w, r, "/report?lang="+h.lang(r), http.StatusSeeOther)
		return
	}
	w.Header().Set("Clear-Site-Data", `"cache", "cookies", "storage"`)
	p := h.newPage(e.lang)
	p.Receipt = e.receipt
	p.Refresh = int(h.cfg.DoneRefresh / time.Second)
	h.render(w, http.StatusOK, "done.html", p)
}

// receiptForm lets a visitor check or erase a report with its receipt code.
func (h *Handler) receiptForm(w http.ResponseWriter, r *http.Request) {
	lang := h.lang(r)
	p := h.newPage(lang)
	p.Token = h.makeToken(h.formCookie(w, r), crypto.Token(20))
	h.render(w, http.StatusOK, "receipt.html", p)
}

func (h *Handler) receipt(w http.ResponseWriter, r *http.Request) {
	lang := h.lang(r)
	cookie := ""
	if c, err := r.Cookie(h.cookieName()); err == nil {
		cookie = c.Value
	}
	vals, _, err := h.readForm(w, r)
	if err != nil {
		h.renderError(w, r, lang, http.StatusBadRequest, "error.generic")
		return
	}
	if _, err := h.checkToken(cookie, vals["token"]); err != nil && !errors.Is(err, errExpired) {
		h.log.Info("receipt form refused", "reason", "token")
		h.renderError(w, r, lang, http.StatusForbidden, "error.forbidden")
		return
	}
	p := h.newPage(lang)
	p.Token = h.makeToken(h.formCookie(w, r), crypto.Token(20))
	status := http.StatusOK
	switch vals["action"] {
	case "delete":
		if vals["confirm"] != "yes" {
			p.Error, status = h.cat.T(lang, "receipt.need_confirm", nil), http.StatusBadRequest
			break
		}
		err = h.svc.EraseByReceipt(r.Context(), vals["receipt"])
		switch {
		case err == nil:
			h.log.Info("report erased at the sender's request", "channel", "web")
			p.Notice = h.cat.T(lang, "receipt.deleted", nil)
		case errors.Is(err, intake.ErrNotFound), errors.Is(err, intake.ErrBadReceipt):
			p.Error, status = h.cat.T(lang, "receipt.not_found", nil), http.StatusNotFound
		default:
			h.log.Error("receipt erase failed", "error_kind", "store")
			p.Error, status = h.cat.T(lang, "error.generic", nil), http.StatusServiceUnavailable
		}
	default:
		code, state, err := h.svc.StatusByReceipt(r.Context(), vals["receipt"])
		switch {
		case err == nil:
			p.Notice = code + " — " + h.cat.T(lang, "receipt.state", map[string]any{"State": h.cat.T(lang, intake.StatusWord(state), nil)})
		case errors.Is(err, intake.ErrNotFound), errors.Is(err, intake.ErrBadReceipt):
			p.Error, status = h.cat.T(lang, "receipt.not_found", nil), http.StatusNotFound
		default:
			h.log.Error("receipt lookup failed", "error_kind", "store")
			p.Error, status = h.cat.T(lang, "error.generic", nil), http.StatusServiceUnavailable
		}
	}
	h.render(w, status, "receipt.html", p)
}
