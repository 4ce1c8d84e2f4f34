package intake

import (
	"regexp"
	"strings"
)

// Marker kinds reported by Redact, in the order the passes run.
const (
	markIBAN  = "IBAN"
	markEmail = "EMAIL"
	markURL   = "URL"
	markGPS   = "GPS"
	markPhone = "PHONE"
	markID    = "ID"
)

// Redact replaces things that could identify someone with markers and reports what it replaced.
//
// Each span is replaced by "[KIND]" (for example "[PHONE]"); every byte outside the replaced spans is
// kept exactly as it was, including invalid UTF-8, NUL, bidi controls and CRLF. found lists the distinct
// kinds that were replaced, in order of first appearance in out, and is empty when out == s.
//
// The passes run in a fixed order (IBAN, EMAIL, URL, GPS, PHONE, ID) on the text that earlier passes
// left, so a span is marked once. A span must sit on word boundaries: where it begins or ends with a
// word rune (ASCII letter, any digit, '_'), the rune beside it must not be one. Markers count as
// boundaries. Because of that rule, Redact(out) == out: redacting twice changes nothing more.
//
// All patterns are RE2 (package regexp), so the time is linear in len(s).
func Redact(s string) (out string, found []string) {
	segs := []redactSeg{{text: s}}
	for i := range redactPasses {
		segs = redactPasses[i].apply(segs)
	}
	if len(segs) == 1 && segs[0].kind == "" {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, sg := range segs {
		if sg.kind == "" {
			b.WriteString(sg.text)
			continue
		}
		b.WriteString("[" + sg.kind + "]")
		seen := false
		for _, k := range found {
			if k == sg.kind {
				seen = true
				break
			}
		}
		if !seen {
			found = append(found, sg.kind)
		}
	}
	return b.String(), found
}

// redactSeg is a piece of the text being redacted: plain text (kind == "") or a replaced span.
type redactSeg struct {
	text string
	kind string
}

// redactPass finds one kind of span. re matches a boundary rune (where the span starts with a word
// rune), the span itself as the first capturing group that took part, and the non-word rune after
// it. The trailing rune is only looked at: the next search starts where the span ends.
type redactPass struct {
	kind string
	re   *regexp.Regexp
	// hint reports whether a piece of text could hold a match at all (a cheap pre-check).
	hint func(string) bool
	// keep, if set, reports whether a candidate span (group alt, 1-based) is really of this kind.
	// It must depend only on the span's own text.
	keep func(span string, alt int) bool
}

func (p *redactPass) apply(segs []redactSeg) []redactSeg {
	out := segs[:0:0]
	for _, sg := range segs {
		if sg.kind != "" || !p.hint(sg.text) {
			out = append(out, sg)
			continue
		}
		out = p.split(out, sg.text)
	}
	return out
}

// split appends text to out, cut into plain segments and segments of kind p.kind.
func (p *redactPass) split(out []redactSeg, text string) []redactSeg {
	// Pad with a non-word byte on both sides so the pattern's boundary runes always exist. The text
	// next to a plain segment is the text's start or end, or a marker: all boundaries.
	padded := " " + text + " "
	last, pos := 1, 0
	for pos < len(padded) {
		loc := p.re.FindStringSubmatchIndex(padded[pos:])
		if loc == nil {
			break
		}
		alt, start, end := 0, -1, -1
		for g := 1; 2*g < len(loc); g++ {
			if loc[2*g] >= 0 {
				alt, start, end = g, pos+loc[2*g], pos+loc[2*g+1]
				break
			}
		}
		if alt == 0 || end <= start || start < last {
			// Cannot happen with the patterns below; step over the match defensively.
			pos += max(loc[1], 1)
			continue
		}
		if p.keep == nil || p.keep(padded[start:end], alt) {
			if start > last {
				out = append(out, redactSeg{text: padded[last:start]})
			}
			out = append(out, redactSeg{text: padded[start:end], kind: p.kind})
			last = end
		}
		pos = end
	}
	if last < len(padded)-1 {
		out = append(out, redactSeg{text: padded[last : len(padded)-1]})
	}
	return out
}

// Building blocks. A "word" rune is an ASCII letter, any Unicode digit, or '_'. Letters of other
// scripts are not word runes, so a number written right after Arabic text ("رقمي0912345678") is
// still found.
const (
	reWord    = `\p{N}A-Za-z_`
	reWordEnd = `[` + reWord + `]`
	reNonWord = `[^` + reWord + `]`
	// digit: ASCII, Arabic-Indic (٠-٩) and Extended Arabic-Indic / Persian (۰-۹) digits.
	reDigit = `[0-9\x{0660}-\x{0669}\x{06F0}-\x{06F9}]`
	// phoneSep may stand between two digits of a phone number.
	rePhoneSep = `[ .\-/\x{00A0}]`
)

var (
	// IBAN: country code, check digits, then the BBAN either in one piece or in space-separated
	// groups of four (the last group may be shorter).
	ibanRe = regexp.MustCompile(reNonWord + `([A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?))` + reNonWord)

	emailRe = regexp.MustCompile(reNonWord +
		`([A-Za-z0-9_](?:[A-Za-z0-9_.%+\-]*[A-Za-z0-9_])?` +
		`@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*` +
		`\.[A-Za-z]{2,24})` + reNonWord)

	// URL: scheme or www. forms, and bare domains with a known, lower-case top-level domain (so that
	// "home.Then" or "file.pdf" are left alone). A URL ends on a word rune, so trailing
	// punctuation (".", ")", ",") stays outside.
	urlRe = regexp.MustCompile(reNonWord + `(` +
		`(?:[Hh][Tt][Tt][Pp][Ss]?://|[Ww][Ww][Ww]\.)` + reURLChar + `*` + reWordEnd +
		`|(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+(?:` + reTLDs + `)` +
		`(?::[0-9]{2,5})?(?:[/?#]` + reURLChar + `*` + reWordEnd + `)?` +
		`)` + reNonWord)

	// GPS: decimal pairs (4+ decimals, "." or "," as decimal mark) and degrees-minutes-seconds.
	gpsRe = regexp.MustCompile(`(?:(-` + reGPSDec + reGPSPairSep + `-?` + reGPSDec + `)` +
		`|` + reNonWord + `(` + reGPSDec + reGPSPairSep + `-?` + reGPSDec +
		`|` + reGPSDMS + `(?:\s*[,;]?\s*` + reGPSDMS + `)?` + `))` + reNonWord)

	// PHONE: international (+CC ...), local with a parenthesised area code, and plain local numbers
	// of 7 to 17 digits with optional single separators.
	phoneRe = regexp.MustCompile(`(?:` +
		`(\+ ?` + reDigit + `(?:` + rePhoneSep + `?` + reDigit + `){0,3}(?:` + rePhoneSep + `?\(` + reDigit + `{1,4}\))?(?:` + rePhoneSep + `?` + reDigit + `){5,14})` +
		`|(\(` + reDigit + `{2,5}\)[ .\-\x{00A0}]?` + reDigit + `(?:` + rePhoneSep + `?` + reDigit + `){4,12})` +
		`|` + reNonWord + `(` + reDigit + `(?:` + rePhoneSep + `?` + reDigit + `){6,16})` +
		`)` + reNonWord)

	// ID: a whole token of ASCII letters and digits that has at least one digit; keepID decides.
	idRe = regexp.MustCompile(reNonWord + `((?:[A-Za-z]|` + reDigit + `)*` + reDigit + `(?:[A-Za-z]|` + reDigit + `)*)` + reNonWord)
)

const (
	reURLChar = `[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%\p{L}\p{M}\p{N}]`
	reTLDs    = `com|net|org|info|biz|io|co|me|app|dev|gov|edu|int|online|site|xyz|top|tv|cc|eu|` +
		`ly|tn|ng|mx|bd|af|dz|ma|eg|sd|ss|so|er|et|gh|sn|ml|ne|td|cm|ci|gm|gn|sl|lr|ye|sy|iq|ir|pk|lb|jo|ps|tr|` +
		`de|fr|uk|es|nl|be|at|ch|se|dk|fi|pl|pt|gr|hu|cz|ro|bg|hr|rs|ru|ua|ca|au`
	reGPSDec     = reDigit + `{1,3}[.,]` + reDigit + `{4,10}`
	reGPSPairSep = `(?:\s*[,;]\s*|\s+)`
	reGPSNum     = reDigit + `{1,3}(?:[.,]` + reDigit + `+)?`
	reGPSDMS     = reGPSNum + `\s?°\s?(?:` + reDigit + `{1,2}(?:[.,]` + reDigit + `+)?\s?['′’]\s?(?:` +
		reDigit + `{1,2}(?:[.,]` + reDigit + `+)?\s?(?:"|″|”|''|′′|’’)\s?)?)?[NSEWO]`
)

var redactPasses = [...]redactPass{
	{kind: markIBAN, re: ibanRe, hint: hasASCIIDigit, keep: keepIBAN},
	{kind: markEmail, re: emailRe, hint: func(s string) bool { return strings.IndexByte(s, '@') >= 0 }},
	{kind: markURL, re: urlRe, hint: mayHaveURL},
	{kind: markGPS, re: gpsRe, hint: hasAnyDigit},
	{kind: markPhone, re: phoneRe, hint: hasAnyDigit, keep: keepPhone},
	{kind: markID, re: idRe, hint: hasAnyDigit, keep: keepID},
}

// mayHaveURL is a cheap pre-check: a link has "://", or a dot with a letter
// or digit right after it ("example.org"); prose has ". " between
// sentences, so most testimony skips the URL pattern entirely.
func mayHaveURL(s string) bool {
	if strings.Contains(s, "://") {
		return true
	}
	for i := strings.IndexByte(s, '.'); i >= 0 && i+1 < len(s); {
		c := s[i+1]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			return true
		}
		j := strings.IndexByte(s[i+1:], '.')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

func hasASCIIDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

func hasAnyDigit(s string) bool {
	if hasASCIIDigit(s) {
		return true
	}
	return strings.ContainsAny(s, "٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹")
}

// digitValue returns the value of an ASCII, Arabic-Indic or Persian digit, or -1.
func digitValue(r rune) int {
	switch {
	case r >= '0' && r <= '9':
		return int(r - '0')
	case r >= 0x0660 && r <= 0x0669:
		return int(r - 0x0660)
	case r >= 0x06F0 && r <= 0x06F9:
		return int(r - 0x06F0)
	}
	return -1
}

// keepIBAN wants at least the 15 characters of the shortest IBAN and a BBAN with some digits, so that
// runs of capitalised words ("AB12 CDEF GHIJ KLMN") are not taken for one.
func keepIBAN(span string, _ int) bool {
	n, digits := 0, 0
	for i := 0; i < len(span); i++ {
		c := span[i]
		if c == ' ' {
			continue
		}
		if n >= 4 && c >= '0' && c <= '9' {
			digits++
		}
		n++
	}
	return n >= 15 && digits >= 6
}

// keepPhone drops plain local candidates (alt 3) that are more likely dates, year ranges, decimals
// or round amounts than phone numbers. International and parenthesised forms are always kept.
func keepPhone(span string, alt int) bool {
	if alt != 3 {
		return true
	}
	groups, seps := phoneDigitGroups(span)
	switch {
	case looksLikeDate(groups):
		return false
	case len(groups) >= 2 && allYears(groups):
		return false
	case len(groups) == 2 && seps == "." && len(groups[0]) <= 3 && (groups[0][0] != 0 || len(groups[0]) == 1):
		return false // a decimal number: 3.1415926
	case isRoundAmount(groups):
		return false
	}
	return true
}

// keepID takes letter+digit tokens of 6 to 12 characters with at least two digits and one letter,
// and digit-only runs of 8 or more that are not round amounts. Longer mixed tokens are left alone.
func keepID(span string, _ int) bool {
	n, letters := 0, 0
	var digits []int
	for _, r := range span {
		n++
		if v := digitValue(r); v >= 0 {
			digits = append(digits, v)
		} else {
			letters++
		}
	}
	if letters > 0 {
		return n >= 6 && n <= 12 && len(digits) >= 2
	}
	return len(digits) >= 8 && !isRoundAmount([][]int{digits})
}

// digitGroups splits a phone candidate into its runs of digit values and the separators between them
// (each separator is the run of non-digit runes between two groups, joined with nothing).
func phoneDigitGroups(span string) (groups [][]int, seps string) {
	var cur []int
	var sep strings.Builder
	for _, r := range span {
		if v := digitValue(r); v >= 0 {
			cur = append(cur, v)
			continue
		}
		if len(cur) > 0 {
			groups = append(groups, cur)
			cur = nil
		}
		sep.WriteRune(r)
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}
	return groups, sep.String()
}

// isDate: d.m.yyyy, dd-mm-yyyy, yyyy-mm-dd, yyyy/m/d and the like.
func looksLikeDate(g [][]int) bool {
	if len(g) != 3 {
		return false
	}
	a, b, c := len(g[0]), len(g[1]), len(g[2])
	return (a <= 2 && b <= 2 && c == 4) || (a == 4 && b <= 2 && c <= 2)
}

// allYears: "2019-2021", "1998 2004 2010".
func allYears(g [][]int) bool {
	for _, y := range g {
		if len(y) != 4 || !(y[0] == 1 && y[1] == 9 || y[0] == 2 && y[1] == 0) {
			return false
		}
	}
	return true
}

// isRoundAmount: "1500000", "2 000 000", "1.250.000": a number not starting with 0, grouped in
// thousands if grouped at all, ending in 000.
func isRoundAmount(g [][]int) bool {
	if len(g) == 0 || g[0][0] == 0 {
		return false
	}
	if len(g) > 1 {
		if len(g[0]) > 3 {
			return false
		}
		for _, x := range g[1:] {
			if len(x) != 3 {
				return false
			}
		}
	}
	last := g[len(g)-1]
	n := len(last)
	return n >= 3 && last[n-1] == 0 && last[n-2] == 0 && last[n-3] == 0
}
