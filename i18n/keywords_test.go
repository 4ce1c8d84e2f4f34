package i18n_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// Keywords (kw.*) are typed on a phone to steer a conversation. The English
// ones always work; each language adds its own.

var (
	latinKeywordRE = regexp.MustCompile(`^[A-Z]+$`)
	arabicWordRE   = regexp.MustCompile(`^\p{Arabic}+$`)
)

func keywordIDs(en map[string]string) []string {
	var ids []string
	for id := range en {
		if strings.HasPrefix(id, "kw.") {
			ids = append(ids, id)
		}
	}
	return ids
}

func TestKeywords(t *testing.T) {
	files := loadFiles(t)
	ids := keywordIDs(files["en"].values)
	if len(ids) == 0 {
		t.Fatal("no kw.* messages in English")
	}
	type use struct{ tag, id string }
	meaning := map[string]use{} // keyword (upper case) -> first use, across languages
	for tag, f := range files {
		t.Run(tag, func(t *testing.T) {
			seen := map[string]string{}
			for _, id := range ids {
				kw := f.values[id]
				switch {
				case tag == "ar":
					if !arabicWordRE.MatchString(kw) {
						t.Errorf("%s = %q: want one Arabic word without marks", id, kw)
					}
				case latinScript(kw):
					if !latinKeywordRE.MatchString(kw) {
						t.Errorf("%s = %q: want one word in capitals A-Z, no accents", id, kw)
					}
				default:
					// Other scripts: one word, no spaces or punctuation.
					if strings.ContainsFunc(kw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }) || kw == "" {
						t.Errorf("%s = %q: want one word", id, kw)
					}
				}
				if other, dup := seen[kw]; dup {
					t.Errorf("%s and %s are both %q", other, id, kw)
				}
				seen[kw] = id
			}
		})
		for _, id := range ids {
			kw := strings.ToUpper(f.values[id])
			if other, ok := meaning[kw]; ok && other.id != id && other.tag != tag {
				t.Errorf("%s %s = %q, but %q is %s in %s", tag, id, f.values[id], kw, other.id, other.tag)
			}
			if _, ok := meaning[kw]; !ok {
				meaning[kw] = use{tag, id}
			}
		}
	}
}

// words splits s into words. Marks (vowel signs, viramas, harakat) and
// joiners belong to the word they sit in, as in Indic and Burmese scripts;
// Arabic harakat are then dropped so that "حُذف" counts as the word "حذف".
func words(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) && r != 0x200c && r != 0x200d
	})
	for i, w := range f {
		f[i] = stripArabicMarks(w)
	}
	return f
}

func stripArabicMarks(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0x064B && r <= 0x065F || r == 0x0670 {
			return -1
		}
		return r
	}, s)
}

func countWord(s, w string) int {
	n := 0
	w = stripArabicMarks(w)
	for _, x := range words(s) {
		if x == w {
			n++
		}
	}
	return n
}

// TestConversationKeywords checks that conversation messages name the
// keywords of their own language exactly where English names the English
// ones, and never a keyword by accident.
func TestConversationKeywords(t *testing.T) {
	files := loadFiles(t)
	en := files["en"].values
	ids := keywordIDs(en)
	for tag, f := range files {
		if tag == "en" {
			continue
		}
		t.Run(tag, func(t *testing.T) {
			for id, s := range f.values {
				if !strings.HasPrefix(id, "sms.") {
					continue
				}
				for _, kw := range ids {
					local, english := f.values[kw], en[kw]
					if got, want := countWord(s, local), countWord(en[id], english); got != want {
						t.Errorf("%s: keyword %q (%s) appears %d times, English names %q %d times", id, local, kw, got, english, want)
					}
					if local != english && countWord(s, english) > 0 {
						t.Errorf("%s: names the English keyword %q; write %q", id, english, local)
					}
				}
			}
		})
	}
}

// latinScript reports whether a keyword is written in Latin letters.
func latinScript(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) && !unicode.Is(unicode.Latin, r) {
			return false
		}
	}
	return true
}
