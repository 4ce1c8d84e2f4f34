// Package sms knows how a text travels as SMS: whether it fits the GSM 03.38
// 7-bit alphabet (with its extension table) or needs UCS-2, how many
// segments it costs, and how to replace smart punctuation that would force
// UCS-2 on an otherwise GSM-7 message.
//
// Senders pay little or nothing, but they are often on cheap phones where a
// long reply arrives in pieces: every prompt is measured here. This package
// never sees testimony; it measures what we send.
package sms

import (
	"strings"
	"unicode/utf16"
)

// gsmBasic is the GSM 03.38 default alphabet (one septet each).
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtended costs two septets (escape + char).
const gsmExtended = "^{}\\[~]|€\f"

var basic, extended = func() (map[rune]bool, map[rune]bool) {
	b, e := map[rune]bool{}, map[rune]bool{}
	for _, r := range gsmBasic {
		b[r] = true
	}
	for _, r := range gsmExtended {
		e[r] = true
	}
	return b, e
}()

// Encoding of a message.
type Encoding string

const (
	GSM7 Encoding = "GSM-7"
	UCS2 Encoding = "UCS-2"
)

// Septets returns the GSM-7 length of s, and false if s needs UCS-2.
func Septets(s string) (int, bool) {
	n := 0
	for _, r := range s {
		switch {
		case basic[r]:
			n++
		case extended[r]:
			n += 2
		default:
			return 0, false
		}
	}
	return n, true
}

// Measure returns the encoding s needs and how many segments it costs.
func Measure(s string) (Encoding, int) {
	if n, ok := Septets(s); ok {
		if n <= 160 {
			return GSM7, 1
		}
		// Multipart: 153 septets a segment; an escape pair is never split.
		segs, used := 1, 0
		for _, r := range s {
			w := 1
			if extended[r] {
				w = 2
			}
			if used+w > 153 {
				segs++
				used = 0
			}
			used += w
		}
		return GSM7, segs
	}
	units := utf16.Encode([]rune(s))
	if len(units) <= 70 {
		return UCS2, 1
	}
	// Multipart: 67 UTF-16 units a segment; a surrogate pair is never split.
	segs, used := 1, 0
	for _, r := range s {
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if used+w > 67 {
			segs++
			used = 0
		}
		used += w
	}
	return UCS2, segs
}

var smart = strings.NewReplacer(
	"\u2018", "'", "\u2019", "'", "\u201A", "'", "\u201B", "'", "\u2032", "'",
	"\u201C", "\"", "\u201D", "\"", "\u201E", "\"", "\u2033", "\"", "\u00AB", "\"", "\u00BB", "\"",
	"\u2013", "-", "\u2014", "-", "\u2012", "-", "\u2212", "-", "\u2010", "-", "\u2011", "-",
	"\u2026", "...", "\u00A0", " ", "\u2009", " ", "\u202F", " ", "\u2007", " ",
	"\u2022", "-", "\u00B7", "-",
)

// Fit replaces smart punctuation with plain ASCII when that makes the text
// GSM-7; a text that needs UCS-2 anyway is returned unchanged.
func Fit(s string) string {
	if _, ok := Septets(s); ok {
		return s
	}
	t := smart.Replace(s)
	if _, ok := Septets(t); ok {
		return t
	}
	return s
}
