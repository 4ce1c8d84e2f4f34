package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"image/png"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pquerna/otp"

	"github.com/corridor-gateway/corridor/channels/web"
	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/i18n"
	"github.com/corridor-gateway/corridor/intake"
	"github.com/corridor-gateway/corridor/intake/sqlite"
	"github.com/corridor-gateway/corridor/moderation"
	"github.com/corridor-gateway/corridor/moderation/dossier"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var templates = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// Config configures the console.
type Config struct {
	SecureCookies bool               // served over HTTPS: __Host- cookie with Secure
	Signer        *crypto.SigningKey // signs dossier manifests
	Generator     string             // names this build in bundles
	Idle          time.Duration      // a session ends after this long unused (default 20 min)
	Absolute      time.Duration      // and after this long in all (default 8 h)
}

// Console is the moderation console.
type Console struct {
	cfg      Config
	db       *sqlite.DB
	secret   *crypto.Secret
	cat      *i18n.Catalog
	log      *slog.Logger
	sessions *sessions
	throttle *throttle
	Now      func() time.Time

	codesMu sync.Mutex
	codes   map[string]usedCode // last TOTP code accepted per login
}

type usedCode struct {
	code string
	at   time.Time
}

// freshCode refuses a TOTP code already used by this login while it could
// still be valid (3 periods), so an observed code cannot be replayed.
func (c *Console) freshCode(login, code string, now time.Time) bool {
	c.codesMu.Lock()
	defer c.codesMu.Unlock()
	if c.codes == nil {
		c.codes = map[string]usedCode{}
	}
	if u, ok := c.codes[login]; ok && u.code == code && now.Sub(u.at) < 90*time.Second {
		return false
	}
	c.codes[login] = usedCode{code, now}
	return true
}

// New returns the console.
func New(cfg Config, db *sqlite.DB, secret *crypto.Secret, cat *i18n.Catalog, log *slog.Logger) *Console {
	if cfg.Idle == 0 {
		cfg.Idle = 20 * time.Minute
	}
	if cfg.Absolute == 0 {
		cfg.Absolute = 8 * time.Hour
	}
	return &Console{cfg: cfg, db: db, secret: secret, cat: cat, log: log, Now: time.Now,
		sessions: &sessions{m: map[string]*session{}, idle: cfg.Idle, absolute: cfg.Absolute},
		throttle: &throttle{fail: map[string][]time.Time{}}}
}

func (c *Console) cookieName() string {
	if c.cfg.SecureCookies {
		return "__Host-corridor-mod"
	}
	return "corridor-mod"
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, s *session)

// Run ends expired sessions once a minute until ctx ends, so unlocked
// keys do not outlive their session even when no request comes.
func (c *Console) Run(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.sessions.Sweep(c.Now())
		}
	}
}

// Register serves every route of Routes with its policy.
func (c *Console) Register(mux *http.ServeMux) {
	h := map[string]handlerFunc{
		"GET /moderate/login":                        c.loginForm,
		"POST /moderate/login":                       c.login,
		"GET /moderate/enrol":                        c.enrolForm,
		"GET /moderate/enrol/qr.png":                 c.enrolQR,
		"POST /moderate/enrol":                       c.enrol,
		"GET /moderate/{$}":                          c.home,
		"POST /moderate/logout":                      c.logout,
		"GET /moderate/unlock":                       c.unlockForm,
		"POST /moderate/unlock":                      c.unlock,
		"GET /moderate/queue":                        c.queue,
		"GET /moderate/report/{id}":                  c.withReport(c.report),
		"GET /moderate/report/{id}/attachment/{seq}": c.withReport(c.attachment),
		"POST /moderate/report/{id}/redact":          c.withReport(c.redact),
		"POST /moderate/report/{id}/tags":            c.withReport(c.tags),
		"POST /moderate/report/{id}/facets":          c.withReport(c.facets),
		"POST /moderate/report/{id}/state":           c.withReport(c.state),
		"POST /moderate/report/{id}/note":            c.withReport(c.note),
		"POST /moderate/report/{id}/assign":          c.withReport(c.assign),
		"POST /moderate/report/{id}/forward":         c.withReport(c.forward),
		"GET /moderate/dossiers":                     c.dossiers,
		"POST /moderate/dossiers":                    c.createDossier,
		"POST /moderate/dossiers/{name}/export":      c.exportDossier,
		"GET /moderate/audit":                        c.audit,
		"POST /moderate/accounts/{login}/disable":    c.disable,
	}
	cop := http.NewCrossOriginProtection()
	for _, rt := range Routes {
		if rt.Pattern == "GET /moderate/static/" {
			mux.Handle(rt.Pattern, web.Secure(http.StripPrefix("/moderate", http.FileServerFS(staticFS))))
			continue
		}
		fn, ok := h[rt.Pattern]
		if !ok {
			panic("console: no handler for " + rt.Pattern)
		}
		var hh http.Handler = c.guard(rt.Policy, fn)
		if strings.HasPrefix(rt.Pattern, "POST ") {
			hh = cop.Handler(hh)
		}
		mux.Handle(rt.Pattern, web.Secure(hh))
	}
}

