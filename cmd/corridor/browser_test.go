package main

// Browser tests of the web form (SECURITY-CASES F1, F3, F4, F5): a real
// Chromium drives a real deployment through chromedp.
//
//	go test ./cmd/corridor/ -run Browser -count=1 -v
//
// CORRIDOR_CHROMIUM names the browser (default /usr/bin/chromium); without one
// the tests skip, unless CI is set. CORRIDOR_ARTIFACTS keeps the screenshots.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// browserTestTimeout bounds each subtest: its tab dies with it.
const browserTestTimeout = 60 * time.Second

var browserReceiptRE = regexp.MustCompile(`^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$`)

// browserNeutralPage is the quick-exit target: a page that says nothing of Corridor.
type browserNeutralPage struct {
	*httptest.Server
	mu       sync.Mutex
	referers []string // requests whose Referer is another site
}

func newBrowserNeutralPage(t *testing.T) *browserNeutralPage {
	n := &browserNeutralPage{}
	n.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.mu.Lock()
		if ref := r.Header.Get("Referer"); ref != "" && !strings.HasPrefix(ref, "http://"+r.Host+"/") {
			n.referers = append(n.referers, r.URL.Path+" from "+ref)
		}
		n.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Weather</title></head>`+
			`<body><h1>Weather</h1><p>Sunny, 24 degrees.</p></body></html>`)
	}))
	t.Cleanup(n.Close)
	return n
}

func (n *browserNeutralPage) sawReferer() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.referers...)
}

// browserSetWebOption rewrites one line of the [web] table of corridor.toml.
func browserSetWebOption(t *testing.T, dir, key, value string) {
	t.Helper()
	p := filepath.Join(dir, "corridor.toml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + ` = .*$`)
	if !re.Match(b) {
		t.Fatalf("corridor.toml has no %s line to rewrite:\n%s", key, b)
	}
	b = re.ReplaceAllLiteral(b, []byte(key+" = "+value))
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// browserStart starts one headless Chromium for the whole test; tabs are
// children of the returned context.
func browserStart(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("CORRIDOR_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium is required in CI: %v", err)
		}
		t.Skipf("browser tests need %s (set CORRIDOR_CHROMIUM): %v", path, err)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first Do starts the browser and binds it to ctx, which has no
	// deadline: each tab gets its own.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start %s: %v", path, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start in 30 s", path)
	}
	return ctx
}

// browserArtifactDir is where screenshots go: $CORRIDOR_ARTIFACTS, or a temp dir.
func browserArtifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CORRIDOR_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browserNetLog records every request a tab makes.
type browserNetLog struct {
	mu   sync.Mutex
	urls []string
}

func (l *browserNetLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.urls...)
}

// foreign returns the requests that did not go to origin.
func (l *browserNetLog) foreign(origin string) []string {
	var out []string
	for _, u := range l.all() {
		if u != origin && !strings.HasPrefix(u, origin+"/") {
			out = append(out, u)
		}
	}
	return out
}

// browserTab opens a tab in its own browser context (no shared cookies or
// storage), bound to a 60 s deadline and closed when t ends. With origin
// set, the tab's network log is checked at the end: zero requests to any
// other origin (F3).
func browserTab(t *testing.T, browser context.Context, origin string) (context.Context, *browserNetLog) {
	t.Helper()
	tabCtx, cancelTab := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	ctx, cancel := context.WithTimeout(tabCtx, browserTestTimeout)
	t.Cleanup(func() {
		cancel()
		cancelTab()
	})
	log := &browserNetLog{}
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			log.mu.Lock()
			log.urls = append(log.urls, e.Request.URL)
			log.mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	if origin != "" {
		t.Cleanup(func() {
			if f := log.foreign(origin); len(f) > 0 {
				t.Errorf("F3: the page made %d request(s) to another origin than %s: %q", len(f), origin, f)
			}
		})
	}
	return ctx, log
}

func browserCanary(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "CANARY-" + hex.EncodeToString(b)
}

// browserEntry is what a visitor fills in.
type browserEntry struct {
	testimony string
	topic     string // a radio value of the topic step
	country   string // an option value of the where select (ISO alpha-2)
}

// browserFill fills the loaded form: consent, testimony, topic, country.
func browserFill(e browserEntry) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.ID("send")),
		chromedp.Click(chromedp.CSS(`input[name="consent.read"]`)),
		chromedp.SendKeys(chromedp.ID("f-testimony"), e.testimony),
		chromedp.Click(chromedp.CSS(`input[name="topic"][value="`+e.topic+`"]`)),
		chromedp.SetValue(chromedp.ID("f-where"), e.country),
	)
}

// browserSubmit opens the form in lang, fills it, sends it and returns the receipt.
func browserSubmit(t *testing.T, ctx context.Context, d *deployment, lang string, e browserEntry) string {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(d.url+"/report?lang="+lang),
		browserFill(e),
		chromedp.Click(chromedp.ID("send")),
		chromedp.WaitVisible(chromedp.ID("receipt")),
	); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		t.Fatalf("submit the form (%s): %v\npage: %.2000s", lang, err, html)
	}
	receipt, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("receipt")))
	if err != nil {
		t.Fatal(err)
	}
	receipt = strings.TrimSpace(receipt)
	if !browserReceiptRE.MatchString(receipt) {
		t.Errorf("receipt %q is not XXXX-XXXX-XXXX", receipt)
	}
	return receipt
}

// browserReport is the part of `report list --json` these tests read.
type browserReport struct {
	ID        string            `json:"id"`
	Channel   string            `json:"channel"`
	Language  string            `json:"language"`
	Testimony string            `json:"testimony"`
	Answers   map[string]string `json:"answers"`
}

// browserFindReport returns the one stored report whose moderator copy holds needle.
func browserFindReport(t *testing.T, d *deployment, needle string) browserReport {
	t.Helper()
	out, stderr, code := d.run("report", "list", "--data", d.dir, "--identity", d.modKey, "--json")
	if code != 0 {
		t.Fatalf("report list: exit %d: %s", code, stderr)
	}
	var reports []browserReport
	if err := json.Unmarshal([]byte(out), &reports); err != nil {
		t.Fatalf("report list --json: %v\n%s", err, out)
	}
	var hits []browserReport
	for _, r := range reports {
		if strings.Contains(r.Testimony, needle) {
			hits = append(hits, r)
		}
	}
	if len(hits) != 1 {
		t.Fatalf("want 1 report holding %s, found %d among %d reports", needle, len(hits), len(reports))
	}
	return hits[0]
}

func browserCheckReport(t *testing.T, r browserReport, lang string) {
	t.Helper()
	if r.Channel != "web" || r.Language != lang {
		t.Errorf("report %s: channel %q language %q, want web %s", r.ID, r.Channel, r.Language, lang)
	}
}

func browserScreenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

func browserEval(t *testing.T, ctx context.Context, js string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

// browserWaitTitle waits until the tab shows a page with this title, across
// navigations, and returns how long that took.
func browserWaitTitle(t *testing.T, ctx context.Context, want string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var got string
	for time.Since(start) < within {
		if title, err := chromedp.Run(ctx, chromedp.Title()); err == nil {
			if got = title; title == want {
				return time.Since(start)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	t.Fatalf("after %v the tab shows %q (title %q), want the page titled %q", within, loc, got, want)
	return 0
}

// browserBackNotToForm goes Back from the neutral page: there may be no entry
// to go back to; if there is one, it must not show the typed text (F5).
func browserBackNotToForm(t *testing.T, ctx context.Context, secret string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.NavigateBack()); err != nil {
		if strings.Contains(err.Error(), "invalid navigation entry") {
			t.Logf("Back: no entry before the neutral page")
			return
		}
		t.Fatalf("Back: %v", err)
	}
	// The page may still be swapping right after Back: read it again for a
	// moment if its document is not there yet.
	var loc, html string
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		loc, _ = chromedp.Run(ctx, chromedp.Location())
		html, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement ? document.documentElement.outerHTML : ""`))
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("Back from the neutral page goes to %s", loc)
	if err != nil {
		t.Fatalf("Back to %s: %v", loc, err)
	}
	if strings.Contains(html, secret) {
		t.Errorf("F5: Back from the neutral page shows %s again, with the typed text", loc)
	}
	if strings.Contains(html, `id="f-testimony"`) {
		v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("f-testimony")))
		if err == nil && v != "" {
			t.Errorf("F5: Back from the neutral page shows the form with %q in it", v)
		}
	}
}

