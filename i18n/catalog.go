package i18n

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed locales/active.*.toml
var localeFS embed.FS

const (
	localeDir     = "locales"
	sourceTag     = "en"
	filePrefix    = "active."
	fileExtension = ".toml"
)

// Catalog holds the embedded texts of all supported languages. It is
// read-only after New and safe for concurrent use.
type Catalog struct {
	langs      []Language                   // English first, then by tag
	byTag      map[string]int               // tag -> index in langs
	localizers map[string]*goi18n.Localizer // one per tag, pinned to that tag
	matcher    language.Matcher             // over supported
	supported  []language.Tag               // parsed tags of langs, same order
	ids        []string                     // English message ids, sorted
}

// New loads the embedded locale files. It fails if a file name does not give
// a known, canonical language tag (go-i18n would silently load such a file
// as "und"), if a file does not parse, or if English is missing.
func New() (*Catalog, error) {
	return newCatalog(localeFS, localeDir)
}

func newCatalog(fsys fs.FS, dir string) (*Catalog, error) {
	names, err := fs.Glob(fsys, path.Join(dir, filePrefix+"*"+fileExtension))
	if err != nil {
		return nil, fmt.Errorf("i18n: list locale files: %w", err)
	}
	if len(names) == 0 {
		return nil, errors.New("i18n: no locale files")
	}

	bundle := goi18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)

	c := &Catalog{
		byTag:      map[string]int{},
		localizers: map[string]*goi18n.Localizer{},
	}
	for _, name := range names {
		base := path.Base(name)
		tag := strings.TrimSuffix(strings.TrimPrefix(base, filePrefix), fileExtension)
		parsed, err := language.Parse(tag)
		standIn, hasStandIn := bundleTags[tag]
		if err != nil || parsed == language.Und || (parsed.String() != tag && !hasStandIn) {
			return nil, fmt.Errorf("i18n: %s: %q is not a canonical language tag", name, tag)
		}
		info, ok := languageNames[tag]
		if !ok {
			return nil, fmt.Errorf("i18n: %s: no entry for %q in languageNames", name, tag)
		}
		if _, dup := c.byTag[tag]; dup {
			return nil, fmt.Errorf("i18n: %s: language %q loaded twice", name, tag)
		}
		buf, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("i18n: read %s: %w", name, err)
		}
		var msgs []*goi18n.Message
		if hasStandIn {
			msgs, err = bundle.ParseMessageBytes(language.MustParse(standIn), buf, toml.Unmarshal)
			if err != nil {
				return nil, fmt.Errorf("i18n: parse %s: %w", name, err)
			}
		} else {
			mf, err := bundle.ParseMessageFileBytes(buf, base)
			if err != nil {
				return nil, fmt.Errorf("i18n: parse %s: %w", name, err)
			}
			if mf.Tag == language.Und || mf.Tag.String() != tag {
				return nil, fmt.Errorf("i18n: %s loaded as %q, want %q", name, mf.Tag, tag)
			}
			msgs = mf.Messages
		}
		if len(msgs) == 0 {
			return nil, fmt.Errorf("i18n: %s has no messages", name)
		}
		if tag == sourceTag {
			for _, m := range msgs {
				c.ids = append(c.ids, m.ID)
			}
		}
		c.byTag[tag] = -1
		c.langs = append(c.langs, Language{
			Tag:     tag,
			Name:    info.Name,
			English: info.English,
			RTL:     rtlTags[tag],
		})
	}
	if _, ok := c.byTag[sourceTag]; !ok {
		return nil, errors.New("i18n: no English locale file")
	}

	rank := func(tag string) int {
		if i := slices.Index(menuOrder, tag); i >= 0 {
			return i
		}
		return len(menuOrder)
	}
	sort.SliceStable(c.langs, func(i, j int) bool {
		a, b := rank(c.langs[i].Tag), rank(c.langs[j].Tag)
		if a != b {
			return a < b
		}
		return c.langs[i].Tag < c.langs[j].Tag
	})
	sort.Strings(c.ids)

	supported := make([]language.Tag, len(c.langs))
	for i, l := range c.langs {
		c.byTag[l.Tag] = i
		supported[i] = language.MustParse(l.Tag)
		// Each localizer asks for exactly one loaded tag, so go-i18n's own
		// matcher always picks that tag and never guesses.
		bt := l.Tag
		if st, ok := bundleTags[l.Tag]; ok {
			bt = st
		}
		c.localizers[l.Tag] = goi18n.NewLocalizer(bundle, bt)
	}
	c.supported = supported
	c.matcher = language.NewMatcher(supported)
	return c, nil
}

