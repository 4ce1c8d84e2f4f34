package i18n_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/corridor-gateway/corridor/i18n"
	"github.com/corridor-gateway/corridor/sms"
)

// maxSegments is the SMS budget of one conversation reply, menu included.
const maxSegments = 4

// smsMenus lists the conversation steps that are followed by a menu, and the
// message ids of their options in the order they are numbered. sms.lang is
// special: its options are the languages' own names (see langMenu).
var smsMenus = map[string][]string{
	"sms.consent": {"sms.consent.read", "sms.consent.share", "sms.consent.no"},
	"sms.when": {
		"when.short.recent", "when.short.months", "when.short.year",
		"when.short.older", "when.short.unknown",
	},
	"sms.topic": {
		"topic.short.LIFE", "topic.short.BORDER", "topic.short.PROC",
		"topic.short.DET", "topic.short.VIOL", "topic.short.EXPL",
		"topic.short.FAM", "topic.short.SERV", "topic.short.DISC",
		"topic.short.RET", "topic.short.DRIV", "topic.short.other",
	},
	"sms.contact": {"contact.yes", "contact.no"},
	"sms.confirm": {"sms.confirm.send"},
}

// langMenuOrder is the order of the language menu; languages not listed
// here follow in Languages() order.
var langMenuOrder = []string{"en", "fr", "es", "ar"}

// renderReply builds a reply as the conversation runner sends it: the text,
// then for a menu a newline and one "N label" line per option.
func renderReply(text string, options []string) string {
	var b strings.Builder
	b.WriteString(text)
	for i, o := range options {
		fmt.Fprintf(&b, "\n%d %s", i+1, o)
	}
	return b.String()
}

func langMenu(c *i18n.Catalog) []string {
	names := map[string]string{}
	var rest []string
	for _, l := range c.Languages() {
		names[l.Tag] = l.Name
		rest = append(rest, l.Tag)
	}
	var out []string
	for _, tag := range langMenuOrder {
		if n, ok := names[tag]; ok {
			out = append(out, n)
			delete(names, tag)
		}
	}
	for _, tag := range rest {
		if n, ok := names[tag]; ok {
			out = append(out, n)
		}
	}
	return out
}

// longestStatus returns the longest status.* text of a language: the worst
// case for sms.status.
func longestStatus(c *i18n.Catalog, tag string) string {
	best := ""
	for _, id := range c.IDs() {
		if !strings.HasPrefix(id, "status.") {
			continue
		}
		s := c.T(tag, id, nil)
		if n, m := len(utf16.Encode([]rune(s))), len(utf16.Encode([]rune(best))); n > m || (n == m && s > best) {
			best = s
		}
	}
	return best
}

func TestSMSBudget(t *testing.T) {
	c := newCatalog(t)

	var smsIDs []string
	for _, id := range c.IDs() {
		if strings.HasPrefix(id, "sms.") {
			smsIDs = append(smsIDs, id)
		}
	}
	if len(smsIDs) == 0 {
		t.Fatal("no sms.* messages")
	}
	for id := range smsMenus {
		if !contains(smsIDs, id) {
			t.Errorf("menu step %q is not an English message id", id)
		}
	}
	languages := c.Languages()
	if menu := langMenu(c); len(menu) != len(languages) {
		t.Fatalf("language menu %v does not list all %d languages", menu, len(languages))
	}
	worstLangPage := func() []string {
		// The runner shows 8 languages a page, then "0 More languages".
		all := langMenu(c)
		var worst []string
		for i := 0; i < len(all); i += 8 {
			page := append(append([]string{}, all[i:min(len(all), i+8)]...), c.T("en", "sms.lang.more", nil))
			if len(utf16.Encode([]rune(strings.Join(page, "\n")))) > len(utf16.Encode([]rune(strings.Join(worst, "\n")))) {
				worst = page
			}
		}
		return worst
	}

	type cell struct {
		enc  sms.Encoding
		segs int
	}
	table := map[string]map[string]cell{} // id -> tag -> result

	for _, l := range languages {
		tag := l.Tag
		data := map[string]any{
			"Org":     "Corridor demo",
			"URL":     "https://intake.example.org/report?lang=" + tag,
			"Receipt": "ACDE-FGHJ-KMNP",
			"State":   longestStatus(c, tag),
		}
		t.Run(tag, func(t *testing.T) {
			for _, id := range smsIDs {
				var options []string
				switch {
				case id == "sms.lang":
					options = worstLangPage()
				case smsMenus[id] != nil:
					for _, o := range smsMenus[id] {
						options = append(options, c.T(tag, o, data))
					}
				}
				text := c.T(tag, id, data)
				if strings.Contains(text, "{{") || strings.Contains(text, "<no value>") {
					t.Errorf("%s: placeholder not filled in %q", id, text)
				}
				reply := renderReply(text, options)
				enc, segs := sms.Measure(reply)
				units := len(utf16.Encode([]rune(reply)))
				if enc == sms.GSM7 {
					units, _ = sms.Septets(reply)
				}
				if table[id] == nil {
					table[id] = map[string]cell{}
				}
				table[id][tag] = cell{enc, segs}
				menu := ""
				if len(options) > 0 {
					menu = fmt.Sprintf(" +%d menu lines", len(options))
				}
				t.Logf("%-3s %-20s %s/%d (%d %s, %d left in %d segments)%s",
					tag, id, enc, segs, units, unitName(enc), capacity(enc)-units, maxSegments, menu)
				if segs > maxSegments {
					t.Errorf("%s in %s: %d %s segments, budget is %d:\n%s", id, tag, segs, enc, maxSegments, reply)
				}
			}
		})
	}

	// Summary table: message x language, encoding/segments.
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-20s", "message")
	for _, l := range languages {
		fmt.Fprintf(&b, " %-8s", l.Tag)
	}
	sort.Strings(smsIDs)
	for _, id := range smsIDs {
		fmt.Fprintf(&b, "\n%-20s", id)
		for _, l := range languages {
			r, ok := table[id][l.Tag]
			if !ok {
				fmt.Fprintf(&b, " %-8s", "-")
				continue
			}
			fmt.Fprintf(&b, " %-8s", fmt.Sprintf("%s/%d", r.enc, r.segs))
		}
	}
	t.Log(b.String())
}

// capacity is what maxSegments segments hold in enc (GSM-7: 153 septets a
// part, UCS-2: 67 UTF-16 units a part).
func capacity(enc sms.Encoding) int {
	if enc == sms.GSM7 {
		return 153 * maxSegments
	}
	return 67 * maxSegments
}

func unitName(enc sms.Encoding) string {
	if enc == sms.GSM7 {
		return "septets"
	}
	return "UTF-16 units"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
