package main

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/corridor-gateway/corridor/i18n"
	"github.com/corridor-gateway/corridor/sms"
)

// The web form answers in every language with the right lang and dir.
func TestFormInEveryLanguage(t *testing.T) {
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	d := newDeployment(t, deployOpts{})
	for _, l := range cat.Languages() {
		resp, err := http.Get(d.url + "/report?lang=" + l.Tag)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		dir := "ltr"
		if l.RTL {
			dir = "rtl"
		}
		want := fmt.Sprintf(`<html lang="%s" dir="%s">`, l.Tag, dir)
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("%s: status %d, want %s", l.Tag, resp.StatusCode, want)
		}
		if title := html.EscapeString(cat.T(l.Tag, "app.title", nil)); !strings.Contains(string(b), "<title>"+title) {
			t.Errorf("%s: the page is not in its language (no title %q)", l.Tag, title)
		}
		if !strings.Contains(string(b), ">"+html.EscapeString(l.Name)+"</a>") {
			t.Errorf("%s: the language menu does not show %q in its own name", l.Tag, l.Name)
		}
	}
}

// fontCovers asks fontconfig (which Chromium uses) whether an installed font
// has a glyph for r: a rune no font covers is drawn as an empty box (tofu).
func fontCovers(t *testing.T, r rune) bool {
	out, err := exec.Command("fc-list", fmt.Sprintf(":charset=%x", r), "family").Output()
	if err != nil {
		t.Fatalf("fc-list: %v", err)
	}
	return strings.TrimSpace(string(out)) != ""
}

// Issue 5: screenshots of the form in Arabic, Tigrinya, Burmese and Bengali,
// checked for dir and for tofu, kept as CI artefacts.
func TestBrowserScriptsRender(t *testing.T) {
	if _, err := exec.LookPath("fc-list"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("fc-list (fontconfig) is required in CI")
		}
		t.Skip("fontconfig's fc-list is not installed")
	}
	browser := browserStart(t)
	d := newDeployment(t, deployOpts{})
	art := browserArtifactDir(t)
	for _, tc := range []struct{ lang, dir string }{{"ar", "rtl"}, {"ti", "ltr"}, {"my", "ltr"}, {"bn", "ltr"}, {"fa-AF", "rtl"}, {"zh", "ltr"}} {
		t.Run(tc.lang, func(t *testing.T) {
			ctx, _ := browserTab(t, browser, d.url)
			if err := chromedp.Do(ctx, chromedp.Navigate(d.url+"/report?lang="+tc.lang), chromedp.WaitVisible(chromedp.ID("send"))); err != nil {
				t.Fatal(err)
			}
			if got := browserEval(t, ctx, "document.documentElement.dir"); got != tc.dir {
				t.Errorf("dir = %q, want %q", got, tc.dir)
			}
			if got := browserEval(t, ctx, "document.documentElement.lang"); got != tc.lang {
				t.Errorf("lang = %q", got)
			}
			text := browserEval(t, ctx, "document.body.innerText")
			seen := map[rune]bool{}
			var missing []string
			for _, r := range text {
				if r < 0x80 || seen[r] || r == 0x200c || r == 0x200d || r == 0x200e || r == 0x200f {
					continue
				}
				seen[r] = true
				if !fontCovers(t, r) {
					missing = append(missing, fmt.Sprintf("U+%04X", r))
				}
			}
			if len(seen) < 20 {
				t.Errorf("only %d distinct non-ASCII characters on the %s page: is it translated?", len(seen), tc.lang)
			}
			if len(missing) > 0 {
				t.Errorf("no installed font draws %v: they would show as tofu (install Debian's fonts-noto-core / fonts-noto-cjk)", missing)
			}
			browserScreenshot(t, ctx, art, "form-"+tc.lang+".png")
		})
	}
}

// Issue 5's "done when": an SMS conversation in Tigrinya and one in Dari
// complete, every reply within 4 segments in the encoding it needs.
func TestSMSConversationTigrinyaAndDari(t *testing.T) {
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	d := smsDeployment(t)
	for _, tc := range []struct{ lang, from string }{{"ti", "+291712345"}, {"fa-AF", "+93701234567"}} {
		t.Run(tc.lang, func(t *testing.T) {
			if !cat.Has(tc.lang) {
				t.Fatalf("no %s locale", tc.lang)
			}
			p := d.phone(tc.from)
			check := func(reply string) string {
				t.Helper()
				if enc, segs := sms.Measure(reply); segs > 4 {
					t.Errorf("a reply costs %d %s segments: %q", segs, enc, reply)
				}
				return reply
			}
			menu := check(p.send("salam"))
			num := ""
			for _, line := range strings.Split(menu, "\n") {
				if strings.HasSuffix(line, " "+langName(cat, tc.lang)) {
					num = strings.Fields(line)[0]
				}
			}
			if num == "" {
				t.Fatalf("%s is not on the first page of the language menu for this number: %q", tc.lang, menu)
			}
			check(p.send(num))
			check(p.send("1")) // consent
			check(p.send("4")) // topic
			cn := canary(t)
			check(p.send("ሰብ ኣብ መዓስከር ኣሲሮምና " + cn))
			check(p.send(cat.T(tc.lang, "kw.done", nil)))
			check(p.send("2"))
			check(p.send("0"))
			check(p.send("2"))
			done := check(p.send("1"))
			if receiptRE.FindString(done) == "" {
				t.Fatalf("no receipt: %q", done)
			}
			found := false
			for _, r := range d.listJSON(d.modKey) {
				if r.Language == tc.lang && strings.Contains(r.Testimony, cn) && r.Channel == "sms" {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s report with the testimony", tc.lang)
			}
		})
	}
}

func langName(cat *i18n.Catalog, tag string) string {
	for _, l := range cat.Languages() {
		if l.Tag == tag {
			return l.Name
		}
	}
	return tag
}
