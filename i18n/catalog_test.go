package i18n_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/corridor-gateway/corridor/i18n"
)

// sameAsEnglish lists messages that may be identical to English, per
// language, because the word is the same ("No" in Spanish).
var sameAsEnglish = map[string]map[string]bool{
	"es": {"contact.no": true},
}

// keepLiterals must appear in a translation exactly as often as in English:
// keywords people type, and the example date format.
var keepLiterals = []string{"DELETE", "2026-03"}

// localizedKeywordLiterals are keepLiterals that conversation messages
// (sms.*) and the keywords themselves (kw.*) translate: there each language
// names its own keyword (French EFFACER), and TestConversationKeywords checks
// that instead.
var localizedKeywordLiterals = map[string]bool{"DELETE": true}

func hasLocalizedKeywords(id string) bool {
	return strings.HasPrefix(id, "sms.") || strings.HasPrefix(id, "kw.")
}

var placeholderRE = regexp.MustCompile(`\{\{[^{}]*\}\}`)

type localeFile struct {
	tag     string
	path    string
	raw     []byte
	values  map[string]string
	plurals map[string]map[string]string // id -> CLDR form -> text
}

// menuOrder is shared/domain/languages.csv's order.
var menuOrder = []string{"en", "ar", "fr", "es", "pt", "ht", "ti", "am", "om", "so", "sw", "ps", "fa-AF", "fa",
	"ckb", "kmr", "ur", "bn", "ne", "hi", "ml", "tl", "my", "uk", "ru", "wo", "ff", "tr", "zh"}

// consoleLanguages are the languages of the moderation console: its
// strings (mod.*) are required there and nowhere else.
var consoleLanguages = map[string]bool{"en": true, "fr": true, "es": true, "ar": true}

func isConsole(id string) bool { return strings.HasPrefix(id, "mod.") }

// required reports whether a language must have message id.
func required(tag, id string) bool { return !isConsole(id) || consoleLanguages[tag] }

func loadFiles(t *testing.T) map[string]localeFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("locales", "active.*.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no locale files")
	}
	files := map[string]localeFile{}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := toml.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		values := map[string]string{}
		plurals := map[string]map[string]string{}
		for id, v := range m {
			switch v := v.(type) {
			case string:
				values[id] = v
			case map[string]any:
				forms := map[string]string{}
				for form, text := range v {
					s, ok := text.(string)
					if !ok {
						t.Errorf("%s: %q form %q is %T, want a string", p, id, form, text)
					}
					forms[form] = s
				}
				plurals[id] = forms
			default:
				t.Errorf("%s: %q is %T, want a string or a table of plural forms", p, id, v)
			}
		}
		tag := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "active."), ".toml")
		files[tag] = localeFile{tag: tag, path: p, raw: raw, values: values, plurals: plurals}
	}
	if _, ok := files["en"]; !ok {
		t.Fatal("no active.en.toml")
	}
	return files
}