// guard enforces a route's policy and, on POST, the session's form token.
func (c *Console) guard(p Policy, fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var s *session
		if ck, err := r.Cookie(c.cookieName()); err == nil {
			s = c.sessions.get(ck.Value, c.Now())
		}
		if s != nil && p != Public {
			// A disabled account loses every session at its next request.
			if a, err := c.db.Account(r.Context(), s.login); err != nil || a.Disabled {
				c.sessions.endLogin(s.login)
				s = nil
			}
		}
		if p != Public {
			if s == nil {
				if r.Method == http.MethodGet {
					http.Redirect(w, r, "/moderate/login", http.StatusSeeOther)
					return
				}
				c.fail(w, r, http.StatusUnauthorized, "mod.session.expired")
				return
			}
			if p == Enrol && s.enrolled || p != Enrol && !s.enrolled {
				c.fail(w, r, http.StatusForbidden, "mod.error.forbidden")
				return
			}
			switch p {
			case Unlocked, Lead:
				if s.keyring == nil {
					if r.Method == http.MethodGet {
						http.Redirect(w, r, "/moderate/unlock", http.StatusSeeOther)
						return
					}
					c.fail(w, r, http.StatusForbidden, "mod.unlock.failed")
					return
				}
				if p == Lead && s.role != moderation.RoleLead && s.role != moderation.RoleAdmin {
					c.fail(w, r, http.StatusForbidden, "mod.error.forbidden")
					return
				}
			case Admin:
				if s.role != moderation.RoleAdmin {
					c.fail(w, r, http.StatusForbidden, "mod.error.forbidden")
					return
				}
			}
		}
		if r.Method == http.MethodPost && p != Public {
			r.Body = http.MaxBytesReader(w, r.Body, 4<<20)
			if err := c.parse(r); err != nil || r.PostFormValue("csrf") != s.csrf || s.csrf == "" {
				c.fail(w, r, http.StatusForbidden, "mod.error.forbidden")
				return
			}
		}
		fn(w, r, s)
	})
}

// parse reads a POST body into memory (never temp files).
func (c *Console) parse(r *http.Request) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		return r.ParseMultipartForm(8 << 20)
	}
	return r.ParseForm()
}

// lang is the console's language: one of en, fr, es, ar.
func (c *Console) lang(r *http.Request) string {
	for _, h := range []string{r.URL.Query().Get("lang"), r.Header.Get("Accept-Language")} {
		if t, ok := c.cat.Match(h); ok && slices.Contains([]string{"en", "fr", "es", "ar"}, t) {
			return t
		}
	}
	return "en"
}

type page struct {
	c        *Console
	Lang     string
	Dir      string
	Session  *session
	CSRF     string
	Error    string
	Notice   string
	Data     any
	Title    string
	template string
}

