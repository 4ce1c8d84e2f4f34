package intake

import (
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"
)

type redactCase struct {
	name  string
	in    string
	want  string
	found []string
}

// redactCases also seed FuzzRedact.
var redactCases = []redactCase{
	// PHONE: international forms.
	{"nigeria", "Call me on +234 803 123 4567 please", "Call me on [PHONE] please", []string{"PHONE"}},
	{"nigeria trunk zero", "+234 (0)803 123 4567", "[PHONE]", []string{"PHONE"}},
	{"nigeria dashes", "my number:+234-803-123-4567.", "my number:[PHONE].", []string{"PHONE"}},
	{"libya", "رقمي +218 91 234 5678 شكرا", "رقمي [PHONE] شكرا", []string{"PHONE"}},
	{"libya compact", "+218912345678", "[PHONE]", []string{"PHONE"}},
	{"tunisia", "Tel: +216 71 234 567", "Tel: [PHONE]", []string{"PHONE"}},
	{"tunisia dots", "+216.98.765.432", "[PHONE]", []string{"PHONE"}},
	{"mexico", "WhatsApp +52 55 1234 5678 o +52 1 55 1234 5678", "WhatsApp [PHONE] o [PHONE]", []string{"PHONE"}},
	{"mexico parens", "+52 (55) 1234-5678", "[PHONE]", []string{"PHONE"}},
	{"bangladesh", "+880 1712-345678", "[PHONE]", []string{"PHONE"}},
	{"afghanistan", "(+93 70 123 4567)", "([PHONE])", []string{"PHONE"}},
	{"uk intl", "+44 (0)20 7946 0958", "[PHONE]", []string{"PHONE"}},
	{"double zero prefix", "00216 71 234 567", "[PHONE]", []string{"PHONE"}},
	// PHONE: local forms.
	{"dutch mobile", "bel 0612 345 678 of 06-12345678", "bel [PHONE] of [PHONE]", []string{"PHONE"}},
	{"uk local parens", "(020) 7946 0958", "[PHONE]", []string{"PHONE"}},
	{"us dashes", "555-123-4567", "[PHONE]", []string{"PHONE"}},
	{"us parens", "(555) 123-4567", "[PHONE]", []string{"PHONE"}},
	{"french pairs", "06 12 34 56 78 et 06.12.34.56.78", "[PHONE] et [PHONE]", []string{"PHONE"}},
	{"german slash", "030/12345678", "[PHONE]", []string{"PHONE"}},
	{"spanish", "612 345 678", "[PHONE]", []string{"PHONE"}},
	{"italian", "+39 347 123 4567", "[PHONE]", []string{"PHONE"}},
	{"plain seven digits", "ring 5551234 now", "ring [PHONE] now", []string{"PHONE"}},
	{"arabic-indic digits", "اتصل على ٠٩١٢٣٤٥٦٧٨", "اتصل على [PHONE]", []string{"PHONE"}},
	{"arabic-indic intl", "+٢١٨ ٩١ ٢٣٤ ٥٦٧٨", "[PHONE]", []string{"PHONE"}},
	{"persian digits", "شماره من ۰۷۹۹ ۱۲۳ ۴۵۶ است", "شماره من [PHONE] است", []string{"PHONE"}},
	{"glued to arabic letters", "رقمي0912345678", "رقمي[PHONE]", []string{"PHONE"}},

	// EMAIL.
	{"email", "write to amina.b+intake@gmail.com.", "write to [EMAIL].", []string{"EMAIL"}},
	{"email subdomain", "<ali_99@mail.example.co.uk>", "<[EMAIL]>", []string{"EMAIL"}},
	{"email in url query", "https://x.org/form?to=a@b.fr&y=1", "[URL]=[EMAIL]&y=1", []string{"URL", "EMAIL"}},

	// URL.
	{"https", "see https://example.com/path?q=1#top, then", "see [URL], then", []string{"URL"}},
	{"http upper", "HTTP://EXAMPLE.ORG/A", "[URL]", []string{"URL"}},
	{"www", "(www.example.org)", "([URL])", []string{"URL"}},
	{"bare domain path", "example.com/path and facebook.com/amina.b.", "[URL] and [URL].", []string{"URL"}},
	{"whatsapp link", "wa.me/21612345678", "[URL]", []string{"URL"}},
	{"libya domain", "bit.ly/3xYz", "[URL]", []string{"URL"}},
	{"country second level", "gov.tn and site.com.ly", "[URL] and [URL]", []string{"URL"}},
	{"word at sentence end", "We reached Libya. Then we left.", "We reached Libya. Then we left.", nil},
	{"words glued by dot", "It was cold.Then we walked.it hurt", "It was cold.Then we walked.it hurt", nil},
	{"file name", "I sent photo.jpg and doc.pdf", "I sent photo.jpg and doc.pdf", nil},

	// ID.
	{"passport", "passport P1234567 taken", "passport [ID] taken", []string{"ID"}},
	{"two letters", "ID card AB123456.", "ID card [ID].", []string{"ID"}},
	{"letter nine digits", "X12345678", "[ID]", []string{"ID"}},
	{"token after dash", "UNHCR 123-45C67890 case 12345678B", "UNHCR 123-[ID] case [ID]", []string{"ID"}},
	{"too long to be an id", "ref ABCDEFGH12345678", "ref ABCDEFGH12345678", nil},
	{"long digit run", "number 123456789012345678901", "number [ID]", []string{"ID"}},
	{"not one digit", "version A1 and MP3", "version A1 and MP3", nil},

	// IBAN.
	{"iban spaced", "IBAN: DE89 3704 0044 0532 0130 00.", "IBAN: [IBAN].", []string{"IBAN"}},
	{"iban compact", "GB29NWBK60161331926819", "[IBAN]", []string{"IBAN"}},
	{"iban tunisia", "TN59 1000 6035 1835 9847 8831", "[IBAN]", []string{"IBAN"}},
	{"iban france", "FR14 2004 1010 0505 0001 3M02 606 merci", "[IBAN] merci", []string{"IBAN"}},

	// GPS.
	{"gps decimal", "we were at 36.8065, 10.1815 that night", "we were at [GPS] that night", []string{"GPS"}},
	{"gps negative compact", "-33.8688,151.2093", "[GPS]", []string{"GPS"}},
	{"gps dms", `boat found 36°48'23"N 10°10'53"E.`, "boat found [GPS].", []string{"GPS"}},
	{"gps dms spaced", `35° 53′ 10″ N, 14° 30′ 5″ E`, "[GPS]", []string{"GPS"}},
	{"gps french decimal comma", "position 36,8065 10,1815", "position [GPS]", []string{"GPS"}},

	// Must not be redacted.
	{"year", "In 2024 we left.", "In 2024 we left.", nil},
	{"month", "since 2026-03", "since 2026-03", nil},
	{"age", "I am 17 years old", "I am 17 years old", nil},
	{"counts", "3 people, 40 km, 12 days", "3 people, 40 km, 12 days", nil},
	{"time", "at 10:30 and 22:15", "at 10:30 and 22:15", nil},
	{"money", "paid 500 euros, then $1,200 and 1 500 000 dinars (2.000.000 total)", "paid 500 euros, then $1,200 and 1 500 000 dinars (2.000.000 total)", nil},
	{"dates", "15.03.2024, 15/03/2024, 2024-03-15, 5-3-2024", "15.03.2024, 15/03/2024, 2024-03-15, 5-3-2024", nil},
	{"year ranges", "from 2019-2021 and 1998 2004", "from 2019-2021 and 1998 2004", nil},
	{"decimal", "pi is 3.1415926", "pi is 3.1415926", nil},
	{"short numbers", "room 12345, code 123456", "room 12345, code 123456", nil},
	{"temperature", "it was 40°C", "it was 40°C", nil},
	{"empty", "", "", nil},

	// Mixed text.
	{
		"arabic and french",
		"Bonjour, je m'appelle Amina. Mon numéro est +216 98 765 432 et mon mail amina.b@gmail.com.\r\n" +
			"مرحبا، رقمي ٠٩١٢٣٤٥٦٧٨ وبريدي amina.b@gmail.com شكرا 🙏",
		"Bonjour, je m'appelle Amina. Mon numéro est [PHONE] et mon mail [EMAIL].\r\n" +
			"مرحبا، رقمي [PHONE] وبريدي [EMAIL] شكرا 🙏",
		[]string{"PHONE", "EMAIL"},
	},
	{
		"all kinds",
		"ID AB123456, IBAN GB29NWBK60161331926819, at 36.8065, 10.1815, site example.org, mail a@b.fr, tel 0612 345 678",
		"ID [ID], IBAN [IBAN], at [GPS], site [URL], mail [EMAIL], tel [PHONE]",
		[]string{"ID", "IBAN", "GPS", "URL", "EMAIL", "PHONE"},
	},

	// Bytes around spans are kept exactly.
	{
		"invalid utf8 nul rtl crlf emoji",
		"\xff\xfe\x00\u202e+234 803 123 4567\u202c\r\n\xc3(😀a@b.co\x80\x00",
		"\xff\xfe\x00\u202e[PHONE]\u202c\r\n\xc3(😀[EMAIL]\x80\x00",
		[]string{"PHONE", "EMAIL"},
	},
	{"truncated arabic digit", "\xd9٠٩١٢٣٤٥٦٧٨\xd9", "\xd9[PHONE]\xd9", []string{"PHONE"}},
	{"literal marker kept", "[PHONE] is what we write", "[PHONE] is what we write", nil},
	{"adjacent spans", "a@b.com+2348031234567", "[EMAIL][PHONE]", []string{"EMAIL", "PHONE"}},
	{"glued to latin word", "tel0612345678x", "tel0612345678x", nil},
}

