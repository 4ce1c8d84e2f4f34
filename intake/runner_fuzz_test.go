package intake_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/corridor-gateway/corridor/intake"
)

// FuzzRunnerText sends arbitrary text at each step of a conversation, in
// each language of the catalogue: Handle never panics, and gives either a reply (a text, or
// silence for STOP) or an error, never an empty answer.
func FuzzRunnerText(f *testing.F) {
	for i, s := range []string{
		"hello", "1", "٢", "0", "٠", "99", "STOP", "HELP", "LANG", "DELETE", "DONE", "SKIP",
		"STATUS ACDE-FGHJ-KMNP", "delete acde fghj kmnp", "STATUS", "تم", "تَمّ", "FINI", "LISTO",
		"2025-10", "٢٠٢٥-١٠", "Atlantis", "Libya", "ليبيا", "", " ", "\x00", "\xff\xfe", "\u202eDONE",
		"99999999999999999999", "+1", "-1", "𝟙", "Oui", "Sí", "no acepto", rtPartEN1,
	} {
		f.Add(uint8(i/len(rtTargets)), uint8(i), s)
	}
	e := rtNewEnv(f)
	e.noLog = true
	var langs []string
	for _, l := range e.cat.Languages() {
		langs = append(langs, l.Tag)
	}
	var mu sync.Mutex
	parked := map[int]string{} // (language, target) -> an address whose session is there
	next := 0
	f.Fuzz(func(t *testing.T, li, si uint8, text string) {
		lang, target := langs[int(li)%len(langs)], rtTargets[int(si)%len(rtTargets)]
		k := int(li)%len(langs)*len(rtTargets) + int(si)%len(rtTargets)
		mu.Lock()
		defer mu.Unlock()
		addr, ok := parked[k]
		if !ok || e.step(t, addr) != strings.TrimSuffix(target, "+") {
			next++
			addr = fmt.Sprintf("+1555%07d", next)
			e.advance(t, addr, lang, target)
			parked[k] = addr
		}
		in := e.msg(intake.ChannelSMS, addr, text)
		rep, dup, err := rtHandle(e.r, in)
		if err != nil {
			t.Fatalf("Handle(%q) at %s/%s: %v", text, lang, target, err)
		}
		if dup {
			t.Fatalf("Handle(%q): a new message was taken as a duplicate", text)
		}
		if rep.Silent {
			if rep.Text != "" || len(rep.Menu) != 0 {
				t.Fatalf("a silent reply carries text: %+v", rep)
			}
			return
		}
		if strings.TrimSpace(rep.Text) == "" {
			t.Fatalf("Handle(%q) at %s/%s: empty reply %+v and no error", text, lang, target, rep)
		}
		for _, m := range rep.Menu {
			if m.Num == "" || m.Label == "" {
				t.Fatalf("menu item without number or label: %+v", rep.Menu)
			}
		}
		// A retry of the same delivery answers the same.
		again, dup, err := rtHandle(e.r, in)
		if err != nil || !dup || again.Text != rep.Text {
			t.Fatalf("retry of %q: dup=%v err=%v text %q vs %q", text, dup, err, again.Text, rep.Text)
		}
	})
}