func (p *page) T(id string) string               { return p.c.cat.T(p.Lang, id, nil) }
func (p *page) TN(id string, n int) string       { return p.c.cat.TN(p.Lang, id, n, nil) }
func (p *page) State(s string) string            { return p.c.cat.T(p.Lang, "mod.state."+s, nil) }
func (p *page) Has(list []string, v string) bool { return slices.Contains(list, v) }

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, s *session, data any) {
	lang := c.lang(r)
	p := &page{c: c, Lang: lang, Dir: "ltr", Session: s, Data: data}
	if c.cat.RTL(lang) {
		p.Dir = "rtl"
	}
	if s != nil {
		p.CSRF = s.csrf
	}
	if e, ok := data.(errorData); ok {
		p.Error = e.msg
	}
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, p); err != nil {
		c.log.Error("console template failed", "template", name)
		http.Error(w, "Something went wrong.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type errorData struct{ msg string }

func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, msgID string) {
	c.render(w, r, status, "error.html", nil, errorData{c.cat.T(c.lang(r), msgID, nil)})
}

func (c *Console) audit1(ctx context.Context, s *session, action, object string) {
	if err := c.db.Audit(ctx, "mod:"+s.login, action, object); err != nil {
		c.log.Error("audit entry not written", "error_kind", "store")
	}
}

// ---- sign in ----

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request, _ *session) {
	c.render(w, r, http.StatusOK, "login.html", nil, nil)
}