func newCatalog(t *testing.T) *i18n.Catalog {
	t.Helper()
	c, err := i18n.New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestNoFileLoadsAsUnd(t *testing.T) {
	for tag, f := range loadFiles(t) {
		t.Run(tag, func(t *testing.T) {
			mf, err := goi18n.ParseMessageFileBytes(f.raw, f.path, map[string]goi18n.UnmarshalFunc{"toml": toml.Unmarshal})
			if err != nil {
				t.Fatal(err)
			}
			if mf.Tag == language.Und {
				t.Fatalf("%s loads as und", f.path)
			}
			// "tl" is canonically "fil": the catalog holds it under that
			// stand-in (bundleTags) and keeps "tl" as our tag.
			if mf.Tag.String() != tag && !(tag == "tl" && mf.Tag.String() == "fil") {
				t.Fatalf("%s loads as %q, want %q", f.path, mf.Tag, tag)
			}
		})
	}
}

func TestEveryFileIsLoaded(t *testing.T) {
	files := loadFiles(t)
	c := newCatalog(t)
	var got []string
	for _, l := range c.Languages() {
		got = append(got, l.Tag)
	}
	var want []string
	for tag := range files {
		want = append(want, tag)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("Languages() = %v, files = %v", got, want)
	}
}

func TestSameIDsAsEnglish(t *testing.T) {
	files := loadFiles(t)
	en := files["en"].values
	for tag, f := range files {
		t.Run(tag, func(t *testing.T) {
			for id := range en {
				if _, ok := f.values[id]; !ok && required(tag, id) {
					t.Errorf("%s: missing %q", f.path, id)
				}
			}
			for id := range f.values {
				if _, ok := en[id]; !ok {
					t.Errorf("%s: extra id %q (not in English, or not a plain string there)", f.path, id)
				}
			}
			for id := range files["en"].plurals {
				if _, ok := f.plurals[id]; !ok && required(tag, id) {
					t.Errorf("%s: missing plural message %q", f.path, id)
				}
			}
			for id := range f.plurals {
				if _, ok := files["en"].plurals[id]; !ok {
					t.Errorf("%s: extra plural message %q", f.path, id)
				}
			}
		})
	}
}

func TestIDsMatchEnglishFile(t *testing.T) {
	var want []string
	en := loadFiles(t)["en"]
	for id := range en.values {
		want = append(want, id)
	}
	for id := range en.plurals {
		want = append(want, id)
	}
	sort.Strings(want)
	if got := newCatalog(t).IDs(); !slices.Equal(got, want) {
		t.Fatalf("IDs() = %v\nwant %v", got, want)
	}
}

func TestPlaceholdersAsEnglish(t *testing.T) {
	files := loadFiles(t)
	en := files["en"].values
	for tag, f := range files {
		t.Run(tag, func(t *testing.T) {
			for id, s := range f.values {
				want := placeholders(en[id])
				if got := placeholders(s); !slices.Equal(got, want) {
					t.Errorf("%s: placeholders %v, English has %v", id, got, want)
				}
				if n, m := strings.Count(s, "{{"), strings.Count(s, "}}"); n != len(placeholderRE.FindAllString(s, -1)) || m != n {
					t.Errorf("%s: broken placeholder in %q", id, s)
				}
			}
		})
	}
}

func placeholders(s string) []string {
	p := placeholderRE.FindAllString(s, -1)
	sort.Strings(p)
	return p
}

func TestKeepLiterals(t *testing.T) {
	files := loadFiles(t)
	en := files["en"].values
	for tag, f := range files {
		t.Run(tag, func(t *testing.T) {
			for id, s := range f.values {
				for _, lit := range keepLiterals {
					if localizedKeywordLiterals[lit] && hasLocalizedKeywords(id) {
						continue
					}
					if got, want := strings.Count(s, lit), strings.Count(en[id], lit); got != want {
						t.Errorf("%s: %q appears %d times, English has it %d times", id, lit, got, want)
					}
				}
			}
		})
	}
}

func TestNotSameAsEnglish(t *testing.T) {
	files := loadFiles(t)
	en := files["en"].values
	for tag, f := range files {
		if tag == "en" {
			continue
		}
		t.Run(tag, func(t *testing.T) {
			for id, s := range f.values {
				if strings.TrimSpace(s) == "" {
					t.Errorf("%s: empty", id)
				}
				same := s == en[id]
				if same && !sameAsEnglish[tag][id] {
					t.Errorf("%s: identical to English %q (add to sameAsEnglish if right)", id, s)
				}
				if !same && sameAsEnglish[tag][id] {
					t.Errorf("%s: in sameAsEnglish but differs from English; remove it", id)
				}
			}
		})
	}
}

// TestArabicHasNoStrayLatin catches English left inside Arabic text.
func TestArabicHasNoStrayLatin(t *testing.T) {
	latin := regexp.MustCompile(`[A-Za-z]+`)
	allowed := map[string]bool{"DELETE": true, "PDF": true}
	for id, s := range loadFiles(t)["ar"].values {
		for _, w := range latin.FindAllString(placeholderRE.ReplaceAllString(s, ""), -1) {
			if !allowed[w] {
				t.Errorf("%s: Latin word %q in %q", id, w, s)
			}
		}
	}
}

func TestTranslatorHeader(t *testing.T) {
	for tag, f := range loadFiles(t) {
		if tag == "en" {
			continue
		}
		t.Run(tag, func(t *testing.T) {
			var header []string
			for _, line := range strings.Split(string(f.raw), "\n") {
				if !strings.HasPrefix(line, "#") {
					break
				}
				header = append(header, line)
			}
			for _, want := range []string{`# translator = "machine"`, `# reviewed_by_native_speaker = false`} {
				if !slices.Contains(header, want) {
					t.Errorf("%s: leading comments lack %q", f.path, want)
				}
			}
		})
	}
}

func TestTRendersEveryMessage(t *testing.T) {
	c := newCatalog(t)
	files := loadFiles(t)
	data := map[string]any{"Org": "ORGNAME", "URL": "URLVALUE", "Receipt": "RECEIPTCODE", "State": "STATEVALUE"}
	fill := strings.NewReplacer("{{.Org}}", "ORGNAME", "{{.URL}}", "URLVALUE", "{{.Receipt}}", "RECEIPTCODE", "{{.State}}", "STATEVALUE")
	for _, l := range c.Languages() {
		t.Run(l.Tag, func(t *testing.T) {
			for _, id := range c.IDs() {
				if _, plural := files["en"].plurals[id]; plural {
					continue // TestPluralRendering
				}
				got := c.T(l.Tag, id, data)
				src, ok := files[l.Tag].values[id]
				if !ok && !required(l.Tag, id) {
					src = files["en"].values[id] // console strings fall back to English
				}
				want := fill.Replace(src)
				if got != want {
					t.Errorf("T(%q, %q) = %q, want %q", l.Tag, id, got, want)
				}
			}
		})
	}
}

func TestTFallbacks(t *testing.T) {
	c := newCatalog(t)
	org := map[string]any{"Org": "ORGNAME"}
	en := c.T("en", "consent.who", org)
	if en != "This service is run by ORGNAME." {
		t.Fatalf("English consent.who = %q", en)
	}
	tests := []struct {
		name, tag, id string
		data          map[string]any
		want          string
	}{
		{"unknown language", "de", "app.title", nil, "Tell us what happened"},
		{"empty language", "", "app.title", nil, "Tell us what happened"},
		{"garbage language", "%%%--", "app.title", nil, "Tell us what happened"},
		{"unsupported right-to-left language is not Arabic", "he", "app.title", nil, "Tell us what happened"},
		{"regional variant is not the language", "ar-EG", "app.title", nil, "Tell us what happened"},
		{"unknown language with data", "xx", "consent.who", org, en},
		{"unknown id", "fr", "no.such.id", nil, "no.such.id"},
		{"unknown id, unknown language", "de", "no.such.id", org, "no.such.id"},
		{"unknown id, English", "en", "no.such.id", nil, "no.such.id"},
		{"empty id", "ar", "", nil, ""},
		{"case-insensitive tag", "FR", "contact.yes", nil, "Oui"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.T(tt.tag, tt.id, tt.data); got != tt.want {
				t.Errorf("T(%q, %q) = %q, want %q", tt.tag, tt.id, got, tt.want)
			}
		})
	}
	// Missing or odd data must not panic.
	_ = c.T("ar", "consent.who", nil)
	_ = c.T("ar", "consent.who", map[string]any{"Org": []int{1}})
}