func TestRedact(t *testing.T) {
	for _, tc := range redactCases {
		t.Run(tc.name, func(t *testing.T) {
			out, found := Redact(tc.in)
			if out != tc.want {
				t.Errorf("Redact(%q)\n got %q\nwant %q", tc.in, out, tc.want)
			}
			if !slices.Equal(found, tc.found) {
				t.Errorf("Redact(%q) found %q, want %q", tc.in, found, tc.found)
			}
			if again, f2 := Redact(out); again != out || len(f2) != 0 {
				t.Errorf("Redact not idempotent on %q: %q %v", out, again, f2)
			}
		})
	}
}

func TestRedactLargeInput(t *testing.T) {
	var b strings.Builder
	line := "Je suis arrivé le 15.03.2024 avec 3 people, tel +234 803 123 4567, mail a.b@c.org, www.example.org/x, " +
		"passport P1234567, IBAN DE89 3704 0044 0532 0130 00, pos 36.8065, 10.1815. مرحبا ٠٩١٢٣٤٥٦٧٨\n"
	for b.Len() < 1<<20 {
		b.WriteString(line)
	}
	in := b.String()
	start := time.Now()
	out, found := Redact(in)
	elapsed := time.Since(start)
	t.Logf("1 MiB redacted in %v", elapsed)
	if len(found) != 6 {
		t.Errorf("found %v, want all six kinds", found)
	}
	if strings.Contains(out, "4567") || strings.Contains(out, "P1234567") || strings.Contains(out, "36.8065") {
		t.Errorf("identifier left in output")
	}
	if testing.Short() {
		return
	}
	// Pathological inputs: long runs of digits, separators and letters.
	for _, s := range []string{
		strings.Repeat("1", 1<<20),
		strings.Repeat("1 ", 1<<19),
		strings.Repeat("a.", 1<<19),
		strings.Repeat("A1", 1<<19),
		strings.Repeat("\xff", 1<<20),
	} {
		start := time.Now()
		Redact(s)
		d := time.Since(start)
		t.Logf("%q...: %v", s[:8], d)
		if d > 10*time.Second {
			t.Errorf("%q...: took %v", s[:8], d)
		}
	}
}

