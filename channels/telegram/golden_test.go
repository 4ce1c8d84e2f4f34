package telegram_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the .golden files under testdata/")

// goldenChat is the sender of every payload under testdata/.
var goldenChat = chat{ID: 5550001111, Lang: "en", First: "Goldenfirst", User: "golden_user"}

func init() {
	addCanary("5550001111", "Goldenfirst", "Goldenlast", "golden_user",
		"CANARY-golden-text-7f3a", "CANARY-golden-edit-91c2", "CANARY-golden-docname")
}

// goldenOutcome is what one payload does, as the .golden file holds it.
type goldenOutcome struct {
	Status              int           `json:"status"`
	Quarantined         int           `json:"quarantined"`
	InboundAdded        int           `json:"inbound_rows_added"`
	SendMessage         []sentMessage `json:"send_message"`
	AnswerCallbackQuery int           `json:"answer_callback_query"`
	GetFile             []string      `json:"get_file"`
	Downloads           []string      `json:"downloads"`
	EntriesAdded        []goldenEntry `json:"entries_added"`
}

type goldenEntry struct {
	Seq        int               `json:"seq"`
	Kind       string            `json:"kind"`
	Desk       *goldenAnswer     `json:"desk,omitempty"`
	Custodian  *goldenCustodian  `json:"custodian,omitempty"`
	Attachment *goldenAttachment `json:"attachment,omitempty"`
}

type goldenAnswer struct {
	Step  string `json:"step"`
	Value string `json:"value"`
}

type goldenCustodian struct {
	Step    string `json:"step"`
	Value   string `json:"value"`
	Channel string `json:"channel"`
	Tag     string `json:"tag"`
}

type goldenAttachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
	SHA256      string `json:"sha256"`
}

// goldenFiles is what the fake Bot API holds for the payloads' file ids.
func goldenFiles() map[string]fileSpec {
	pattern := func(head string, n int) []byte {
		b := []byte(head)
		for i := 0; len(b) < n; i++ {
			b = append(b, byte(i*7+3))
		}
		return b
	}
	return map[string]fileSpec{
		"AgACAgQAAxkBAAIBQ2X-photo-s":  {Path: "photos/file_11.jpg", Size: 1432, Data: pattern("\xff\xd8\xff\xe0small", 1432)},
		"AgACAgQAAxkBAAIBQ2X-photo-m":  {Path: "photos/file_12.jpg", Size: 18901, Data: pattern("\xff\xd8\xff\xe0medium", 18901)},
		"AgACAgQAAxkBAAIBQ2X-photo-l":  {Path: "photos/file_13.jpg", Size: 912345, Data: pattern("\xff\xd8\xff\xe0large", 912345)},
		"AwACAgQAAxkBAAIBRGX-voice":    {Path: "voice/file_7.oga", Size: 5120, Data: pattern("OggS\x00\x02", 5120)},
		"BQACAgQAAxkBAAIBRWX-document": {Path: "documents/file_3.pdf", Size: 2048, Data: pattern("%PDF-1.4\n", 2048)},
	}
}

// golden cases: the payload, and where the chat stands when it arrives.
var goldenCases = []struct {
	name    string
	prelude string // "language": after /start; "testimony": at the testimony step
}{
	{"text", "testimony"},
	{"callback", "language"},
	{"photo", "testimony"},
	{"voice", "testimony"},
	{"document", "testimony"},
	{"location", "testimony"},
	{"edited_message", "testimony"},
	{"unknown_kind", "testimony"},
}

