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
	"en":    {"English", "English"},
	"ar":    {"العربية", "Arabic"},
	"fr":    {"Français", "French"},
	"es":    {"Español", "Spanish"},
	"pt":    {"Português", "Portuguese"},
	"ht":    {"Kreyòl ayisyen", "Haitian Creole"},
	"ti":    {"ትግርኛ", "Tigrinya"},
	"am":    {"አማርኛ", "Amharic"},
	"om":    {"Afaan Oromoo", "Oromo"},
	"so":    {"Soomaali", "Somali"},
	"sw":    {"Kiswahili", "Swahili"},
	"ps":    {"پښتو", "Pashto"},
	"fa-AF": {"دری", "Dari"},
	"fa":    {"فارسی", "Persian"},
	"ckb":   {"کوردیی ناوەندی", "Central Kurdish (Sorani)"},
	"kmr":   {"Kurmancî", "Northern Kurdish (Kurmanji)"},
	"ur":    {"اردو", "Urdu"},
	"bn":    {"বাংলা", "Bengali"},
	"ne":    {"नेपाली", "Nepali"},
	"hi":    {"हिन्दी", "Hindi"},
	"ml":    {"മലയാളം", "Malayalam"},
	"tl":    {"Tagalog", "Tagalog"},
	"my":    {"မြန်မာ", "Burmese"},
	"uk":    {"Українська", "Ukrainian"},
	"ru":    {"Русский", "Russian"},
	"wo":    {"Wolof", "Wolof"},
	"ff":    {"Pulaar", "Fula (Pulaar)"},
	"tr":    {"Türkçe", "Turkish"},
	"zh":    {"中文", "Chinese (Mandarin)"},
}

// bundleTags are the tags under which go-i18n holds a language it cannot
// take under its own tag: "tl" is written "fil" once canonical, and go-i18n
// has no plural rule for Kurmanji or Haitian Creole, so their messages are
// held under a tag with the same CLDR rule (Kurdish "ku": one/other; Malay
// "ms": other only, as Haitian counts). Our tag stays the language's own, and
// no stand-in is itself a language we ship.
var bundleTags = map[string]string{"tl": "fil", "kmr": "ku", "ht": "ms"}

// aliases maps tags that people's devices and phones send to the tag of our
// locale file, where the standard matcher would guess wrong or not at all.
// Dari is Persian as written in Afghanistan; "ku" usually means Kurmanji.
var aliases = map[string]string{
	"prs": "fa-AF", "fa-af": "fa-AF", "fa-ir": "fa", "pes": "fa",
	"ckb-iq": "ckb", "ckb-ir": "ckb", "ku-arab": "ckb", "sdh": "ckb",
	"ku": "kmr", "ku-latn": "kmr", "ku-tr": "kmr", "kmr-tr": "kmr",
	"fil": "tl", "fil-ph": "tl", "tl-ph": "tl", "tl": "tl",
	"zh-cn": "zh", "zh-hans": "zh", "zh-sg": "zh", "cmn": "zh",
	"fuc": "ff", "fuf": "ff", "ff-latn": "ff", "ff-sn": "ff",
	"npi": "ne", "swh": "sw", "gaz": "om", "hat": "ht",
}

// menuOrder is the order languages are offered in after English: that of
// shared/domain/languages.csv, by how many people on the routes use them.
var menuOrder = []string{"en", "ar", "fr", "es", "pt", "ht", "ti", "am", "om", "so", "sw", "ps", "fa-AF", "fa",
	"ckb", "kmr", "ur", "bn", "ne", "hi", "ml", "tl", "my", "uk", "ru", "wo", "ff", "tr", "zh"}

// rtlTags lists the tags written right to left.
var rtlTags = map[string]bool{
	"ar":    true,
	"fa":    true,
	"fa-AF": true,
	"ps":    true,
	"ckb":   true,
	"ur":    true,
}
