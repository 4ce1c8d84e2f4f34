package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer collects log lines from the server goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// deployment is a real Corridor in a temp dir: init, a moderator identity
// made by keygen and added to the desk, and `serve` on a loopback port.
type deployment struct {
	t      *testing.T
	dir    string // data dir
	url    string // http://127.0.0.1:port
	modKey string // the moderator's identity file (outside the data dir)
	env    map[string]string
	logs   *syncBuffer
	stop   func()
}

type deployOpts struct {
	role    string
	keyType string
	env     map[string]string
	edit    func(dir string) // runs after init, before serve
}

func newDeployment(t *testing.T, o deployOpts) *deployment {
	t.Helper()
	root := t.TempDir()
	d := &deployment{t: t, dir: filepath.Join(root, "data"), modKey: filepath.Join(root, "moderator.txt"),
		env: map[string]string{}, logs: &syncBuffer{}}
	for k, v := range o.env {
		d.env[k] = v
	}
	kt := o.keyType
	if kt == "" {
		kt = "x25519"
	}
	d.mustRun("init", "--data", d.dir, "--org", "Test Org", "--key-type", kt)
	args := []string{"keygen", "-o", d.modKey}
	if kt == "pq" {
		args = append(args, "--pq")
	}
	rcpt := strings.TrimSpace(d.mustRun(args...))
	d.mustRun("desk", "member", "add", "default", "--recipient", rcpt, "--data", d.dir)
	if o.edit != nil {
		o.edit(d.dir)
	}
	role := o.role
	if role == "" {
		role = "all"
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan int, 1)
	m := &Main{Stdout: d.logs, Stderr: d.logs, Log: d.logs, Getenv: d.getenv, Ready: func(a string) { ready <- a }}
	go func() {
		done <- m.Run(ctx, []string{"serve", "--data", d.dir, "--listen", "127.0.0.1:0", "--role", role})
	}()
	select {
	case a := <-ready:
		d.url = "http://" + a
	case code := <-done:
		cancel()
		t.Fatalf("serve exited with %d: %s", code, d.logs.String())
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("serve did not start")
	}
	d.stop = sync.OnceFunc(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	t.Cleanup(d.stop)
	return d
}

func (d *deployment) getenv(k string) string { return d.env[k] }

// run runs a corridor command in process.
func (d *deployment) run(args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	m := &Main{Stdout: &o, Stderr: &e, Getenv: d.getenv}
	code = m.Run(context.Background(), args)
	return o.String(), e.String(), code
}

func (d *deployment) mustRun(args ...string) string {
	d.t.Helper()
	o, e, code := d.run(args...)
	if code != 0 {
		d.t.Fatalf("corridor %s: exit %d: %s", strings.Join(args, " "), code, e)
	}
	return o
}

// client is a browser-like HTTP client: a cookie jar, no redirects followed.
func (d *deployment) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

var tokenRE = regexp.MustCompile(`name="token" value="([^"]+)"`)

// formToken loads the form and returns its token.
func (d *deployment) formToken(c *http.Client, lang string) string {
	d.t.Helper()
	resp, err := c.Get(d.url + "/report?lang=" + lang)
	if err != nil {
		d.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := tokenRE.FindSubmatch(body)
	if m == nil {
		d.t.Fatalf("no token in the form: %s", body)
	}
	return string(m[1])
}

// post sends the form as a browser would (multipart, same origin).
func (d *deployment) post(c *http.Client, fields map[string]string, files map[string][]byte) *http.Response {
	d.t.Helper()
	body, ct := multipartBody(d.t, fields, files)
	req, _ := http.NewRequest("POST", d.url+"/report", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Origin", d.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	return resp
}

// receipt follows the 303 to the confirmation and returns the receipt.
func (d *deployment) receipt(c *http.Client, resp *http.Response) string {
	d.t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		b, _ := io.ReadAll(resp.Body)
		d.t.Fatalf("submit: status %d: %s", resp.StatusCode, b)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	r2, err := c.Get(d.url + loc.Path)
	if err != nil {
		d.t.Fatal(err)
	}
	defer r2.Body.Close()
	b, _ := io.ReadAll(r2.Body)
	m := regexp.MustCompile(`id="receipt"[^>]*>([A-Z0-9-]+)<`).FindSubmatch(b)
	if m == nil {
		d.t.Fatalf("no receipt on the confirmation page: %s", b)
	}
	return string(m[1])
}

// grepDir returns the files under dir that contain needle.
func grepDir(t *testing.T, dir string, needles ...string) []string {
	t.Helper()
	var hits []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				hits = append(hits, p+": "+n)
			}
		}
		return nil
	})
	return hits
}

var receiptRE = regexp.MustCompile(`[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}`)

func readFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o600) }

func openRO(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "corridor.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