// TestRedactFragments glues realistic fragments together with no space between them, where the
// boundary rules matter most, and checks the fuzz properties on each result. It is deterministic.
func TestRedactFragments(t *testing.T) {
	frags := []string{
		"0612 345 678", "+234 803 123 4567", "(020) 7946 0958", "555-123-4567", "15.03.2024", "2019-2021",
		"1 500 000", "3.1415926", "P1234567", "AB123456", "12345678", "1234", "12", "A", "ab", "é", "م",
		"٠٩١٢٣٤٥٦٧٨", "۰۷۹۹", "a@b.com", "x.y", "example.com", "www.x.org/a", "http://", "wa.me",
		"DE89 3704 0044 0532 0130 00", "GB29NWBK60161331926819", "GB29", " 3704", "36.8065", "10.1815",
		"-33.8688,151.2093", "36°48'23\"N", "10°10'53\"E", " ", ".", "-", "+", "(", ")", "/", ",", "@", "_",
		"[", "]", "[PHONE]", "[ID]", "\xff", "\r\n", "\u202e", "\u00a0", "°", "'", "\"", "N", "0", "9", ":", "?", "=",
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for n := 1 + r.Intn(8); n > 0; n-- {
			b.WriteString(frags[r.Intn(len(frags))])
		}
		in := b.String()
		out, found := Redact(in)
		if len(found) == 0 && out != in {
			t.Fatalf("nothing found but %q became %q", in, out)
		}
		if !keptAround(in, out) {
			t.Fatalf("bytes outside the markers changed: %q -> %q", in, out)
		}
		if again, f2 := Redact(out); again != out || len(f2) != 0 {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, out, again)
		}
	}
}