func (c *Console) login(w http.ResponseWriter, r *http.Request, _ *session) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, http.StatusBadRequest, "mod.login.failed")
		return
	}
	login := strings.TrimSpace(r.PostFormValue("login"))
	now := c.Now()
	key := login + "|" + clientAddr(r)
	if c.throttle.wait(key, now) > 0 {
		c.log.Info("console login throttled")
		c.render(w, r, http.StatusTooManyRequests, "login.html", nil, errorData{c.cat.T(c.lang(r), "mod.login.throttled", nil)})
		return
	}
	a, err := c.db.Account(r.Context(), login)
	hash := ""
	if err == nil && !a.Disabled {
		hash = a.PassHash
	}
	// CheckPassword does the same work for an unknown login (uniform time).
	okPass := moderation.CheckPassword(hash, r.PostFormValue("password"))
	okTOTP := false
	if okPass && a.TOTPEnrolled {
		if secret, err := c.secret.OpenValue("totp:"+a.Login, a.TOTPSealed); err == nil {
			okTOTP = moderation.CheckTOTP(string(secret), r.PostFormValue("totp"), now) && c.freshCode(a.Login, strings.TrimSpace(r.PostFormValue("totp")), now)
		}
	}
	if !okPass || (a.TOTPEnrolled && !okTOTP) {
		c.throttle.failed(key, now)
		c.log.Info("console login failed")
		if err == nil {
			c.db.Audit(r.Context(), "mod:"+a.Login, "login.failed", "")
		}
		c.render(w, r, http.StatusUnauthorized, "login.html", nil, errorData{c.cat.T(c.lang(r), "mod.login.failed", nil)})
		return
	}
	c.throttle.ok(key)
	// A new session id at every login.
	if ck, err := r.Cookie(c.cookieName()); err == nil {
		c.sessions.end(ck.Value)
	}
	s := c.sessions.new(a.Login, a.Role, a.TOTPEnrolled, a.Desks, now)
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(), Value: s.id, Path: "/", HttpOnly: true, Secure: c.cfg.SecureCookies,
		SameSite: http.SameSiteStrictMode})
	c.audit1(r.Context(), s, "login", "")
	if !a.TOTPEnrolled {
		http.Redirect(w, r, "/moderate/enrol", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/moderate/unlock", http.StatusSeeOther)
}

func (c *Console) totpKey(ctx context.Context, s *session) (*otp.Key, error) {
	a, err := c.db.Account(ctx, s.login)
	if err != nil {
		return nil, err
	}
	secret, err := c.secret.OpenValue("totp:"+a.Login, a.TOTPSealed)
	if err != nil {
		return nil, err
	}
	return otp.NewKeyFromURL("otpauth://totp/Corridor:" + a.Login + "?secret=" + string(secret) + "&issuer=Corridor&period=30&digits=6&algorithm=SHA1")
}

func (c *Console) enrolForm(w http.ResponseWriter, r *http.Request, s *session) {
	c.render(w, r, http.StatusOK, "enrol.html", s, nil)
}

func (c *Console) enrolQR(w http.ResponseWriter, r *http.Request, s *session) {
	k, err := c.totpKey(r.Context(), s)
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	img, err := k.Image(240, 240)
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	png.Encode(w, img)
}

func (c *Console) enrol(w http.ResponseWriter, r *http.Request, s *session) {
	k, err := c.totpKey(r.Context(), s)
	if err != nil || !moderation.CheckTOTP(k.Secret(), r.PostFormValue("totp"), c.Now()) || !c.freshCode(s.login, strings.TrimSpace(r.PostFormValue("totp")), c.Now()) {
		c.render(w, r, http.StatusUnauthorized, "enrol.html", s, errorData{c.cat.T(c.lang(r), "mod.login.failed", nil)})
		return
	}
	if err := c.db.SetTOTPEnrolled(r.Context(), s.login); err != nil {
		c.fail(w, r, http.StatusServiceUnavailable, "mod.error.forbidden")
		return
	}
	c.audit1(r.Context(), s, "totp.enrol", "")
	// Enrolled: a fresh session, TOTP checked.
	c.sessions.end(s.id)
	ns := c.sessions.new(s.login, s.role, true, s.desks, c.Now())
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(), Value: ns.id, Path: "/", HttpOnly: true, Secure: c.cfg.SecureCookies,
		SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/moderate/unlock", http.StatusSeeOther)
}

func (c *Console) home(w http.ResponseWriter, r *http.Request, s *session) {
	if s.keyring == nil {
		http.Redirect(w, r, "/moderate/unlock", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/moderate/queue", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.audit1(r.Context(), s, "logout", "")
	c.sessions.end(s.id)
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: c.cfg.SecureCookies,
		SameSite: http.SameSiteStrictMode})
	w.Header().Set("Clear-Site-Data", `"cache", "cookies", "storage"`)
	http.Redirect(w, r, "/moderate/login", http.StatusSeeOther)
}

// ---- unlock ----

func (c *Console) unlockForm(w http.ResponseWriter, r *http.Request, s *session) {
	c.render(w, r, http.StatusOK, "unlock.html", s, nil)
}

func (c *Console) unlock(w http.ResponseWriter, r *http.Request, s *session) {
	var data []byte
	if f, _, err := r.FormFile("identity_file"); err == nil {
		data, _ = io.ReadAll(io.LimitReader(f, 1<<20))
		f.Close()
	}
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte(r.PostFormValue("identity"))
	}
	pass := r.PostFormValue("passphrase")
	ids, err := crypto.ParseIdentityFile(data, func() (string, error) {
		if pass == "" {
			return "", errors.New("no passphrase")
		}
		return pass, nil
	})
	var kr *moderation.Keyring
	if err == nil {
		kr, err = moderation.Unlock(r.Context(), c.db, ids)
	}
	if err != nil {
		c.log.Info("console unlock failed")
		c.render(w, r, http.StatusUnauthorized, "unlock.html", s, errorData{c.cat.T(c.lang(r), "mod.unlock.failed", nil)})
		return
	}
	c.sessions.setKeyring(s, kr)
	c.audit1(r.Context(), s, "unlock", strings.Join(kr.Desks(), ","))
	http.Redirect(w, r, "/moderate/queue", http.StatusSeeOther)
}

// ---- queue and reports ----

type queueData struct {
	Reports   []intake.ReportMeta
	Filter    intake.Filter
	Language  string
	Topic     string
	Tag       string
	Day       string
	Desks     []string
	States    []string
	Page      int
	NextPage  int
	More      bool
	Total     int
	TotalText string
}