type browserRect struct{ Top, Bottom, Left, Right, Width, Height, ViewW, ViewH float64 }

// browserExitButton measures #quick-exit and reports whether it is the element
// a tap at its centre reaches (nothing covers it).
func browserExitButton(t *testing.T, ctx context.Context) (browserRect, bool) {
	t.Helper()
	var out struct {
		R   browserRect `json:"r"`
		Hit bool        `json:"hit"`
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](`(() => {
		const el = document.getElementById("quick-exit");
		const b = el.getBoundingClientRect();
		const hit = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
		return {r: {Top: b.top, Bottom: b.bottom, Left: b.left, Right: b.right, Width: b.width, Height: b.height,
			ViewW: window.innerWidth, ViewH: window.innerHeight}, hit: !!hit && !!hit.closest("#quick-exit")};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out.R, out.Hit
}

// browserShiftDown sends one keydown of Shift; autoRepeat marks the
// keydowns a keyboard repeats while the key is held.
func browserShiftDown(autoRepeat bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type: input.DispatchKeyEventTypeRawKeyDown, Key: "Shift", Code: "ShiftLeft",
			WindowsVirtualKeyCode: 16, NativeVirtualKeyCode: 16, Modifiers: 8, Location: 1, AutoRepeat: &autoRepeat,
		})
		return err
	})
}

// browserShiftUp releases Shift.
func browserShiftUp() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type: input.DispatchKeyEventTypeKeyUp, Key: "Shift", Code: "ShiftLeft",
			WindowsVirtualKeyCode: 16, NativeVirtualKeyCode: 16, Location: 1,
		})
		return err
	})
}

func TestBrowser(t *testing.T) {
	browser := browserStart(t)
	artifacts := browserArtifactDir(t)
	neutral := newBrowserNeutralPage(t)
	d := newDeployment(t, deployOpts{edit: func(dir string) {
		browserSetWebOption(t, dir, "quick_exit_url", fmt.Sprintf("%q", neutral.URL+"/"))
	}})

	// 1. JS on, English: the moderator copy is redacted.
	t.Run("SubmitEnglish", func(t *testing.T) {
		ctx, _ := browserTab(t, browser, d.url)
		canary := browserCanary(t)
		receipt := browserSubmit(t, ctx, d, "en", browserEntry{
			testimony: "They took our papers at the checkpoint. My number is +218 91 234 5678. " + canary,
			topic:     "DET", country: "LY",
		})
		t.Logf("receipt %s", receipt)
		r := browserFindReport(t, d, canary)
		browserCheckReport(t, r, "en")
		if !strings.Contains(r.Testimony, "[PHONE]") || strings.Contains(r.Testimony, "234 5678") {
			t.Errorf("moderator copy is not redacted: %q", r.Testimony)
		}
		if r.Answers["topic"] != "DET" {
			t.Errorf("topic %q, want DET", r.Answers["topic"])
		}
	})

	// 2. F1: JS off, French.
	t.Run("NoJavaScriptFrench", func(t *testing.T) {
		ctx, _ := browserTab(t, browser, d.url)
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled,
			emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
		canary := browserCanary(t)
		text := "Ils ont pris nos papiers au poste de contrôle. " + canary
		// Esc does nothing without kiosk.js: the typed text stays.
		if err := chromedp.Do(ctx,
			chromedp.Navigate(d.url+"/report?lang=fr"),
			chromedp.SendKeys(chromedp.ID("f-testimony"), "x"),
			chromedp.KeyEvent(kb.Escape),
			chromedp.Sleep(300*time.Millisecond),
		); err != nil {
			t.Fatal(err)
		}
		if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("f-testimony"))); err != nil || v != "x" {
			t.Fatalf("scripts still run in the page (Esc wiped the form: %q, %v)", v, err)
		}
		receipt := browserSubmit(t, ctx, d, "fr", browserEntry{testimony: text, topic: "BORDER", country: "TN"})
		t.Logf("receipt %s", receipt)
		if got := browserEval(t, ctx, `document.documentElement.lang`); got != "fr" {
			t.Errorf("confirmation lang=%q, want fr", got)
		}
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		if strings.Contains(html, canary) {
			t.Errorf("F1: the confirmation repeats the testimony")
		}
		browserCheckReport(t, browserFindReport(t, d, canary), "fr")
	})

	// 3. Arabic is right to left.
	t.Run("ArabicRTL", func(t *testing.T) {
		ctx, _ := browserTab(t, browser, d.url)
		if err := chromedp.Do(ctx, chromedp.Navigate(d.url+"/report?lang=ar"), chromedp.WaitVisible(chromedp.ID("send"))); err != nil {
			t.Fatal(err)
		}
		if dir, lang := browserEval(t, ctx, `document.documentElement.dir`), browserEval(t, ctx, `document.documentElement.lang`); dir != "rtl" || lang != "ar" {
			t.Errorf(`<html dir=%q lang=%q>, want dir="rtl" lang="ar"`, dir, lang)
		}
		browserScreenshot(t, ctx, artifacts, "ar-form.png")
		canary := browserCanary(t)
		receipt := browserSubmit(t, ctx, d, "ar", browserEntry{testimony: "أخذوا أوراقنا عند الحاجز " + canary, topic: "VIOL", country: "LY"})
		t.Logf("receipt %s", receipt)
		browserCheckReport(t, browserFindReport(t, d, canary), "ar")
	})

	// 4. F4: Back after a submission shows no testimony, and the browser
	// keeps nothing.
	t.Run("BackAfterSubmit", func(t *testing.T) {
		ctx, _ := browserTab(t, browser, d.url)
		canary := browserCanary(t)
		browserSubmit(t, ctx, d, "en", browserEntry{testimony: "Back button check. " + canary, topic: "other", country: "unknown"})
		if err := chromedp.Do(ctx, chromedp.NavigateBack(), chromedp.WaitReady(chromedp.ID("f-testimony"))); err != nil {
			t.Fatalf("Back: %v", err)
		}
		if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("f-testimony"))); err != nil || v != "" {
			t.Errorf("F4: after Back the testimony field holds %q (%v), want empty", v, err)
		}
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		if strings.Contains(html, canary) {
			t.Errorf("F4: after Back the page holds the testimony")
		}
		for _, js := range []string{`document.cookie`, `String(localStorage.length)`, `String(sessionStorage.length)`} {
			want := "0"
			if js == `document.cookie` {
				want = ""
			}
			if got := browserEval(t, ctx, js); got != want {
				t.Errorf("F4: %s = %q, want %q", js, got, want)
			}
		}
		dbs, err := chromedp.Run(ctx, chromedp.Evaluate[[]any](`indexedDB.databases()`, chromedp.EvalAwaitPromise))
		if err != nil || len(dbs) != 0 {
			t.Errorf("F4: IndexedDB databases %v (%v), want none", dbs, err)
		}
		hist, err := chromedp.Run(ctx, chromedp.NavigationEntries())
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range hist.Entries {
			if strings.Contains(e.URL+e.Title, canary) || strings.Contains(e.URL, "234") {
				t.Errorf("F4: history entry %q %q holds the testimony", e.URL, e.Title)
			}
		}
	})

	// 5. F5: quick exit. These tabs go to the neutral page on purpose, so
	// they are not in the network audit.
	t.Run("QuickExit", func(t *testing.T) {
		t.Run("FirstInTabOrder", func(t *testing.T) {
			ctx, _ := browserTab(t, browser, "")
			if err := chromedp.Do(ctx, chromedp.Navigate(d.url+"/report?lang=en"), chromedp.WaitVisible(chromedp.ID("send"))); err != nil {
				t.Fatal(err)
			}
			if got := browserEval(t, ctx, `document.activeElement === document.body ? "body" : document.activeElement.id`); got != "body" {
				t.Fatalf("focus is on %q after load, want body", got)
			}
			if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
				t.Fatal(err)
			}
			if got := browserEval(t, ctx, `document.activeElement.id`); got != "quick-exit" {
				t.Errorf("F5: Tab from a fresh page focuses %q, want quick-exit", got)
			}
		})

		exits := []struct {
			name  string
			press chromedp.Action[chromedp.Void]
		}{
			{"Escape", chromedp.KeyEvent(kb.Escape)},
			{"ShiftThreeTimes", chromedp.Steps(
				browserShiftDown(false), browserShiftUp(), chromedp.Sleep(80*time.Millisecond),
				browserShiftDown(false), browserShiftUp(), chromedp.Sleep(80*time.Millisecond),
				browserShiftDown(false), browserShiftUp())},
		}
		for _, x := range exits {
			t.Run(x.name, func(t *testing.T) {
				ctx, _ := browserTab(t, browser, "")
				canary := browserCanary(t)
				if err := chromedp.Do(ctx,
					chromedp.Navigate(d.url+"/report?lang=en"),
					chromedp.SendKeys(chromedp.ID("f-testimony"), "quick exit "+canary),
				); err != nil {
					t.Fatal(err)
				}
				before := browserEval(t, ctx, `String(history.length)`)
				if err := chromedp.Do(ctx, x.press); err != nil {
					t.Fatal(err)
				}
				took := browserWaitTitle(t, ctx, "Weather", 5*time.Second)
				t.Logf("neutral page after %v", took.Round(time.Millisecond))
				if after := browserEval(t, ctx, `String(history.length)`); after != before {
					t.Errorf("F5: history grew from %s to %s entries: the exit must replace the form (location.replace)", before, after)
				}
				browserBackNotToForm(t, ctx, canary)
			})
		}

		// F1: without JavaScript the exit is a plain link, and it works.
		t.Run("LinkWithoutJavaScript", func(t *testing.T) {
			ctx, _ := browserTab(t, browser, "")
			if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled,
				emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx,
				chromedp.Navigate(d.url+"/report?lang=fr"),
				chromedp.Click(chromedp.ID("quick-exit")),
			); err != nil {
				t.Fatal(err)
			}
			browserWaitTitle(t, ctx, "Weather", 5*time.Second)
		})

		// A Shift held down (auto-repeat) is one press, not three: it must
		// not throw away what the visitor typed.
		t.Run("HeldShiftIsNotThreePresses", func(t *testing.T) {
			ctx, _ := browserTab(t, browser, "")
			if err := chromedp.Do(ctx,
				chromedp.Navigate(d.url+"/report?lang=en"),
				chromedp.SendKeys(chromedp.ID("f-testimony"), "a name in capitals: "),
				// Shift goes down and stays down: the first keydown, then
				// the keyboard's auto-repeat, as on Windows.
				browserShiftDown(false), browserShiftDown(true), browserShiftDown(true), browserShiftDown(true), browserShiftDown(true),
				chromedp.Sleep(300*time.Millisecond),
			); err != nil {
				t.Fatal(err)
			}
			title, _ := chromedp.Run(ctx, chromedp.Title())
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			if title == "Weather" || !strings.HasPrefix(loc, d.url) {
				t.Fatalf("F5: one held Shift key (1 press, then auto-repeat keydowns) triggered the quick exit to %s "+
					"and threw the typed text away; Shift x3 must count presses, not auto-repeat (KeyboardEvent.repeat)", loc)
			}
			if err := chromedp.Do(ctx, browserShiftUp()); err != nil {
				t.Fatal(err)
			}
		})

		sizes := []struct {
			name string
			w, h int64
			opts []chromedp.EmulateViewportOption
		}{
			{"mobile", 375, 667, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateTouch}},
			{"desktop", 1280, 800, nil},
		}
		for _, s := range sizes {
			t.Run("Visible-"+s.name, func(t *testing.T) {
				ctx, _ := browserTab(t, browser, "")
				if err := chromedp.Do(ctx,
					chromedp.EmulateViewport(s.w, s.h, s.opts...),
					chromedp.Navigate(d.url+"/report?lang=en"),
					chromedp.WaitVisible(chromedp.ID("quick-exit")),
				); err != nil {
					t.Fatal(err)
				}
				r, hit := browserExitButton(t, ctx)
				if r.Top < -0.5 || r.Top > 0.5 || r.Height < 1 || r.Width < r.ViewW*0.9 {
					t.Errorf("F5 (%s): quick exit at top=%v, %vx%v in a %vx%v viewport, want a full-width bar at the top", s.name, r.Top, r.Width, r.Height, r.ViewW, r.ViewH)
				}
				if !hit {
					t.Errorf("F5 (%s): something covers the quick-exit button", s.name)
				}
				browserScreenshot(t, ctx, artifacts, "quick-exit-"+s.name+".png")
				if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 900)`), chromedp.Sleep(100*time.Millisecond)); err != nil {
					t.Fatal(err)
				}
				if y := browserEval(t, ctx, `String(window.scrollY)`); y == "0" {
					t.Fatalf("the page did not scroll")
				}
				r, hit = browserExitButton(t, ctx)
				if r.Top < -0.5 || r.Top > 0.5 || !hit {
					t.Errorf("F5 (%s): after scrolling the quick exit is at top=%v (reachable %v), want sticky at the top", s.name, r.Top, hit)
				}
			})
		}
		if refs := neutral.sawReferer(); len(refs) > 0 {
			t.Errorf("the neutral page learnt where the visitor came from: Referer %q", refs)
		}
	})

	// 6. F4: an idle form is wiped.
	t.Run("KioskIdleWipe", func(t *testing.T) {
		di := newDeployment(t, deployOpts{edit: func(dir string) {
			browserSetWebOption(t, dir, "quick_exit_url", fmt.Sprintf("%q", neutral.URL+"/"))
			browserSetWebOption(t, dir, "kiosk_idle_seconds", "2")
		}})
		ctx, _ := browserTab(t, browser, di.url)
		canary := browserCanary(t)
		if err := chromedp.Do(ctx,
			chromedp.Navigate(di.url+"/report?lang=en"),
			chromedp.SendKeys(chromedp.ID("f-testimony"), "half a testimony "+canary),
			chromedp.Evaluate[chromedp.Void](`window.corridorBeforeIdle = true`),
		); err != nil {
			t.Fatal(err)
		}
		if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("f-testimony"))); err != nil || !strings.Contains(v, canary) {
			t.Fatalf("typed text not in the field: %q %v", v, err)
		}
		// The wipe comes after 2 s without input; on a loaded machine the
		// timer and the reload may be late, so poll (up to 15 s) rather
		// than sleep a fixed time.
		time.Sleep(2 * time.Second)
		var v, same string
		var err error
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if err = chromedp.Do(ctx, chromedp.WaitReady(chromedp.ID("f-testimony"))); err == nil {
				v, err = chromedp.Run(ctx, chromedp.Value(chromedp.ID("f-testimony")))
			}
			if err == nil {
				same, err = chromedp.Run(ctx, chromedp.Evaluate[string](`String(window.corridorBeforeIdle === true)`))
			}
			if err == nil && v == "" && same != "true" {
				break
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		if v != "" {
			t.Errorf("F4: long after the idle time (kiosk_idle_seconds = 2) the field still holds %q", v)
		}
		if same == "true" {
			t.Errorf("F4: the page was not reloaded after the idle time")
		}
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		if strings.Contains(html, canary) {
			t.Errorf("F4: the page still holds the typed text after the idle wipe")
		}
	})

	// 7. F3: loading and sending the form talks to Corridor only. (Every
	// tab above but the quick-exit ones is audited the same way.)
	t.Run("NetworkAudit", func(t *testing.T) {
		ctx, log := browserTab(t, browser, "") // checked below
		canary := browserCanary(t)
		browserSubmit(t, ctx, d, "en", browserEntry{testimony: "Network audit. " + canary, topic: "LIFE", country: "SY"})
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("finish")), chromedp.WaitVisible(chromedp.ID("send"))); err != nil {
			t.Fatal(err)
		}
		urls := log.all()
		for _, want := range []string{"/report?lang=en", "/report/static/kiosk.js", "/report/static/style.css", "/report/done"} {
			found := false
			for _, u := range urls {
				found = found || u == d.url+want
			}
			if !found {
				t.Errorf("the network log misses %s (is the listener live?): %q", want, urls)
			}
		}
		if f := log.foreign(d.url); len(f) > 0 {
			t.Errorf("F3: requests to other origins: %q", f)
		}
		t.Logf("%d requests, all to %s", len(urls), d.url)
	})
}
