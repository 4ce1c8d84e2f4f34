package twilio

import "strings"

// callingCodeLanguages suggests languages from a number's country calling
// code. It orders the language menu only; it is used in memory and never
// stored, and the sender always chooses.
var callingCodeLanguages = map[string][]string{
	"1": {"en", "es"}, "7": {"ru"}, "20": {"ar"}, "27": {"en"}, "30": {"el"}, "33": {"fr"}, "34": {"es"}, "39": {"it"},
	"44": {"en"}, "49": {"de"}, "51": {"es"}, "52": {"es"}, "53": {"es"}, "54": {"es"}, "56": {"es"}, "57": {"es"},
	"58": {"es"}, "86": {"zh"}, "90": {"tr"}, "91": {"hi", "en"}, "92": {"ur"}, "93": {"ps", "fa-AF"}, "95": {"my"},
	"98": {"fa"}, "211": {"en", "ar"}, "212": {"ar", "fr"}, "213": {"ar", "fr"}, "216": {"ar", "fr"}, "218": {"ar"},
	"220": {"en", "wo"}, "221": {"fr", "wo"}, "222": {"ar", "fr"}, "223": {"fr"}, "224": {"fr", "ff"}, "225": {"fr"},
	"226": {"fr"}, "227": {"fr"}, "228": {"fr"}, "229": {"fr"}, "231": {"en"}, "232": {"en"}, "233": {"en"}, "234": {"en"},
	"235": {"fr", "ar"}, "236": {"fr"}, "237": {"fr", "en"}, "241": {"fr"}, "242": {"fr"}, "243": {"fr", "sw"},
	"249": {"ar"}, "250": {"en", "fr"}, "251": {"am", "om", "ti"}, "252": {"so"}, "253": {"fr", "so"}, "254": {"sw", "en"},
	"255": {"sw"}, "256": {"en", "sw"}, "257": {"fr"}, "291": {"ti", "ar"}, "380": {"uk"}, "502": {"es"}, "503": {"es"},
	"504": {"es"}, "505": {"es"}, "506": {"es"}, "507": {"es"}, "509": {"ht", "fr"}, "591": {"es"}, "593": {"es"},
	"595": {"es"}, "598": {"es"}, "880": {"bn"}, "961": {"ar"}, "962": {"ar"}, "963": {"ar", "ckb", "kmr"},
	"964": {"ar", "ckb"}, "965": {"ar"}, "966": {"ar"}, "967": {"ar"}, "968": {"ar"}, "970": {"ar"}, "971": {"ar"},
	"972": {"ar"}, "973": {"ar"}, "974": {"ar"}, "977": {"ne"},
}

// LanguageHints returns languages likely for an E.164 number.
func LanguageHints(e164 string) []string {
	d := strings.TrimPrefix(e164, "+")
	if d == e164 {
		return nil
	}
	for n := 3; n >= 1; n-- {
		if len(d) > n {
			if l, ok := callingCodeLanguages[d[:n]]; ok {
				return l
			}
		}
	}
	return nil
}