const pageSize = 50

func (c *Console) queue(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	f := intake.Filter{KeyIDs: s.keyring.KeyIDs(), Desk: q.Get("desk"), State: q.Get("state"),
		Language: q.Get("language"), Topic: q.Get("topic"), Tag: q.Get("tag"), Day: q.Get("day")}
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 0)
	f.Limit, f.Offset = pageSize+1, page*pageSize
	ms, err := c.db.ListReports(r.Context(), f)
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, "mod.error.not_found")
		return
	}
	d := queueData{Filter: f, Desks: s.keyring.Desks(), States: moderation.States, Page: page, NextPage: page + 1}
	if len(ms) > pageSize {
		d.More, ms = true, ms[:pageSize]
	}
	d.Reports = ms
	d.TotalText = c.cat.TN(c.lang(r), "mod.queue.count", len(ms)+page*pageSize, nil)
	c.render(w, r, http.StatusOK, "queue.html", s, d)
}

// withReport serves a route about one report the session may read; any
// other id is answered as not found.
func (c *Console) withReport(fn func(http.ResponseWriter, *http.Request, *session, intake.ReportMeta)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		m, err := c.readable(r, s)
		if err != nil {
			c.fail(w, r, http.StatusNotFound, "mod.error.not_found")
			return
		}
		fn(w, r, s, m)
	}
}

// readable returns a report's metadata if this session may read it; else
// ErrNotFound (404, never 403: no existence oracle).
func (c *Console) readable(r *http.Request, s *session) (intake.ReportMeta, error) {
	m, err := c.db.Report(r.Context(), r.PathValue("id"))
	if err != nil {
		return m, intake.ErrNotFound
	}
	if _, ok := s.keyring.Identity(m.DeskKeyID); !ok {
		return m, intake.ErrNotFound
	}
	return m, nil
}

type reportData struct {
	R           *moderation.Report
	Fields      []string
	Markers     []string
	Next        []string
	Taxonomy    []intake.Category
	Facets      map[string][]string
	FacetNames  []string
	GCM         []string
	Attachments []moderation.Attachment
	CanAssign   bool
	Dossiers    []string
}

func (c *Console) report(w http.ResponseWriter, r *http.Request, s *session, m intake.ReportMeta) {
	var err error
	rep, err := s.keyring.Open(r.Context(), c.db, m, true)
	if err != nil {
		c.log.Error("report does not open", "error_kind", "envelope")
		c.fail(w, r, http.StatusConflict, "mod.error.not_found")
		return
	}
	c.audit1(r.Context(), s, "report.decrypt", m.ID)
	d := reportData{R: rep, Markers: moderation.Markers, Taxonomy: intake.Taxonomy(), Facets: moderation.Facets,
		GCM: moderation.GCMObjectives(m.Tags), Attachments: rep.Attachments,
		CanAssign: s.role == moderation.RoleLead || s.role == moderation.RoleAdmin}
	for k := range rep.Copy.Answers {
		d.Fields = append(d.Fields, k)
	}
	sort.Strings(d.Fields)
	for k := range moderation.Facets {
		d.FacetNames = append(d.FacetNames, k)
	}
	sort.Strings(d.FacetNames)
	for _, st := range moderation.States {
		if moderation.CheckTransition(m.State, st) == nil {
			d.Next = append(d.Next, st)
		}
	}
	if d.CanAssign && m.State == intake.StateAccepted && slices.Contains(m.Scopes, intake.ScopeShare) {
		d.Dossiers, _ = c.db.DossierNames(r.Context())
	}
	c.render(w, r, http.StatusOK, "report.html", s, d)
}