func TestLanguages(t *testing.T) {
	c := newCatalog(t)
	got := c.Languages()
	files := loadFiles(t)
	if len(got) != len(files) {
		t.Fatalf("Languages() has %d languages, the locale folder %d files", len(got), len(files))
	}
	if got[0].Tag != "en" || got[0].Name != "English" || got[0].RTL {
		t.Errorf("English must come first: %+v", got[0])
	}
	for i, l := range got {
		if _, ok := files[l.Tag]; !ok {
			t.Errorf("%s: no locale file", l.Tag)
		}
		if l.Name == "" || l.English == "" {
			t.Errorf("%s: no own or English name", l.Tag)
		}
		if i > 0 && slices.Index(menuOrder, got[i-1].Tag) > slices.Index(menuOrder, l.Tag) {
			t.Errorf("not in menu order: %s before %s", got[i-1].Tag, l.Tag)
		}
	}
	if i := slices.IndexFunc(got, func(l i18n.Language) bool { return l.Tag == "ar" }); i < 0 || got[i].Name != "العربية" || !got[i].RTL {
		t.Errorf("Arabic: %+v", got)
	}
	got[0].Tag = "changed"
	if c.Languages()[0].Tag != "en" {
		t.Fatal("Languages() returns the catalog's own slice")
	}
}

func TestHasAndRTL(t *testing.T) {
	c := newCatalog(t)
	tests := []struct {
		tag      string
		has, rtl bool
	}{
		{"en", true, false},
		{"fr", true, false},
		{"es", true, false},
		{"ar", true, true},
		{"AR", true, true},
		{"ar-EG", false, false},
		{"fa", true, true},
		{"fa-AF", true, true},
		{"ckb", true, true},
		{"ti", true, false},
		{"de", false, false},
		{"he", false, false}, // right to left, but not supported: T gives English
		{"", false, false},
		{"not a tag", false, false},
	}
	for _, tt := range tests {
		if got := c.Has(tt.tag); got != tt.has {
			t.Errorf("Has(%q) = %v, want %v", tt.tag, got, tt.has)
		}
		if got := c.RTL(tt.tag); got != tt.rtl {
			t.Errorf("RTL(%q) = %v, want %v", tt.tag, got, tt.rtl)
		}
	}
}

