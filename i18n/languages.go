package i18n

// Language describes one supported language.
type Language struct {
	Tag     string // BCP 47 tag, exactly as in the locale file name, e.g. "ar"
	Name    string // own name in own script, e.g. "العربية"
	English string // English name, e.g. "Arabic"
	RTL     bool   // written right to left
}

// languageNames gives the own name and English name of each language that
// may have a locale file. A locale file whose tag is missing here makes New
// fail, so that no language is shown without its own name.
var languageNames = map[string]struct{ Name, English string }{
	"en": {"English", "English"},
	"fr": {"Français", "French"},
	"es": {"Español", "Spanish"},
	"ar": {"العربية", "Arabic"},
}

// rtlTags lists the tags written right to left.
var rtlTags = map[string]bool{
	"ar":    true,
	"fa":    true,
	"fa-AF": true,
	"ps":    true,
	"ckb":   true,
	"ur":    true,
}
