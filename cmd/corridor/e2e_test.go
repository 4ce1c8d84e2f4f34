package main

import (
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

func canary(t *testing.T) string {
	b := make([]byte, 8)
	rand.Read(b)
	return "CANARY-" + hex.EncodeToString(b)
}

func (d *deployment) listJSON(identity string) []reportJSON {
	d.t.Helper()
	out := d.mustRun("report", "list", "--data", d.dir, "--identity", identity, "--json")
	var rs []reportJSON
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		d.t.Fatalf("report list --json is not JSON: %v\n%s", err, out)
	}
	return rs
}

// The "done when": the form submits in four languages, the report
// list shows the anonymised report with the contract's fields, a second
// submission of the same form stores nothing new, and no plaintext is on disk
// or in the logs.
func TestFormEndToEnd(t *testing.T) {
	d := newDeployment(t, deployOpts{})
	phone := "+218 91 555 0199"
	type sent struct{ lang, canary, receipt string }
	var all []sent
	for _, lang := range []string{"en", "fr", "es", "ar"} {
		c := d.client()
		cn := canary(t)
		tok := d.formToken(c, lang)
		fields := map[string]string{
			"token": tok, "lang": lang, "consent.read": "yes", "consent.share": "yes",
			"testimony": "They held us at the port. " + cn + " Call me on " + phone + " or mail me@example.org",
			"when":      "months", "where": "LY", "where.detail": "Zuwara", "topic": "DET",
			"contact": "yes", "contact.detail": "WhatsApp " + phone,
		}
		resp := d.post(c, fields, map[string][]byte{"photo.png": append([]byte("\x89PNG\r\n\x1a\n"), []byte(cn)...)})
		rc := d.receipt(c, resp)
		// The same form sent again (a double click, a retry) stores nothing
		// new and gets the same receipt.
		c2 := c
		resp2 := d.post(c2, fields, nil)
		if rc2 := d.receipt(c2, resp2); rc2 != rc {
			t.Errorf("%s: a resent form got receipt %s, want %s", lang, rc2, rc)
		}
		all = append(all, sent{lang, cn, rc})
	}
	reports := d.listJSON(d.modKey)
	if len(reports) != 4 {
		t.Fatalf("report list shows %d reports, want 4 (resent forms must not be stored twice)", len(reports))
	}
	byLang := map[string]reportJSON{}
	for _, r := range reports {
		byLang[r.Language] = r
	}
	for _, s := range all {
		r, ok := byLang[s.lang]
		if !ok {
			t.Fatalf("no report in %s", s.lang)
		}
		if r.ID == "" || r.Channel != "web" || r.Desk != "default" || r.State != "new" || r.Pseudonym == "" || !strings.HasPrefix(r.Received, "20") {
			t.Errorf("%s: report fields wrong: %+v", s.lang, r)
		}
		if len(r.Tags) != 1 || r.Tags[0] != "DET" {
			t.Errorf("%s: tags = %v, want [DET]", s.lang, r.Tags)
		}
		if !strings.Contains(r.Testimony, s.canary) || !strings.Contains(r.Testimony, "[PHONE]") || !strings.Contains(r.Testimony, "[EMAIL]") {
			t.Errorf("%s: testimony not anonymised as expected: %q", s.lang, r.Testimony)
		}
		if strings.Contains(r.Testimony, "555 0199") || strings.Contains(r.Testimony, "me@example.org") {
			t.Errorf("%s: the moderator copy still has the phone or email: %q", s.lang, r.Testimony)
		}
		if r.Answers["where"] != "LBY" || r.Answers["topic"] != "DET" || r.Answers["testimony"] != r.Testimony {
			t.Errorf("%s: answers = %v", s.lang, r.Answers)
		}
		if _, ok := r.Answers["contact.detail"]; ok {
			t.Errorf("%s: how to reach the sender is in the moderator copy; it belongs to the custodian only", s.lang)
		}
	}
	// report show opens one report with its attachment.
	out := d.mustRun("report", "show", reports[0].ID, "--data", d.dir, "--identity", d.modKey, "--json")
	var one reportJSON
	if err := json.Unmarshal([]byte(out), &one); err != nil || one.ID != reports[0].ID || one.Attachments != 1 {
		t.Errorf("report show: %v %+v", err, one)
	}
	// Canary sweep (C1, P1): nothing of what was sent, and no phone number,
	// is in the data dir or the logs, in plaintext.
	d.stop()
	needles := []string{phone, "555 0199", "me@example.org", "Zuwara", "They held us"}
	for _, s := range all {
		needles = append(needles, s.canary, s.receipt)
	}
	if hits := grepDir(t, d.dir, needles...); len(hits) > 0 {
		t.Errorf("plaintext on disk: %v", hits)
	}
	logs := d.logs.String()
	for _, n := range needles {
		if strings.Contains(logs, n) {
			t.Errorf("plaintext %q in the logs", n)
		}
	}
	if !strings.Contains(logs, "web form stored") {
		t.Errorf("the log has no line for stored forms: %s", logs)
	}
	// Every blob in the store is age.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(d.dir, "corridor.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT desk, custodian FROM entries")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var a, b []byte
		rows.Scan(&a, &b)
		for _, blob := range [][]byte{a, b} {
			if blob != nil && !strings.HasPrefix(string(blob), "age-encryption.org/v1\n-> X25519 ") {
				t.Errorf("a stored blob is not age to an X25519 recipient: %q", blob[:min(40, len(blob))])
			}
		}
		n++
	}
	if n != 8 {
		t.Errorf("%d sealed entries, want 8 (4 answers + 4 attachments)", n)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	d := newDeployment(t, deployOpts{})
	count := func() int {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(d.dir, "corridor.db")+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		db.QueryRow("SELECT count(*) FROM reports").Scan(&n)
		return n
	}
	good := func(c *http.Client, lang string) map[string]string {
		return map[string]string{"token": d.formToken(c, lang), "lang": lang, "consent.read": "yes", "testimony": "what happened " + canary(t)}
	}
	body := func(resp *http.Response) string {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(b)
	}
	t.Run("malformed month answers in the visitor's language and keeps the text", func(t *testing.T) {
		c := d.client()
		f := good(c, "fr")
		f["when.detail"] = "mars dernier"
		resp := d.post(c, f, nil)
		b := body(resp)
		if resp.StatusCode != 400 || !strings.Contains(b, "2026-03") || !strings.Contains(b, `lang="fr"`) {
			t.Errorf("status %d, body lacks the French hint", resp.StatusCode)
		}
		if !strings.Contains(b, f["testimony"]) {
			t.Error("the visitor's text was lost on the error page")
		}
	})
	t.Run("no consent", func(t *testing.T) {
		c := d.client()
		f := good(c, "es")
		delete(f, "consent.read")
		resp := d.post(c, f, nil)
		if b := body(resp); resp.StatusCode != 400 || !strings.Contains(b, `role="alert"`) {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	t.Run("empty testimony", func(t *testing.T) {
		c := d.client()
		f := good(c, "en")
		f["testimony"] = "   "
		if resp := d.post(c, f, nil); resp.StatusCode != 400 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	t.Run("unknown topic", func(t *testing.T) {
		c := d.client()
		f := good(c, "en")
		f["topic"] = "'; DROP TABLE reports; --"
		if resp := d.post(c, f, nil); resp.StatusCode != 400 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	t.Run("file that is not an image, audio or PDF", func(t *testing.T) {
		c := d.client()
		resp := d.post(c, good(c, "en"), map[string][]byte{"x.html": []byte("<html><script>alert(1)</script>")})
		if b := body(resp); resp.StatusCode != 415 || strings.Contains(b, "goroutine") {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	t.Run("oversized body gets 413", func(t *testing.T) {
		c := d.client()
		f := good(c, "en")
		big := make([]byte, 11<<20)
		copy(big, "\x89PNG\r\n\x1a\n")
		if resp := d.post(c, f, map[string][]byte{"big.png": big}); resp.StatusCode != 413 {
			t.Errorf("status %d", resp.StatusCode)
		}
		f["testimony"] = strings.Repeat("a", 70<<10)
		if resp := d.post(c, f, nil); resp.StatusCode != 413 {
			t.Errorf("1 MB field: status %d", resp.StatusCode)
		}
	})
	t.Run("too many fields", func(t *testing.T) {
		c := d.client()
		f := good(c, "en")
		for i := 0; i < 100; i++ {
			f["x"+string(rune('a'+i%26))+strings.Repeat("y", i)] = "1"
		}
		if resp := d.post(c, f, nil); resp.StatusCode != 413 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	// CSRF (F2).
	csrf := []struct {
		name   string
		mutate func(c *http.Client, f map[string]string, h http.Header) *http.Client
	}{
		{"missing token", func(c *http.Client, f map[string]string, h http.Header) *http.Client { delete(f, "token"); return c }},
		{"forged token", func(c *http.Client, f map[string]string, h http.Header) *http.Client {
			f["token"] = strings.Repeat("a", 32) + ".9999999999.00112233445566778899aabbccddeeff"
			return c
		}},
		{"token from another session", func(c *http.Client, f map[string]string, h http.Header) *http.Client { return d.client() }},
		{"cross-site fetch", func(c *http.Client, f map[string]string, h http.Header) *http.Client {
			h.Set("Sec-Fetch-Site", "cross-site")
			return c
		}},
		{"evil origin", func(c *http.Client, f map[string]string, h http.Header) *http.Client {
			h.Set("Origin", "https://evil.example")
			h.Del("Sec-Fetch-Site")
			return c
		}},
	}
	for _, tc := range csrf {
		t.Run("csrf "+tc.name, func(t *testing.T) {
			c := d.client()
			f := good(c, "en")
			h := http.Header{}
			h.Set("Origin", d.url)
			h.Set("Sec-Fetch-Site", "same-origin")
			c = tc.mutate(c, f, h)
			b, ct := multipartBody(t, f, nil)
			req, _ := http.NewRequest("POST", d.url+"/report", b)
			req.Header = h
			req.Header.Set("Content-Type", ct)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if bb := body(resp); resp.StatusCode != 403 || strings.Contains(bb, "goroutine") {
				t.Errorf("status %d, want 403", resp.StatusCode)
			}
		})
	}
	t.Run("unknown language falls back", func(t *testing.T) {
		resp, err := http.Get(d.url + "/report?lang=xx-nonsense")
		if err != nil {
			t.Fatal(err)
		}
		if b := body(resp); resp.StatusCode != 200 || !strings.Contains(b, `<html lang="en" dir="ltr">`) {
			t.Errorf("status %d", resp.StatusCode)
		}
		req, _ := http.NewRequest("GET", d.url+"/report", nil)
		req.Header.Set("Accept-Language", "fa-IR,fa;q=0.9")
		resp, _ = http.DefaultClient.Do(req)
		if b := body(resp); !strings.Contains(b, `<html lang="fa" dir="rtl">`) {
			t.Error("Persian must be answered in Persian, never in Arabic")
		}
		req.Header.Set("Accept-Language", "prs-AF")
		resp, _ = http.DefaultClient.Do(req)
		if b := body(resp); !strings.Contains(b, `<html lang="fa-AF" dir="rtl">`) {
			t.Error("Dari (prs) must be answered in Dari")
		}
		req.Header.Set("Accept-Language", "uz-UZ")
		resp, _ = http.DefaultClient.Do(req)
		if b := body(resp); !strings.Contains(b, `<html lang="en" dir="ltr">`) {
			t.Error("an unmatched language falls back to English with the language menu, not a guess")
		}
		req.Header.Set("Accept-Language", "ar-EG,ar;q=0.9")
		resp, _ = http.DefaultClient.Do(req)
		if b := body(resp); !strings.Contains(b, `<html lang="ar" dir="rtl">`) {
			t.Error("Accept-Language ar-EG must give the Arabic page")
		}
	})
	if n := count(); n != 0 {
		t.Errorf("bad input stored %d reports", n)
	}
	if strings.Contains(d.logs.String(), "what happened") {
		t.Error("testimony reached the log")
	}
}

// F3: every route carries the headers; the pages load nothing from outside.
func TestSecurityHeaders(t *testing.T) {
	d := newDeployment(t, deployOpts{})
	for _, path := range []string{"/report", "/report?lang=ar", "/report/done", "/report/static/style.css", "/report/static/kiosk.js"} {
		resp, err := http.Get(d.url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP lacks %s", path, want)
			}
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("Cache-Control") != "no-store" || h.Get("Permissions-Policy") == "" {
			t.Errorf("%s: headers %v", path, h)
		}
		if strings.Contains(string(b), "http://") && !strings.Contains(path, "static") {
			for _, l := range strings.Split(string(b), "\n") {
				if strings.Contains(l, "src=\"http") || strings.Contains(l, "href=\"http") && !strings.Contains(l, "quick-exit") {
					t.Errorf("%s loads an outside asset: %s", path, l)
				}
			}
		}
		if path == "/report" {
			if !strings.Contains(string(b), `autocomplete="off" spellcheck="false"`) {
				t.Error("the testimony field must have autocomplete=off and spellcheck=false")
			}
			if strings.Index(string(b), `id="quick-exit"`) > strings.Index(string(b), "<form") {
				t.Error("quick exit must come before the form")
			}
		}
	}
}

// C2 and invariant 4: the edge role starts and takes testimony with no
// private key anywhere in its data dir.
func TestEdgeRoleWithoutPrivateKey(t *testing.T) {
	var offline string
	d := newDeployment(t, deployOpts{role: "edge", edit: func(dir string) {
		offline = filepath.Join(t.TempDir(), "custodian-offline.txt")
		if err := os.Rename(filepath.Join(dir, "custodian-identity.txt"), offline); err != nil {
			t.Fatal(err)
		}
		// The dossier signing key lives on the moderation host.
		os.Remove(filepath.Join(dir, "secrets", "signing.key"))
	}})
	if hits := grepDir(t, d.dir, "AGE-SECRET-KEY"); len(hits) > 0 {
		t.Fatalf("a private key is in the edge's data dir: %v", hits)
	}
	if resp, err := http.Get(d.url + "/moderate/login"); err != nil || resp.StatusCode != 404 {
		t.Errorf("the edge serves the console: %v", resp.StatusCode)
	}
	c := d.client()
	cn := canary(t)
	d.receipt(c, d.post(c, map[string]string{"token": d.formToken(c, "en"), "consent.read": "yes", "testimony": cn}, nil))
	if strings.Contains(d.logs.String(), "custodian identity is still") || strings.Contains(d.logs.String(), "signing key is in") {
		t.Error("serve warned about a custodian identity that is not there")
	}
	rs := d.listJSON(d.modKey)
	if len(rs) != 1 || !strings.Contains(rs[0].Testimony, cn) {
		t.Fatalf("moderator cannot read what the edge took: %+v", rs)
	}
	// The custodian, offline, reads it too; the edge has nothing to read with.
	if rs := d.listJSON(offline); len(rs) != 1 {
		t.Error("the custodian cannot read the report")
	}
	if _, stderr, code := d.run("report", "list", "--data", d.dir, "--identity", filepath.Join(d.dir, "custodian-identity.txt")); code != 1 || !strings.Contains(stderr, "cannot read the identity file") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

func TestPostQuantumDeployment(t *testing.T) {
	d := newDeployment(t, deployOpts{keyType: "pq"})
	c := d.client()
	cn := canary(t)
	d.receipt(c, d.post(c, map[string]string{"token": d.formToken(c, "en"), "consent.read": "yes", "testimony": cn}, nil))
	rs := d.listJSON(d.modKey)
	if len(rs) != 1 || !strings.Contains(rs[0].Testimony, cn) {
		t.Fatalf("%+v", rs)
	}
	db, _ := sql.Open("sqlite", "file:"+filepath.Join(d.dir, "corridor.db")+"?mode=ro")
	defer db.Close()
	var blob []byte
	db.QueryRow("SELECT desk FROM entries LIMIT 1").Scan(&blob)
	if !strings.HasPrefix(string(blob), "age-encryption.org/v1\n-> mlkem768x25519 ") {
		t.Errorf("a pq deployment sealed with another stanza type: %q", blob[:40])
	}
	// An X25519 member cannot join a post-quantum desk (silent downgrade).
	r := strings.TrimSpace(d.mustRun("keygen", "-o", filepath.Join(t.TempDir(), "k.txt")))
	if _, stderr, code := d.run("desk", "member", "add", "default", "--recipient", r, "--data", d.dir); code != 1 || !strings.Contains(stderr, "pq") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

// C2: a key set that mixes post-quantum and classic recipients, or holds a
// secret key, stops the gateway at start with a clear error.
func TestBadKeySetRefusedAtStart(t *testing.T) {
	pq := t.TempDir()
	m := &Main{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}
	if code := m.Run(t.Context(), []string{"keygen", "--pq", "-o", filepath.Join(pq, "pq.txt")}); code != 0 {
		t.Fatal("keygen --pq failed")
	}
	pqKey, _ := os.ReadFile(filepath.Join(pq, "pq.txt"))
	pqRcpt := strings.TrimPrefix(strings.Split(string(pqKey), "\n")[1], "# public key: ")
	cases := []struct {
		name, want string
		edit       func(cfg string) string
	}{
		{"pq custodian in an x25519 deployment", "one key type", func(cfg string) string {
			return replaceLine(cfg, "custodian_recipient", `custodian_recipient = "`+pqRcpt+`"`)
		}},
		{"secret key as recipient", "secret key", func(cfg string) string {
			return replaceLine(cfg, "custodian_recipient", `custodian_recipient = "AGE-SECRET-KEY-1QQQ"`)
		}},
		{"empty recipient", "recipient", func(cfg string) string { return replaceLine(cfg, "custodian_recipient", `custodian_recipient = ""`) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d")
			var o, e strings.Builder
			m := &Main{Stdout: &o, Stderr: &e, Getenv: func(string) string { return "" }}
			if m.Run(t.Context(), []string{"init", "--data", dir}) != 0 {
				t.Fatal(e.String())
			}
			p := filepath.Join(dir, "corridor.toml")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(tc.edit(string(b))), 0o600)
			e.Reset()
			code := m.Run(t.Context(), []string{"serve", "--data", dir, "--listen", "127.0.0.1:0"})
			if code != 1 || !strings.Contains(e.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want a refusal mentioning %q", code, e.String(), tc.want)
			}
		})
	}
}

func replaceLine(text, key, line string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, key+" ") || strings.HasPrefix(l, key+"=") {
			l = line
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// C3: a tampered envelope is an error naming the record; nothing of it is
// shown.
func TestTamperedEnvelopeShowsNothing(t *testing.T) {
	d := newDeployment(t, deployOpts{})
	var ids []string
	for i := 0; i < 2; i++ {
		c := d.client()
		d.receipt(c, d.post(c, map[string]string{"token": d.formToken(c, "en"), "consent.read": "yes", "testimony": "report number " + string(rune('A'+i))}, nil))
	}
	for _, r := range d.listJSON(d.modKey) {
		ids = append(ids, r.ID)
	}
	d.stop()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(d.dir, "corridor.db"))
	if err != nil {
		t.Fatal(err)
	}
	// Swap the two reports' sealed answers.
	var a, b []byte
	db.QueryRow("SELECT desk FROM entries WHERE report_id = ? AND seq = 0", ids[0]).Scan(&a)
	db.QueryRow("SELECT desk FROM entries WHERE report_id = ? AND seq = 0", ids[1]).Scan(&b)
	db.Exec("UPDATE entries SET desk = ? WHERE report_id = ? AND seq = 0", b, ids[0])
	db.Exec("UPDATE entries SET desk = ? WHERE report_id = ? AND seq = 0", a, ids[1])
	db.Close()
	for _, id := range ids {
		out, stderr, code := d.run("report", "show", id, "--data", d.dir, "--identity", d.modKey)
		if code != 1 || !strings.Contains(stderr, id) || strings.Contains(out, "report number") {
			t.Errorf("swapped envelope: exit %d, out %q, err %q", code, out, stderr)
		}
	}
	out, stderr, code := d.run("report", "list", "--data", d.dir, "--identity", d.modKey)
	if code != 1 || strings.Contains(out, "report number") || !strings.Contains(stderr, ids[0]) {
		t.Errorf("list with damaged records: exit %d, out %q, err %q", code, out, stderr)
	}
}

func TestInitNeverOverwrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	var e strings.Builder
	m := &Main{Stdout: io.Discard, Stderr: &e, Getenv: func(string) string { return "" }}
	if m.Run(t.Context(), []string{"init", "--data", dir}) != 0 {
		t.Fatal(e.String())
	}
	before, _ := os.ReadFile(filepath.Join(dir, "custodian-identity.txt"))
	if code := m.Run(t.Context(), []string{"init", "--data", dir}); code != 1 || !strings.Contains(e.String(), "never overwrites") {
		t.Errorf("second init: exit %d, %s", code, e.String())
	}
	after, _ := os.ReadFile(filepath.Join(dir, "custodian-identity.txt"))
	if string(before) != string(after) {
		t.Error("init changed the custodian identity")
	}
	for _, f := range []string{"custodian-identity.txt", "secrets/pseudonym.key", "secrets/signing.key", "corridor.toml", "corridor.db"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, st.Mode())
		}
	}
	if code := m.Run(t.Context(), []string{"frobnicate"}); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}

// A moderator's identity may be passphrase-protected (age -p).
func TestPassphraseIdentity(t *testing.T) {
	d := newDeployment(t, deployOpts{env: map[string]string{"CORRIDOR_PASSPHRASE": "correct horse battery"}})
	c := d.client()
	d.receipt(c, d.post(c, map[string]string{"token": d.formToken(c, "en"), "consent.read": "yes", "testimony": "x"}, nil))
	enc := filepath.Join(t.TempDir(), "mod.age")
	plain, _ := os.ReadFile(d.modKey)
	if err := encryptWithPassphrase(enc, plain, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if rs := d.listJSON(enc); len(rs) != 1 {
		t.Fatalf("%d reports with a passphrase identity", len(rs))
	}
	d.env["CORRIDOR_PASSPHRASE"] = "wrong"
	if _, stderr, code := d.run("report", "list", "--data", d.dir, "--identity", enc); code != 1 || !strings.Contains(stderr, "passphrase") {
		t.Errorf("wrong passphrase: exit %d %s", code, stderr)
	}
}

// A5: the audit chain is keyed by the deployment's secret: rewriting an
// entry and recomputing the chain without the key is caught, naming it.
func TestAuditVerifyCatchesRewrites(t *testing.T) {
	d := newDeployment(t, deployOpts{})
	c := d.client()
	d.receipt(c, d.post(c, map[string]string{"token": d.formToken(c, "en"), "consent.read": "yes", "testimony": "x"}, nil))
	d.listJSON(d.modKey) // audited decrypts
	if out := d.mustRun("audit", "verify", "--data", d.dir); !strings.Contains(out, "intact") {
		t.Fatalf("a fresh log does not verify: %s", out)
	}
	d.stop()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(d.dir, "corridor.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Rewrite entry 2 and recompute every later hash, as someone holding
	// only the database would (plain SHA-256; they lack the key).
	rows, _ := db.Query("SELECT seq, time, actor, action, object FROM audit ORDER BY seq")
	type ent struct {
		seq                       int64
		tm, actor, action, object string
	}
	var es []ent
	for rows.Next() {
		var e ent
		rows.Scan(&e.seq, &e.tm, &e.actor, &e.action, &e.object)
		es = append(es, e)
	}
	rows.Close()
	if len(es) < 3 {
		t.Fatalf("only %d audit entries", len(es))
	}
	es[1].object = "nothing to see"
	prev := "corridor-audit-v1"
	for _, e := range es {
		h := sha256.Sum256([]byte(fmt.Sprintf("%d\x00%s\x00%s\x00%s\x00%s\x00%s", e.seq, prev, e.tm, e.actor, e.action, e.object)))
		hx := hex.EncodeToString(h[:])
		db.Exec("UPDATE audit SET object = ?, prev = ?, hash = ? WHERE seq = ?", e.object, prev, hx, e.seq)
		prev = hx
	}
	_, stderr, code := d.run("audit", "verify", "--data", d.dir)
	if code != 1 || !strings.Contains(stderr, "audit entry 1") {
		t.Errorf("a rewritten log: exit %d, %q; want a failure naming the first entry that no longer matches", code, stderr)
	}
}