func TestMatch(t *testing.T) {
	c := newCatalog(t)
	tests := []struct {
		hints []string
		want  string // "" means ok=false
	}{
		{[]string{"ar"}, "ar"},
		{[]string{"ar-EG"}, "ar"},
		{[]string{"ar-SA"}, "ar"},
		{[]string{"fa-IR"}, "fa"},
		{[]string{"fa"}, "fa"},
		{[]string{"fa-AF"}, "fa-AF"},
		{[]string{"prs"}, "fa-AF"},
		{[]string{"prs-AF"}, "fa-AF"},
		{[]string{"ckb"}, "ckb"},
		{[]string{"ckb-IQ"}, "ckb"},
		{[]string{"ku"}, "kmr"},
		{[]string{"kmr"}, "kmr"},
		{[]string{"ur"}, "ur"},
		{[]string{"ur-PK"}, "ur"},
		{[]string{"ps"}, "ps"},
		{[]string{"ps-AF"}, "ps"},
		{[]string{"fa-IR, fa;q=0.9"}, "fa"},
		{[]string{"ti-ER"}, "ti"},
		{[]string{"am-ET"}, "am"},
		{[]string{"om-ET"}, "om"},
		{[]string{"so-SO"}, "so"},
		{[]string{"sw-KE"}, "sw"},
		{[]string{"pt-BR"}, "pt"},
		{[]string{"pt-PT"}, "pt"},
		{[]string{"ht-HT"}, "ht"},
		{[]string{"bn-BD"}, "bn"},
		{[]string{"ne-NP"}, "ne"},
		{[]string{"hi-IN"}, "hi"},
		{[]string{"ml-IN"}, "ml"},
		{[]string{"fil-PH"}, "tl"},
		{[]string{"tl"}, "tl"},
		{[]string{"my-MM"}, "my"},
		{[]string{"uk-UA"}, "uk"},
		{[]string{"ru-RU"}, "ru"},
		{[]string{"wo-SN"}, "wo"},
		{[]string{"ff-SN"}, "ff"},
		{[]string{"tr-TR"}, "tr"},
		{[]string{"zh-CN"}, "zh"},
		{[]string{"zh-Hans-CN"}, "zh"},
		{[]string{"zh-TW"}, ""},
		{[]string{"uz"}, ""},
		{[]string{"sr-Latn"}, ""},
		{[]string{"fr"}, "fr"},
		{[]string{"fr-CA"}, "fr"},
		{[]string{"fr-CH"}, "fr"},
		{[]string{"es"}, "es"},
		{[]string{"es-419"}, "es"},
		{[]string{"es-MX"}, "es"},
		{[]string{"en"}, "en"},
		{[]string{"en-GB"}, "en"},
		{[]string{"en-US"}, "en"},
		{[]string{"EN-gb"}, "en"},
		{[]string{"de"}, ""},
		{[]string{"de-DE, de;q=0.9"}, ""},
		{[]string{""}, ""},
		{[]string{"   "}, ""},
		{nil, ""},
		{[]string{"garbage!!"}, ""},
		{[]string{"xx-yy-zz-123456789"}, ""},
		{[]string{"*"}, ""},
		{[]string{";;;,,,"}, ""},
		{[]string{strings.Repeat("fr,", 1000)}, ""},
		{[]string{"fr-CH, fr;q=0.9, en;q=0.8"}, "fr"},
		{[]string{"de-DE, de;q=0.9, es;q=0.5"}, "es"},
		{[]string{"fa-IR, ar;q=0.5"}, "fa"},
		{[]string{"uz-UZ, ar;q=0.5"}, "ar"},
		{[]string{"en;q=0.2, ar-EG;q=0.9"}, "ar"},
		{[]string{"garbage!!", "es-MX"}, "es"},
		{[]string{"", "fr-CA"}, "fr"},
		{[]string{"fa", "de"}, "fa"},
		{[]string{"uz", "de"}, ""},
		{[]string{"und-EG"}, ""},
		{[]string{"und-Arab"}, ""},
		{[]string{"ar;q=0"}, ""},
		{[]string{"ar;q=0, fr;q=0.1"}, "fr"},
		{[]string{"ckb, ur;q=0.9, ps;q=0.8"}, "ckb"},
	}
	supported := map[string]bool{}
	for _, l := range c.Languages() {
		supported[l.Tag] = true
	}
	for _, tt := range tests {
		name := strings.Join(tt.hints, " | ")
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			got, ok := c.Match(tt.hints...)
			if ok != (tt.want != "") || got != tt.want {
				t.Errorf("Match(%q) = %q, %v; want %q, %v", tt.hints, got, ok, tt.want, tt.want != "")
			}
			if ok && !supported[got] {
				t.Errorf("Match(%q) = %q, not a supported tag", tt.hints, got)
			}
		})
	}
}

// The README lists every language with its translation status and keywords.
func TestReadmeListsEveryLanguage(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for tag, f := range loadFiles(t) {
		if !strings.Contains(string(readme), "| `"+tag+"` |") {
			t.Errorf("README's language table has no row for %s", tag)
		}
		if stop := f.values["kw.stop"]; !strings.Contains(string(readme), "(`"+tag+"`) | "+stop+" |") {
			t.Errorf("README's keyword table does not list %s's STOP keyword %q", tag, stop)
		}
	}
}
