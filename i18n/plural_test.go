package i18n_test

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
)

var formNames = map[plural.Form]string{plural.Other: "other", plural.Zero: "zero", plural.One: "one",
	plural.Two: "two", plural.Few: "few", plural.Many: "many"}

// cldrForms lists the CLDR cardinal categories a language uses for whole
// numbers (our counts are whole), from the CLDR data in x/text.
func cldrForms(tag string) []string {
	t := language.MustParse(tag)
	seen := map[string]bool{"other": true}
	for n := 0; n <= 1000; n++ {
		seen[formNames[plural.Cardinal.MatchPlural(t, n, 0, 0, 0, 0)]] = true
	}
	var out []string
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Every plural message has exactly the forms the language's CLDR rules use
// for whole numbers (Arabic has six; Russian one/few/many/other; Chinese
// only other), each with the placeholders of English.
func TestPluralForms(t *testing.T) {
	files := loadFiles(t)
	en := files["en"]
	if len(en.plurals) == 0 {
		t.Fatal("the English file has no plural message to check")
	}
	for tag, f := range files {
		t.Run(tag, func(t *testing.T) {
			want := cldrForms(tag)
			for id, forms := range f.plurals {
				var got []string
				for form, text := range forms {
					got = append(got, form)
					if strings.TrimSpace(text) == "" {
						t.Errorf("%s[%s] is empty", id, form)
					}
					// {{.Count}} may be left out where the word says the
					// number ("one report"); other placeholders must match.
					for _, p := range placeholders(text) {
						if p != "{{.Count}}" && !slices.Contains(placeholders(en.plurals[id]["other"]), p) {
							t.Errorf("%s[%s]: placeholder %s not in English", id, form, p)
						}
					}
				}
				sort.Strings(got)
				if !slices.Equal(got, want) {
					t.Errorf("%s: forms %v, CLDR wants %v for %s", id, got, want, tag)
				}
			}
		})
	}
}

// The rendered plural picks the right form.
func TestPluralRendering(t *testing.T) {
	c := newCatalog(t)
	cases := []struct {
		lang  string
		count int
		want  string
	}{
		{"en", 1, "1 report"},
		{"en", 5, "5 reports"},
		{"ar", 0, ""}, {"ar", 1, ""}, {"ar", 2, ""}, {"ar", 3, ""}, {"ar", 11, ""}, {"ar", 100, ""},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		got := c.TN(tc.lang, "mod.queue.count", tc.count, nil)
		if tc.want != "" && got != tc.want {
			t.Errorf("TN(%s, %d) = %q, want %q", tc.lang, tc.count, got, tc.want)
		}
		if tc.lang == "ar" {
			if got == "mod.queue.count" || strings.Contains(got, "report") {
				t.Errorf("TN(ar, %d) = %q: not Arabic", tc.count, got)
			}
			seen[got] = true
		}
	}
	if len(seen) < 5 {
		t.Errorf("Arabic 0, 1, 2, 3, 11, 100 gave only %d distinct texts: the six forms are not all used", len(seen))
	}
}
