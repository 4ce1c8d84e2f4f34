package sms

import (
	"strings"
	"testing"
)

func TestMeasure(t *testing.T) {
	cases := []struct {
		name string
		s    string
		enc  Encoding
		segs int
	}{
		{"empty", "", GSM7, 1},
		{"160 plain", strings.Repeat("a", 160), GSM7, 1},
		{"161 plain", strings.Repeat("a", 161), GSM7, 2},
		{"306 plain", strings.Repeat("a", 306), GSM7, 2},
		{"307 plain", strings.Repeat("a", 307), GSM7, 3},
		{"80 euro signs cost 160 septets", strings.Repeat("€", 80), GSM7, 1},
		{"81 euro signs", strings.Repeat("€", 81), GSM7, 2},
		{"escape pair not split", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152), GSM7, 3},
		{"accents in the basic table", "àèéùìò ÄÖÑÜ ß", GSM7, 1},
		{"accents outside it", "ê", UCS2, 1},
		{"70 arabic", strings.Repeat("ع", 70), UCS2, 1},
		{"71 arabic", strings.Repeat("ع", 71), UCS2, 2},
		{"134 arabic", strings.Repeat("ع", 134), UCS2, 2},
		{"135 arabic", strings.Repeat("ع", 135), UCS2, 3},
		{"emoji are two units", strings.Repeat("😀", 35), UCS2, 1},
		{"36 emoji", strings.Repeat("😀", 36), UCS2, 2},
		{"tigrinya", "ሰላም", UCS2, 1},
	}
	for _, c := range cases {
		enc, segs := Measure(c.s)
		if enc != c.enc || segs != c.segs {
			t.Errorf("%s: got %s/%d, want %s/%d", c.name, enc, segs, c.enc, c.segs)
		}
	}
}

func TestFit(t *testing.T) {
	if got := Fit("It\u2019s \u201Cfine\u201D \u2013 ok\u2026"); got != "It's \"fine\" - ok..." {
		t.Errorf("got %q", got)
	}
	if enc, _ := Measure(Fit("l\u2019\u00e9t\u00e9")); enc != GSM7 {
		t.Errorf("French with a curly apostrophe should become GSM-7")
	}
	ar := "مرحبا \u201Cصديقي\u201D"
	if Fit(ar) != ar {
		t.Error("a text that needs UCS-2 anyway must not be changed")
	}
}
