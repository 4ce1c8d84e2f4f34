package intake

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzRedact checks properties that must hold for any input:
//  1. Redact never panics;
//  2. redacting the output again changes nothing (Redact is idempotent);
//  3. when nothing was found the output is the input, byte for byte;
//  4. found has no duplicates, only known kinds, and each one's marker is in the output;
//  5. every byte outside the replaced spans is kept: the output's text between markers appears in
//     the input in the same order, with the first piece a prefix and the last a suffix; and valid
//     UTF-8 stays valid UTF-8.
func FuzzRedact(f *testing.F) {
	for _, tc := range redactCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, found := Redact(in)

		if len(found) == 0 && out != in {
			t.Fatalf("nothing found but output changed:\n in: %q\nout: %q", in, out)
		}
		kinds := []string{markIBAN, markEmail, markURL, markGPS, markPhone, markID}
		for i, k := range found {
			if !slices.Contains(kinds, k) {
				t.Fatalf("unknown kind %q in %v", k, found)
			}
			if slices.Contains(found[:i], k) {
				t.Fatalf("kind %q listed twice in %v", k, found)
			}
			if !strings.Contains(out, "["+k+"]") {
				t.Fatalf("found %q but no marker in %q", k, out)
			}
		}
		if utf8.ValidString(in) && !utf8.ValidString(out) {
			t.Fatalf("valid input gave invalid output:\n in: %q\nout: %q", in, out)
		}

		if !keptAround(in, out) {
			t.Fatalf("bytes outside the markers changed:\n in: %q\nout: %q", in, out)
		}

		again, found2 := Redact(out)
		if again != out || len(found2) != 0 {
			t.Fatalf("not idempotent:\n   in: %q\n  out: %q\nagain: %q (%v)", in, out, again, found2)
		}
	})
}

var redactMarkerRe = regexp.MustCompile(`\[(?:IBAN|EMAIL|URL|GPS|PHONE|ID)\]`)

// keptAround reports whether out is in with some non-empty spans replaced by markers: the pieces of
// out between markers must be found in in, in order, each piece after the previous one and a
// non-empty gap.
func keptAround(in, out string) bool {
	locs := redactMarkerRe.FindAllStringIndex(out, -1)
	var pieces []string
	prev := 0
	for _, l := range locs {
		pieces = append(pieces, out[prev:l[0]])
		prev = l[1]
	}
	pieces = append(pieces, out[prev:])
	if len(pieces) == 1 {
		return in == out
	}
	first, last := pieces[0], pieces[len(pieces)-1]
	if !strings.HasPrefix(in, first) || !strings.HasSuffix(in, last) {
		return false
	}
	pos := len(first)
	end := len(in) - len(last)
	for _, p := range pieces[1 : len(pieces)-1] {
		// each marker stands for at least one byte
		pos++
		if pos > end {
			return false
		}
		i := strings.Index(in[pos:end], p)
		if i < 0 {
			return false
		}
		pos += i + len(p)
	}
	return pos+1 <= end
}