func (c *Console) attachment(w http.ResponseWriter, r *http.Request, s *session, m intake.ReportMeta) {
	var err error
	seq, _ := strconv.Atoi(r.PathValue("seq"))
	rep, err := s.keyring.Open(r.Context(), c.db, m, true)
	if err != nil {
		c.fail(w, r, http.StatusNotFound, "mod.error.not_found")
		return
	}
	for _, a := range rep.Attachments {
		if a.Seq == seq {
			c.audit1(r.Context(), s, "attachment.download", m.ID+"."+strconv.Itoa(seq))
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", `attachment; filename="attachment-`+strconv.Itoa(seq)+`"`)
			w.Write(a.Data)
			return
		}
	}
	c.fail(w, r, http.StatusNotFound, "mod.error.not_found")
}

func (c *Console) back(w http.ResponseWriter, r *http.Request, id string) {
	http.Redirect(w, r, "/moderate/report/"+id, http.StatusSeeOther)
}

func (c *Console) redact(w http.ResponseWriter, r *http.Request, s *session, m intake.ReportMeta) {
	var err error
	_, err = s.keyring.Redact(r.Context(), c.db, c.db, m, r.PostFormValue("field"), r.PostFormValue("find"), r.PostFormValue("marker"), "mod:"+s.login)
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, "mod.error.forbidden")
		return
	}
	c.back(w, r, m.ID)
}

func (c *Console) tags(w http.ResponseWriter, r *http.Request, s *session, m intake.ReportMeta) {
	codes := r.PostForm["code"]
	if err := moderation.CheckTags(codes); err != nil {
		c.fail(w, r, http.StatusBadRequest, "mod.error.forbidden")
		return
	}
	if err := c.db.AddTags(r.Context(), m.ID, codes, "mod:"+s.login); err != nil {
		c.fail(w, r, http.StatusServiceUnavailable, "mod.error.forbidden")
		return
	}
	c.back(w, r, m.ID)
}

func (c *Console) facets(w http.ResponseWriter, r *http.Request, s *session, m intake.ReportMeta) {
	f := map[string]string{}
	for k := range moderation.Facets {
		if v := r.PostFormValue(k); v != "" {
			f[k] = v
		}
	}
	if err := s.keyring.SetFacets(r.Context(), c.db, m, "mod:"+s.login, f); err != nil {
		c.fail(w, r, http.StatusBadRequest, "mod.error.forbidden")
		return
	}
	c.back(w, r, m.ID)
}

func (c *Console) state(w http.ResponseWriter, r *http.Request, s *session, m intake.ReportMeta) {
	var err error
	err = c.db.SetState(r.Context(), m.ID, r.PostFormValue("state"), "mod:"+s.login, moderation.CheckTransition)
	var it *moderation.IllegalTransition
	if errors.As(err, &it) || err != nil {
		c.fail(w, r, http.StatusConflict, "mod.error.illegal_transition")
		return
	}
	c.back(w, r, m.ID)
}

func (c *Console) note(w http.ResponseWriter, r *http.Request, s *session, m intake.ReportMeta) {
	if err := s.keyring.AddNote(r.Context(), c.db, m, s.login, r.PostFormValue("note")); err != nil {
		c.fail(w, r, http.StatusBadRequest, "mod.error.forbidden")
		return
	}
	c.back(w, r, m.ID)
}

func (c *Console) assign(w http.ResponseWriter, r *http.Request, s *session, m intake.ReportMeta) {
	login := r.PostFormValue("login")
	if a, err := c.db.Account(r.Context(), login); err != nil || a.Disabled || !slices.Contains(a.Desks, m.Desk) {
		c.fail(w, r, http.StatusBadRequest, "mod.error.forbidden")
		return
	}
	if err := c.db.Assign(r.Context(), m.ID, login, "mod:"+s.login); err != nil {
		c.fail(w, r, http.StatusServiceUnavailable, "mod.error.forbidden")
		return
	}
	c.back(w, r, m.ID)
}

// ---- admin ----

func (c *Console) audit(w http.ResponseWriter, r *http.Request, s *session) {
	es, err := c.db.AuditEntries(r.Context())
	if err != nil {
		c.fail(w, r, http.StatusServiceUnavailable, "mod.error.forbidden")
		return
	}
	if len(es) > 500 {
		es = es[len(es)-500:]
	}
	c.render(w, r, http.StatusOK, "audit.html", s, es)
}