// Languages returns the supported languages in menu order: English first,
// then by how many people on the routes use them (menuOrder).
func (c *Catalog) Languages() []Language {
	return append([]Language(nil), c.langs...)
}

// lookup returns the supported tag for tag: the tag itself, or its canonical
// form ("AR" -> "ar"). Regional variants are not supported tags ("ar-EG" is
// not "ar"): use Match for that.
func (c *Catalog) lookup(tag string) (string, bool) {
	if _, ok := c.byTag[tag]; ok {
		return tag, true
	}
	if tag == "" || len(tag) > maxTagLen {
		return "", false
	}
	t, err := language.Parse(tag)
	if err != nil {
		return "", false
	}
	s := t.String()
	_, ok := c.byTag[s]
	return s, ok
}

// Has reports whether tag is a supported language.
func (c *Catalog) Has(tag string) bool {
	_, ok := c.lookup(tag)
	return ok
}

// RTL reports whether the texts that T returns for tag are written right to
// left. It is false for a tag that is not supported, because T then returns
// English.
func (c *Catalog) RTL(tag string) bool {
	t, ok := c.lookup(tag)
	return ok && c.langs[c.byTag[t]].RTL
}

// T returns the text of message id in language tag, with data filled into
// its placeholders ({{.Org}}). If tag is not supported, or the message is
// missing or broken in that language, it returns the English text; if English
// lacks the id too, it returns id itself. It never panics.
func (c *Catalog) T(tag, id string, data map[string]any) (text string) {
	defer func() {
		if recover() != nil {
			text = id
		}
	}()
	if t, ok := c.lookup(tag); ok && t != sourceTag {
		if s, err := c.localize(t, id, data); err == nil {
			return s
		}
	}
	if s, err := c.localize(sourceTag, id, data); err == nil {
		return s
	}
	return id
}

// TN is T for a message with plural forms: count picks the CLDR form of
// the language, and is available to the text as {{.Count}}.
func (c *Catalog) TN(tag, id string, count int, data map[string]any) (text string) {
	defer func() {
		if recover() != nil {
			text = id
		}
	}()
	d := map[string]any{"Count": count}
	for k, v := range data {
		d[k] = v
	}
	if t, ok := c.lookup(tag); ok && t != sourceTag {
		if s, err := c.localizeN(t, id, d, count); err == nil {
			return s
		}
	}
	if s, err := c.localizeN(sourceTag, id, d, count); err == nil {
		return s
	}
	return id
}

func (c *Catalog) localize(tag, id string, data map[string]any) (string, error) {
	return c.localizeN(tag, id, data, nil)
}

func (c *Catalog) localizeN(tag, id string, data map[string]any, count any) (string, error) {
	cfg := &goi18n.LocalizeConfig{MessageID: id, PluralCount: count}
	if data != nil {
		cfg.TemplateData = data
	}
	s, got, err := c.localizers[tag].LocalizeWithTag(cfg)
	if err != nil {
		return "", err
	}
	want := tag
	if st, ok := bundleTags[tag]; ok {
		want = st
	}
	if got.String() != want {
		return "", fmt.Errorf("i18n: %q came from %q, not %q", id, got, tag)
	}
	return s, nil
}

// IDs returns all message ids of the English file, sorted.
func (c *Catalog) IDs() []string {
	return append([]string(nil), c.ids...)
}