func TestGoldenPayloads(t *testing.T) {
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", gc.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t)
			for id, s := range goldenFiles() {
				e.api.setFile(id, s)
			}
			c := goldenChat
			switch gc.prelude {
			case "language":
				e.deliver(textUpdate(100, c, "/start"))
			case "testimony":
				e.deliver(textUpdate(100, c, "/start"))
				e.deliver(pressUpdate(101, c, "o:en"))
				e.deliver(pressUpdate(102, c, "o:read"))
				e.deliver(pressUpdate(103, c, "o:DET"))
				if got := e.lastTo(c).Text; got != e.en("sms.testimony") {
					t.Fatalf("not at the testimony step: %q", got)
				}
			}
			before := struct{ sent, cb, inbound, quarantine, entries int }{
				len(e.api.sentMessages()), len(e.api.callbacks()), e.count("inbound"), e.count("quarantine"), 0}
			var reportID string
			if rs := e.reports(); len(rs) == 1 {
				reportID = rs[0].ID
				before.entries = len(e.entries(reportID))
			}
			gfBefore, dlBefore := len(e.api.getFiles()), len(e.api.downloads())

			rec := e.post(body, ptr(webhookSecret))

			out := goldenOutcome{
				Status:              rec.Code,
				Quarantined:         e.count("quarantine") - before.quarantine,
				InboundAdded:        e.count("inbound") - before.inbound,
				SendMessage:         e.api.sentMessages()[before.sent:],
				AnswerCallbackQuery: len(e.api.callbacks()) - before.cb,
				GetFile:             e.api.getFiles()[gfBefore:],
				Downloads:           e.api.downloads()[dlBefore:],
			}
			for i, d := range out.Downloads {
				out.Downloads[i] = strings.ReplaceAll(d, botToken, "<token>")
			}
			if rs := e.reports(); len(rs) == 1 {
				m := rs[0]
				if reportID != "" && m.ID != reportID {
					t.Fatalf("the payload started another report")
				}
				for _, en := range e.entries(m.ID)[before.entries:] {
					ge := goldenEntry{Seq: en.Seq, Kind: en.Kind}
					switch en.Kind {
					case "answer":
						a := e.deskAnswer(m, en)
						ge.Desk = &goldenAnswer{Step: a.Step, Value: a.Value}
						ca := e.custodian(m.ID, en)
						ge.Custodian = &goldenCustodian{Step: ca.Step, Value: string(ca.Value), Channel: ca.Channel, Tag: ca.Tag}
					case "attachment":
						a := e.attachment(m, en)
						sum := sha256.Sum256(a.Data)
						ge.Attachment = &goldenAttachment{Name: a.Name, ContentType: a.ContentType, Size: len(a.Data), SHA256: hex.EncodeToString(sum[:8])}
					}
					out.EntriesAdded = append(out.EntriesAdded, ge)
				}
			}

			// nil and empty print the same.
			out.SendMessage = append([]sentMessage{}, out.SendMessage...)
			out.GetFile = append([]string{}, out.GetFile...)
			out.Downloads = append([]string{}, out.Downloads...)
			out.EntriesAdded = append([]goldenEntry{}, out.EntriesAdded...)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(out); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", gc.name+".golden")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGoldenPayloads -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s: outcome differs from the golden file (go test -run TestGoldenPayloads -update rewrites it)\n--- got\n%s--- want\n%s", gc.name, buf.String(), want)
			}

			// The same delivery again: answered 200, nothing more stored,
			// the same words sent again (or, again, nothing).
			sentBefore := len(e.api.sentMessages())
			if rec := e.post(body, ptr(webhookSecret)); rec.Code != out.Status {
				t.Errorf("redelivery answered %d, first delivery %d", rec.Code, out.Status)
			}
			if q := e.count("quarantine") - before.quarantine; q != out.Quarantined {
				t.Errorf("redelivery: %d quarantine rows, want %d", q, out.Quarantined)
			}
			if n := e.count("inbound") - before.inbound; n != out.InboundAdded {
				t.Errorf("redelivery: %d inbound rows, want %d", n, out.InboundAdded)
			}
			if rs := e.reports(); len(rs) == 1 {
				if n := len(e.entries(rs[0].ID)) - before.entries; n != len(out.EntriesAdded) {
					t.Errorf("redelivery: %d entries added, want %d", n, len(out.EntriesAdded))
				}
			}
			again := e.api.sentMessages()[sentBefore:]
			if len(again) != len(out.SendMessage) {
				t.Errorf("redelivery sent %d messages, the first delivery %d", len(again), len(out.SendMessage))
			} else {
				for i := range again {
					if again[i].Text != out.SendMessage[i].Text || !reflect.DeepEqual(again[i].Markup, out.SendMessage[i].Markup) {
						t.Errorf("redelivery sent %+v, the first delivery %+v", again[i], out.SendMessage[i])
					}
				}
			}

			switch gc.name {
			case "location":
				checkLocation(t, e)
			case "photo":
				r := e.deskReport(e.onlyReport())
				want := goldenFiles()["AgACAgQAAxkBAAIBQ2X-photo-m"].Data
				if len(r.Attachments) != 1 || !bytes.Equal(r.Attachments[0].Data, want) || r.Attachments[0].ContentType != "image/jpeg" {
					t.Errorf("the desk should open the medium photo byte for byte (the largest under the cap)")
				}
			case "document":
				r := e.deskReport(e.onlyReport())
				for _, a := range r.Attachments {
					if strings.Contains(a.Name, "CANARY") {
						t.Error("the document's file name was kept")
					}
				}
			}
		})
	}
}

// checkLocation opens the location entries: the desk copy says only that a
// location was shared; the custodian copy has the coordinates.
func checkLocation(t *testing.T, e *env) {
	t.Helper()
	m := e.onlyReport()
	r := e.deskReport(m)
	desk := r.Copy.Answers["testimony"]
	if desk != "[GPS]" {
		t.Errorf("desk testimony = %q, want [GPS]", desk)
	}
	for _, coord := range []string{"32.88", "13.19", "geo:"} {
		for step, v := range r.Copy.Answers {
			if strings.Contains(v, coord) {
				t.Errorf("the desk copy (%s) holds coordinates: %q", step, v)
			}
		}
	}
	var geo []string
	for _, en := range e.entries(m.ID) {
		if en.Kind != "answer" {
			continue
		}
		if a := e.custodian(m.ID, en); a.Step == "testimony" {
			geo = append(geo, string(a.Value))
		}
	}
	if !reflect.DeepEqual(geo, []string{"geo:32.887209,13.191338"}) {
		t.Errorf("custodian testimony values = %q, want [geo:32.887209,13.191338]", geo)
	}
}
