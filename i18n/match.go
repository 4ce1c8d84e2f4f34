package i18n

import (
	"strings"

	"golang.org/x/text/language"
)

const (
	// maxHintLen bounds one hint (for example an Accept-Language header).
	// A longer hint is ignored, not cut: a cut header could change meaning.
	maxHintLen = 1024
	// maxTagLen bounds a single tag given to Has, RTL or T.
	maxTagLen = 64
)

// Match picks a supported language from hints, best first. A hint is either
// an Accept-Language value ("fr-CH, fr;q=0.9, en;q=0.8") or one tag ("ar",
// "es-419"). Hints that do not parse are skipped.
//
// It returns ok=false unless the match has confidence language.High or
// better and is the same base language as the hint: "fa-IR", "ckb" or "ur"
// never give "ar" (nor "en"), and "de" gives nothing.
// The caller then shows the language menu or the default. The tag returned
// is exactly one of the tags of Languages.
func (c *Catalog) Match(hints ...string) (tag string, ok bool) {
	var want []language.Tag
	for _, h := range hints {
		h = strings.TrimSpace(h)
		if h == "" || len(h) > maxHintLen {
			continue
		}
		if strings.ContainsAny(h, ",;") {
			tags, _, err := language.ParseAcceptLanguage(h)
			if err != nil {
				continue
			}
			want = append(want, tags...)
			continue
		}
		t, err := language.Parse(h)
		if err != nil {
			continue
		}
		want = append(want, t)
	}
	// Try the wanted tags one at a time, best first (ParseAcceptLanguage
	// sorts by q). Confidence High alone is not enough: x/text follows CLDR,
	// which rates some cross-language fallbacks as High ("ckb" -> "ar",
	// "ur" -> "en", "ps" -> "en"). So the match must also be the same base
	// language as the wanted tag, and that base must be stated, not guessed
	// from a script or region ("und-EG" does not say Arabic).
	for _, w := range want {
		if tag, ok := c.alias(w); ok {
			return tag, true
		}
		wb, conf := w.Base()
		if conf != language.Exact {
			continue
		}
		_, i, conf := c.matcher.Match(w)
		if conf < language.High || i < 0 || i >= len(c.langs) {
			continue
		}
		if sb, _ := c.supported[i].Base(); sb != wb {
			continue
		}
		return c.langs[i].Tag, true
	}
	return "", false
}

// alias resolves a wanted tag through the alias table: the whole tag, then
// its language and script, then its language and region.
func (c *Catalog) alias(w language.Tag) (string, bool) {
	b, _ := w.Base()
	cands := []string{strings.ToLower(w.String())}
	if s, conf := w.Script(); conf == language.Exact {
		cands = append(cands, strings.ToLower(b.String()+"-"+s.String()))
	}
	if r, conf := w.Region(); conf == language.Exact {
		cands = append(cands, strings.ToLower(b.String()+"-"+r.String()))
	}
	cands = append(cands, strings.ToLower(b.String()))
	for _, cand := range cands {
		if t, ok := aliases[cand]; ok && c.Has(t) {
			return t, true
		}
	}
	return "", false
}