func (c *Console) disable(w http.ResponseWriter, r *http.Request, s *session) {
	login := r.PathValue("login")
	if err := c.db.SetDisabled(r.Context(), login, true, "mod:"+s.login); err != nil {
		c.fail(w, r, http.StatusNotFound, "mod.error.not_found")
		return
	}
	c.sessions.endLogin(login)
	http.Redirect(w, r, "/moderate/audit", http.StatusSeeOther)
}

// ---- dossiers ----

func (c *Console) dossiers(w http.ResponseWriter, r *http.Request, s *session) {
	names, err := c.db.DossierNames(r.Context())
	if err != nil {
		c.fail(w, r, http.StatusServiceUnavailable, "mod.error.forbidden")
		return
	}
	c.render(w, r, http.StatusOK, "dossiers.html", s, names)
}

func (c *Console) createDossier(w http.ResponseWriter, r *http.Request, s *session) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	rcpts := strings.Fields(r.PostFormValue("recipients"))
	country := strings.ToUpper(strings.TrimSpace(r.PostFormValue("country")))
	if _, err := crypto.NewKeySet(rcpts...); err != nil || name == "" || len(name) > 40 || strings.ContainsAny(name, "/ ") {
		c.fail(w, r, http.StatusBadRequest, "mod.error.forbidden")
		return
	}
	if country != "" {
		if iso3, ok := intake.CountryISO3(country); !ok || iso3 != country {
			c.fail(w, r, http.StatusBadRequest, "mod.error.forbidden")
			return
		}
	}
	err := c.db.CreateDossier(r.Context(), &sqlite.Dossier{Name: name, Body: r.PostFormValue("body"), Country: country, Recipients: rcpts,
		Publishable: r.PostFormValue("publishable") == "yes"}, "mod:"+s.login)
	if err != nil {
		c.fail(w, r, http.StatusConflict, "mod.error.forbidden")
		return
	}
	http.Redirect(w, r, "/moderate/dossiers", http.StatusSeeOther)
}

func (c *Console) forward(w http.ResponseWriter, r *http.Request, s *session, m intake.ReportMeta) {
	var err error
	d, err := c.db.Dossier(r.Context(), r.PostFormValue("dossier"))
	if err != nil {
		c.fail(w, r, http.StatusNotFound, "mod.error.not_found")
		return
	}
	if _, err := dossier.Forward(r.Context(), c.db, s.keyring, d, m.ID, "mod:"+s.login); err != nil {
		c.fail(w, r, http.StatusConflict, "mod.error.illegal_transition")
		return
	}
	c.back(w, r, m.ID)
}

func (c *Console) exportDossier(w http.ResponseWriter, r *http.Request, s *session) {
	d, err := c.db.Dossier(r.Context(), r.PathValue("name"))
	if err != nil || c.cfg.Signer == nil {
		c.fail(w, r, http.StatusNotFound, "mod.error.not_found")
		return
	}
	var ids []*crypto.Identity
	for _, k := range s.keyring.KeyIDs() {
		id, _ := s.keyring.Identity(k)
		ids = append(ids, id)
	}
	// Written to a buffer first, so a failure is a clear error and not a
	// truncated download; the bundle is ciphertext.
	var buf bytes.Buffer
	st, err := dossier.Export(r.Context(), dossier.ExportOptions{DB: c.db, Dossier: d, Identities: crypto.AgeIdentities(ids),
		Signer: c.cfg.Signer, Generator: c.cfg.Generator}, &buf)
	if err != nil {
		c.log.Error("dossier export failed", "error_kind", "export")
		c.fail(w, r, http.StatusConflict, "mod.error.forbidden")
		return
	}
	c.audit1(r.Context(), s, "dossier.export", d.Name+" "+strconv.Itoa(st.Reports)+" reports")
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+d.Name+`.age"`)
	w.Write(buf.Bytes())
}
