package main

// Issue 6's browser test: in Debian's Chromium a moderator signs in with a
// password and TOTP, unlocks with their identity file, opens a report from
// the queue, redacts a name, tags it, accepts it; a second browser session
// cannot read without unlocking. Testimony markup stays text and the CSP
// blocks inline script (I4); the pages talk to Corridor only (F3).
//
//	go test ./cmd/corridor/ -run BrowserConsole -count=1 -v

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
)

// consoleBrowserNav clicks the element with id and waits until the page it
// leads to has loaded; it returns that page's URL.
func consoleBrowserNav(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`window.corridorOldPage = true`),
		chromedp.Click(chromedp.ID(id)),
	); err != nil {
		t.Fatalf("click #%s: %v", id, err)
	}
	return consoleBrowserWaitLoad(t, ctx, "#"+id)
}

func consoleBrowserWaitLoad(t *testing.T, ctx context.Context, what string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		st, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.corridorOldPage === true ? "old" : document.readyState`))
		if err == nil && st == "complete" {
			loc, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			return loc
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("no new page loaded after %s", what)
	return ""
}

// consoleBrowserAt fails unless the tab is at path, showing the page's error.
func consoleBrowserAt(t *testing.T, ctx context.Context, base, loc, path, step string) {
	t.Helper()
	if loc != base+path {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		t.Fatalf("%s: the browser is at %s, want %s\n%.1500s", step, loc, base+path, html)
	}
}

func consoleBrowserText(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("text of #%s: %v", id, err)
	}
	return s
}

func TestBrowserConsole(t *testing.T) {
	began := time.Now()
	browser := browserStart(t)
	artifacts := browserArtifactDir(t)
	d := newDeployment(t, deployOpts{})

	// A report through the web form, with a name and markup in it.
	const name = "Ahmed Karimi"
	const markup = `<img src=x onerror="document.title='XSS'">`
	c := d.client()
	d.receipt(c, d.post(c, map[string]string{"token": d.formToken(c, "en"), "consent.read": "yes", "consent.share": "yes",
		"testimony": "My employer " + name + " kept my passport for a year. " + markup, "topic": "EXPL"}, nil))
	reports := d.listJSON(d.modKey)
	if len(reports) != 1 {
		t.Fatalf("%d reports stored, want 1", len(reports))
	}
	id := reports[0].ID
	password, secret := d.moderatorAccount(t, "amina", "moderator")

	ctx, _ := browserTab(t, browser, d.url)
	titleOK := func(step string) {
		t.Helper()
		if title, err := chromedp.Run(ctx, chromedp.Title()); err != nil || title == "XSS" {
			t.Fatalf("I4: %s: the page title is %q (%v): script from the testimony ran", step, title, err)
		}
	}

	// 1. Sign in with the password: first login goes to TOTP enrolment.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(d.url+"/moderate/login"),
		chromedp.WaitVisible(chromedp.ID("signin")),
		chromedp.SendKeys(chromedp.ID("login"), "amina"),
		chromedp.SendKeys(chromedp.ID("password"), password),
	); err != nil {
		t.Fatalf("login page: %v", err)
	}
	consoleBrowserAt(t, ctx, d.url, consoleBrowserNav(t, ctx, "signin"), "/moderate/enrol", "sign in")
	if w := browserEval(t, ctx, `String(document.getElementById("qr").naturalWidth)`); w == "0" {
		t.Error("the enrolment QR code did not load")
	}
	enrolCode, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("totp"), enrolCode)); err != nil {
		t.Fatal(err)
	}
	consoleBrowserAt(t, ctx, d.url, consoleBrowserNav(t, ctx, "enrol"), "/moderate/unlock", "enrol TOTP")

	// 2. Unlock with the identity file.
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.ID("identity_file"), []string{d.modKey})); err != nil {
		t.Fatalf("choose the identity file: %v", err)
	}
	consoleBrowserAt(t, ctx, d.url, consoleBrowserNav(t, ctx, "unlock"), "/moderate/queue", "unlock")

	// 3. Open the report from the queue.
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`window.corridorOldPage = true`),
		chromedp.Click(chromedp.CSS(`a.report-link`)),
	); err != nil {
		t.Fatalf("queue: %v", err)
	}
	consoleBrowserAt(t, ctx, d.url, consoleBrowserWaitLoad(t, ctx, "the queue link"), "/moderate/report/"+id, "open from the queue")
	titleOK("report opened")
	testimony := consoleBrowserText(t, ctx, "testimony")
	if !strings.Contains(testimony, name) || !strings.Contains(testimony, markup) {
		t.Errorf("I4: the testimony does not show its text and markup as typed: %q", testimony)
	}
	if n := browserEval(t, ctx, `String(document.getElementById("testimony").children.length)`); n != "0" {
		t.Errorf("I4: the testimony's markup became %s element(s)", n)
	}
	if dir := browserEval(t, ctx, `document.getElementById("testimony").getAttribute("dir")`); dir != "auto" {
		t.Errorf(`the testimony has dir=%q, want "auto"`, dir)
	}

	// 4. Redact: select the name in the testimony (console.js fills the
	// field), choose [NAME], save.
	picked := browserEval(t, ctx, `(() => {
		const pre = document.getElementById("testimony");
		const node = pre.firstChild, at = node.data.indexOf("`+name+`");
		const r = document.createRange();
		r.setStart(node, at); r.setEnd(node, at + `+strconv.Itoa(len(name))+`);
		const sel = window.getSelection();
		sel.removeAllRanges(); sel.addRange(r);
		pre.dispatchEvent(new MouseEvent("mouseup", {bubbles: true}));
		return document.getElementById("redact-find").value;
	})()`)
	if picked != name {
		t.Errorf("selecting %q in the testimony filled the redaction field with %q", name, picked)
		if err := chromedp.Do(ctx, chromedp.Clear(chromedp.ID("redact-find")), chromedp.SendKeys(chromedp.ID("redact-find"), name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("redact-marker"), "[NAME]")); err != nil {
		t.Fatal(err)
	}
	consoleBrowserAt(t, ctx, d.url, consoleBrowserNav(t, ctx, "redact-save"), "/moderate/report/"+id, "redact")
	titleOK("after redaction")
	if got := consoleBrowserText(t, ctx, "testimony"); !strings.Contains(got, "[NAME]") || strings.Contains(got, name) {
		t.Errorf("after redaction the testimony reads %q", got)
	}

	// 5. Tag EXPL.PASSPORT_RETENTION.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`input[name="code"][value="EXPL.PASSPORT_RETENTION"]`))); err != nil {
		t.Fatalf("tick the tag: %v", err)
	}
	consoleBrowserAt(t, ctx, d.url, consoleBrowserNav(t, ctx, "tag-save"), "/moderate/report/"+id, "tag")
	if tags := browserEval(t, ctx, `Array.from(document.querySelectorAll("code.tag")).map(e => e.textContent).join(",")`); !strings.Contains(tags, "EXPL.PASSPORT_RETENTION") {
		t.Errorf("the report shows tags %q after tagging", tags)
	}

	// 6. new -> in_review -> accepted.
	for _, st := range []struct{ value, label string }{{"in_review", "In review"}, {"accepted", "Accepted"}} {
		if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("state-select"), st.value)); err != nil {
			t.Fatalf("choose %s: %v", st.value, err)
		}
		consoleBrowserAt(t, ctx, d.url, consoleBrowserNav(t, ctx, "state-save"), "/moderate/report/"+id, "state "+st.value)
		if got := strings.TrimSpace(consoleBrowserText(t, ctx, "state")); got != st.label {
			t.Errorf("after moving to %s the report shows state %q", st.value, got)
		}
	}
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, name) || !strings.Contains(html, "[NAME]") {
		t.Errorf("the report page holds the name or lacks [NAME]")
	}
	browserScreenshot(t, ctx, artifacts, "console-report.png")

	// 7. I4: the CSP blocks inline script, whatever gets into the page.
	browserEval(t, ctx, `(() => {
		window.corridorCSP = [];
		document.addEventListener("securitypolicyviolation", e => window.corridorCSP.push(e.effectiveDirective));
		const s = document.createElement("script");
		s.textContent = "document.title = 'XSS'";
		document.body.appendChild(s);
		const div = document.createElement("div");
		div.innerHTML = `+"`"+markup+"`"+`;
		document.body.appendChild(div);
		return "";
	})()`)
	time.Sleep(500 * time.Millisecond)
	titleOK("inline script injected into the page")
	if v := browserEval(t, ctx, `window.corridorCSP.join(",")`); !strings.Contains(v, "script-src") {
		t.Errorf("I4: no CSP violation reported for inline script (got %q)", v)
	}
	if title := browserEval(t, ctx, `document.title`); title != "Moderation" {
		t.Errorf("title %q, want Moderation", title)
	}

	// 8. A second, fresh browser session signs in (TOTP) and cannot read
	// without unlocking.
	ctx2, _ := browserTab(t, browser, d.url)
	// The code of the next period (accepted for clock drift), so that it
	// is not the code used at enrolment.
	code2, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx2,
		chromedp.Navigate(d.url+"/moderate/login"),
		chromedp.WaitVisible(chromedp.ID("signin")),
		chromedp.SendKeys(chromedp.ID("login"), "amina"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.SendKeys(chromedp.ID("totp"), code2),
	); err != nil {
		t.Fatal(err)
	}
	consoleBrowserAt(t, ctx2, d.url, consoleBrowserNav(t, ctx2, "signin"), "/moderate/unlock", "second sign-in")
	if err := chromedp.Do(ctx2, chromedp.Navigate(d.url+"/moderate/report/"+id)); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(ctx2, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	consoleBrowserAt(t, ctx2, d.url, loc, "/moderate/unlock", "a second session opens the report")
	html2, _ := chromedp.Run(ctx2, chromedp.OuterHTML(chromedp.CSS("html")))
	if strings.Contains(html2, "[NAME]") || strings.Contains(html2, "passport") {
		t.Error("a session that did not unlock sees the report")
	}

	// The CLI agrees with what the browser did.
	r := d.listJSON(d.modKey)[0]
	if r.State != "accepted" || strings.Contains(r.Testimony, name) || !strings.Contains(r.Testimony, "[NAME]") {
		t.Errorf("the CLI after the browser: state %q, testimony %q", r.State, r.Testimony)
	}
	t.Logf("browser console test took %v", time.Since(began).Round(time.Millisecond))
}
