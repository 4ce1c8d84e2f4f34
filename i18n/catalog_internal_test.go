package i18n

import (
	"strings"
	"testing"
	"testing/fstest"
)

const goodEN = "\"app.title\" = \"Tell us what happened\"\n"

func TestNewCatalogRejectsBadFiles(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no files", map[string]string{}, "no locale files"},
		{"not a tag", map[string]string{"l/active.en.toml": goodEN, "l/active.arabic.toml": goodEN}, "not a canonical"},
		{"non-canonical tag", map[string]string{"l/active.en.toml": goodEN, "l/active.AR.toml": goodEN}, "not a canonical"},
		{"und", map[string]string{"l/active.en.toml": goodEN, "l/active.und.toml": goodEN}, "not a canonical"},
		{"unknown language", map[string]string{"l/active.en.toml": goodEN, "l/active.de.toml": goodEN}, "languageNames"},
		{"no English", map[string]string{"l/active.fr.toml": goodEN}, "no English"},
		{"bad TOML", map[string]string{"l/active.en.toml": "\"a\" = "}, "parse"},
		{"empty file", map[string]string{"l/active.en.toml": ""}, "no messages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, body := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(body)}
			}
			_, err := newCatalog(fsys, "l")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("newCatalog: err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestMissingTranslationFallsBackToEnglish(t *testing.T) {
	fsys := fstest.MapFS{
		"l/active.en.toml": {Data: []byte(goodEN + "\"only.en\" = \"Only in English {{.Org}}\"\n")},
		"l/active.fr.toml": {Data: []byte("\"app.title\" = \"Dites-nous ce qui s'est passé\"\n")},
	}
	c, err := newCatalog(fsys, "l")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.T("fr", "only.en", map[string]any{"Org": "X"}); got != "Only in English X" {
		t.Fatalf("T(fr, only.en) = %q", got)
	}
	if got := c.T("fr", "app.title", nil); got != "Dites-nous ce qui s'est passé" {
		t.Fatalf("T(fr, app.title) = %q", got)
	}
}

func TestRTLTableCoversArabicScripts(t *testing.T) {
	for _, tag := range []string{"ar", "fa", "fa-AF", "ps", "ckb", "ur"} {
		if !rtlTags[tag] {
			t.Errorf("rtlTags[%q] = false", tag)
		}
	}
	// Exactly the languages written in Arabic script (shared/domain/languages.csv).
	arabicScript := map[string]bool{"ar": true, "fa": true, "fa-AF": true, "ps": true, "ckb": true, "ur": true}
	for tag := range languageNames {
		if rtlTags[tag] != arabicScript[tag] {
			t.Errorf("rtlTags[%q] = %v", tag, rtlTags[tag])
		}
	}
}
