package main

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/corridor-gateway/corridor/moderation/console"
)

// moderatorAccount creates a console account for the deployment's
// moderator key and returns its password and TOTP secret.
func (d *deployment) moderatorAccount(t *testing.T, login, role string) (string, string) {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "pw")
	password := "correct horse battery staple " + login
	os.WriteFile(pw, []byte(password+"\n"), 0o600)
	key, _ := os.ReadFile(d.modKey)
	rcpt := regexp.MustCompile(`public key: (age1\S+)`).FindSubmatch(key)[1]
	out := d.mustRun("moderator", "add", login, "--recipient", string(rcpt), "--desk", "default", "--role", role, "--password-file", pw, "--data", d.dir)
	u := regexp.MustCompile(`otpauth://\S+`).FindString(out)
	k, err := otp.NewKeyFromURL(u)
	if err != nil {
		t.Fatalf("moderator add printed no otpauth URI: %s", out)
	}
	return password, k.Secret()
}

type consoleClient struct {
	t    *testing.T
	d    *deployment
	c    *http.Client
	csrf string
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (cc *consoleClient) get(path string) (int, string) {
	cc.t.Helper()
	resp, err := cc.c.Get(cc.d.url + path)
	if err != nil {
		cc.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if m := csrfRE.FindSubmatch(b); m != nil {
		cc.csrf = string(m[1])
	}
	return resp.StatusCode, string(b)
}

func (cc *consoleClient) post(path string, form url.Values) (int, string, string) {
	cc.t.Helper()
	if cc.csrf != "" && form.Get("csrf") == "" {
		form.Set("csrf", cc.csrf)
	}
	req, _ := http.NewRequest("POST", cc.d.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := cc.c.Do(req)
	if err != nil {
		cc.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func (cc *consoleClient) unlock(identity []byte) (int, string) {
	cc.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("csrf", cc.csrf)
	fw, _ := w.CreateFormFile("identity_file", "me.txt")
	fw.Write(identity)
	w.Close()
	req, _ := http.NewRequest("POST", cc.d.url+"/moderate/unlock", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := cc.c.Do(req)
	if err != nil {
		cc.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// signIn does the first login (enrolling TOTP) or a later one.
func (d *deployment) signIn(t *testing.T, login, password, secret string, enrol bool) *consoleClient {
	cc := &consoleClient{t: t, d: d, c: d.client()}
	form := url.Values{"login": {login}, "password": {password}}
	if !enrol {
		// The enrolment used this period's code, and a code works once:
		// use the next period's (accepted with one period of skew).
		code, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
		form.Set("totp", code)
	}
	code, loc, body := cc.post("/moderate/login", form)
	if code != 303 {
		t.Fatalf("login: %d %s", code, body)
	}
	if enrol {
		if loc != "/moderate/enrol" {
			t.Fatalf("first login should enrol TOTP, went to %s", loc)
		}
		if c, body := cc.get("/moderate/enrol"); c != 200 || !strings.Contains(body, "qr.png") {
			t.Fatalf("enrol page: %d", c)
		}
		resp, _ := cc.c.Get(d.url + "/moderate/enrol/qr.png")
		png, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Fatal("the enrolment QR code is not a PNG")
		}
		totpCode, _ := totp.GenerateCode(secret, time.Now())
		if c, loc, _ := cc.post("/moderate/enrol", url.Values{"totp": {totpCode}}); c != 303 || loc != "/moderate/unlock" {
			t.Fatalf("enrol: %d %s", c, loc)
		}
	}
	cc.get("/moderate/unlock")
	return cc
}

// Issue 6's "done when", over HTTP: a moderator logs in with TOTP, unlocks
// with the age-keygen key added by desk member add, redacts a name, tags
// EXPL.PASSPORT_RETENTION, moves the report to accepted; audit verify
// passes.
func TestConsoleRedactTagAccept(t *testing.T) {
	d := newDeployment(t, deployOpts{})
	c := d.client()
	d.receipt(c, d.post(c, map[string]string{"token": d.formToken(c, "en"), "consent.read": "yes", "consent.share": "yes",
		"testimony": "My employer Ahmed Karimi kept my passport for a year. <script>alert(1)</script>", "topic": "EXPL"}, nil))
	id := d.listJSON(d.modKey)[0].ID
	password, secret := d.moderatorAccount(t, "amina", "moderator")

	// Wrong password, then wrong TOTP: refused, nothing about which.
	bad := &consoleClient{t: t, d: d, c: d.client()}
	if code, _, body := bad.post("/moderate/login", url.Values{"login": {"amina"}, "password": {"wrong password here"}}); code != 401 || strings.Contains(body, "amina") {
		t.Errorf("wrong password: %d", code)
	}
	cc := d.signIn(t, "amina", password, secret, true)
	if code, loc := cc.get("/moderate/queue"); code != 200 || loc != "" {
		// Before unlocking, the queue sends you to unlock.
	}
	key, _ := os.ReadFile(d.modKey)
	if code, loc := cc.unlock(key); code != 303 || loc != "/moderate/queue" {
		t.Fatalf("unlock: %d %s", code, loc)
	}
	code, body := cc.get("/moderate/queue")
	if code != 200 || !strings.Contains(body, id) || !strings.Contains(body, "1 report") {
		t.Fatalf("queue: %d", code)
	}
	code, body = cc.get("/moderate/report/" + id)
	if code != 200 || !strings.Contains(body, "Ahmed Karimi") || !strings.Contains(body, `dir="auto"`) {
		t.Fatalf("report: %d", code)
	}
	if strings.Contains(body, "<script>alert(1)</script>") || !strings.Contains(body, "&lt;script&gt;") {
		t.Error("I4: testimony markup must render as text")
	}
	if c, _, _ := cc.post("/moderate/report/"+id+"/redact", url.Values{"field": {"testimony"}, "find": {"Ahmed Karimi"}, "marker": {"[NAME]"}}); c != 303 {
		t.Fatalf("redact: %d", c)
	}
	if c, _, _ := cc.post("/moderate/report/"+id+"/tags", url.Values{"code": {"EXPL.PASSPORT_RETENTION"}}); c != 303 {
		t.Fatalf("tag: %d", c)
	}
	if c, _, _ := cc.post("/moderate/report/"+id+"/tags", url.Values{"code": {"NOPE"}}); c != 400 {
		t.Errorf("a code outside the taxonomy: %d", c)
	}
	if c, _, _ := cc.post("/moderate/report/"+id+"/facets", url.Values{"severity": {"high"}, "country": {"LBY"}, "urgent": {"no"}}); c != 303 {
		t.Fatalf("facets: %d", c)
	}
	if c, _, _ := cc.post("/moderate/report/"+id+"/state", url.Values{"state": {"accepted"}}); c != 409 {
		t.Errorf("new -> accepted must be refused: %d", c)
	}
	for _, st := range []string{"in_review", "accepted"} {
		if c, _, _ := cc.post("/moderate/report/"+id+"/state", url.Values{"state": {st}}); c != 303 {
			t.Fatalf("-> %s: %d", st, c)
		}
	}
	if c, _, _ := cc.post("/moderate/report/"+id+"/note", url.Values{"note": {"Follow up with the partner NGO."}}); c != 303 {
		t.Fatalf("note: %d", c)
	}
	_, body = cc.get("/moderate/report/" + id)
	if strings.Contains(body, "Ahmed Karimi") || !strings.Contains(body, "[NAME]") || !strings.Contains(body, "EXPL.PASSPORT_RETENTION") || !strings.Contains(body, "Follow up") {
		t.Error("the report page does not show the redacted version, the tag and the note")
	}
	// The CLI sees the same.
	r := d.listJSON(d.modKey)[0]
	if r.State != "accepted" || strings.Contains(r.Testimony, "Karimi") || !strings.Contains(r.Testimony, "[NAME]") {
		t.Errorf("CLI after the console: %+v", r)
	}
	// A second session cannot read without unlocking.
	cc2 := d.signIn(t, "amina", password, secret, false)
	resp, _ := cc2.c.Get(d.url + "/moderate/report/" + id)
	resp.Body.Close()
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/moderate/unlock" {
		t.Errorf("a second session reads without unlocking: %d", resp.StatusCode)
	}
	// Logout kills the session server-side: the old cookie is worth nothing.
	oldCookies := cc.c.Jar.Cookies(mustURL(d.url + "/moderate/"))
	if c, _, _ := cc.post("/moderate/logout", url.Values{}); c != 303 {
		t.Fatalf("logout: %d", c)
	}
	replay := d.client()
	replay.Jar.SetCookies(mustURL(d.url+"/moderate/"), oldCookies)
	req, _ := http.NewRequest("POST", d.url+"/moderate/report/"+id+"/state", strings.NewReader("state=archived&csrf="+cc.csrf))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _ = replay.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("a replayed cookie after logout: %d, want 401", resp.StatusCode)
	}
	out := d.mustRun("audit", "verify", "--data", d.dir)
	if !strings.Contains(out, "intact") {
		t.Fatal(out)
	}
	d.stop()
	if hits := grepDir(t, d.dir, "Ahmed Karimi", "Follow up with", password); len(hits) > 0 {
		t.Errorf("plaintext on disk: %v", hits)
	}
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }

// A1-A3: every route has a policy; without a session nothing but login
// answers; a moderator gets 403 on admin routes; a report outside their
// desks is 404; GET on a state-changing route is 405; POST without the
// session's token is 403.
func TestConsoleRoutePolicies(t *testing.T) {
	d := newDeployment(t, deployOpts{})
	c := d.client()
	d.receipt(c, d.post(c, map[string]string{"token": d.formToken(c, "en"), "consent.read": "yes", "testimony": "x"}, nil))
	id := d.listJSON(d.modKey)[0].ID
	anon := d.client()
	for _, rt := range console.Routes {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		path = strings.NewReplacer("{id}", id, "{seq}", "1", "{login}", "amina", "{$}", "").Replace(path)
		req, _ := http.NewRequest(method, d.url+path, strings.NewReader(""))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := anon.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch {
		case rt.Policy == console.Public:
			if resp.StatusCode >= 500 {
				t.Errorf("%s: %d", rt.Pattern, resp.StatusCode)
			}
		case method == "GET":
			if resp.StatusCode != 303 || resp.Header.Get("Location") != "/moderate/login" {
				t.Errorf("%s without a session: %d %s", rt.Pattern, resp.StatusCode, resp.Header.Get("Location"))
			}
		default:
			if resp.StatusCode != 401 {
				t.Errorf("%s without a session: %d, want 401", rt.Pattern, resp.StatusCode)
			}
		}
		if method == "POST" && !slices.ContainsFunc(console.Routes, func(o console.Route) bool { return o.Pattern == "GET "+strings.TrimPrefix(rt.Pattern, "POST ") }) {
			r2, _ := anon.Get(d.url + path)
			r2.Body.Close()
			if r2.StatusCode != 405 {
				t.Errorf("GET %s: %d, want 405", path, r2.StatusCode)
			}
		}
	}
	password, secret := d.moderatorAccount(t, "amina", "moderator")
	cc := d.signIn(t, "amina", password, secret, true)
	key, _ := os.ReadFile(d.modKey)
	cc.unlock(key)
	cc.get("/moderate/queue")
	if code, _ := cc.get("/moderate/audit"); code != 403 {
		t.Errorf("moderator -> audit: %d, want 403", code)
	}
	if code, _, _ := cc.post("/moderate/accounts/amina/disable", url.Values{}); code != 403 {
		t.Errorf("moderator -> disable account: %d, want 403", code)
	}
	if code, _ := cc.get("/moderate/report/aaaaaaaaaaaaaaaaaaaaaaaaaa"); code != 404 {
		t.Errorf("unknown report: %d, want 404", code)
	}
	if code, _, _ := cc.post("/moderate/report/"+id+"/state", url.Values{"state": {"in_review"}, "csrf": {"forged"}}); code != 403 {
		t.Errorf("POST with a wrong token: %d, want 403", code)
	}
	// An admin who is on no desk... reads nothing; disabling kills sessions.
	adminPW, adminSecret := d.moderatorAccount(t, "root", "admin")
	ac := d.signIn(t, "root", adminPW, adminSecret, true)
	if code, _ := ac.get("/moderate/audit"); code != 200 {
		t.Errorf("admin -> audit: %d", code)
	}
	if code, _, _ := ac.post("/moderate/accounts/amina/disable", url.Values{}); code != 303 {
		t.Errorf("disable: %d", code)
	}
	if code, _ := cc.get("/moderate/queue"); code != 303 {
		t.Errorf("a disabled account's session still works: %d", code)
	}
}

// Issue 7 in the console: a lead creates a dossier, forwards an accepted
// report from its page, and downloads the export, which verifies.
func TestConsoleDossier(t *testing.T) {
	d := newDeployment(t, deployOpts{})
	c := d.client()
	d.receipt(c, d.post(c, map[string]string{"token": d.formToken(c, "en"), "consent.read": "yes", "consent.share": "yes",
		"testimony": "We were held in a warehouse.", "topic": "DET"}, nil))
	id := d.listJSON(d.modKey)[0].ID
	password, secret := d.moderatorAccount(t, "lead1", "lead")
	cc := d.signIn(t, "lead1", password, secret, true)
	key, _ := os.ReadFile(d.modKey)
	cc.unlock(key)
	body := filepath.Join(t.TempDir(), "body.txt")
	bodyRcpt := strings.TrimSpace(d.mustRun("keygen", "-o", body))
	cc.get("/moderate/dossiers")
	if code, _, _ := cc.post("/moderate/dossiers", url.Values{"name": {"sr-2027"}, "body": {"Special Rapporteur"}, "country": {"LBY"}, "recipients": {bodyRcpt}}); code != 303 {
		t.Fatalf("create dossier: %d", code)
	}
	for _, st := range []string{"in_review", "accepted"} {
		cc.post("/moderate/report/"+id+"/state", url.Values{"state": {st}})
	}
	_, page := cc.get("/moderate/report/" + id)
	if !strings.Contains(page, `id="forward-form"`) {
		t.Fatal("an accepted, consented report offers no dossier to forward to")
	}
	if code, _, _ := cc.post("/moderate/report/"+id+"/forward", url.Values{"dossier": {"sr-2027"}}); code != 303 {
		t.Fatalf("forward: %d", code)
	}
	code, _, bundle := cc.post("/moderate/dossiers/sr-2027/export", url.Values{})
	if code != 200 || !strings.HasPrefix(bundle, "age-encryption.org/v1") {
		t.Fatalf("export: %d", code)
	}
	f := filepath.Join(t.TempDir(), "sr.age")
	os.WriteFile(f, []byte(bundle), 0o600)
	if out := d.mustRun("dossier", "verify", f, "--identity", body); !strings.Contains(out, "1 reports") {
		t.Errorf("verify: %s", out)
	}
	if rs := d.listJSON(d.modKey); rs[0].State != "forwarded" {
		t.Errorf("state after forwarding: %s", rs[0].State)
	}
}
