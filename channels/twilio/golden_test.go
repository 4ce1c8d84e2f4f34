package twilio_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corridor-gateway/corridor/intake"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// goldenCase is one recorded-style Twilio payload (testdata/<name>.form)
// and its expected answer (testdata/<name>.golden: the TwiML document, or
// the status code for a status callback).
type goldenCase struct {
	name    string
	path    string
	code    int
	prepare func(t *testing.T, e *env, form url.Values)
	check   func(t *testing.T, e *env, form url.Values, before rowCounts)
}

var goldenCases = []goldenCase{
	{name: "sms", path: hookPath, code: http.StatusOK,
		check: func(t *testing.T, e *env, form url.Values, before rowCounts) {
			after := e.counts()
			// A first message is answered with the language menu; nothing it
			// said is kept (no consent yet).
			if after.inbound != before.inbound+1 || after.sessions != before.sessions+1 || after.reports != before.reports || after.entries != before.entries {
				t.Errorf("rows before %+v after %+v", before, after)
			}
		}},
	{name: "whatsapp", path: hookPath, code: http.StatusOK,
		check: func(t *testing.T, e *env, form url.Values, before rowCounts) {
			// whatsapp: addresses become channel whatsapp.
			if s, err := e.db.Session(t.Context(), e.secret.Pseudonym(intake.ChannelWhatsApp, "+5215512345678")); err != nil || s == nil {
				t.Errorf("no whatsapp session for the sender (err %v)", err)
			}
			if s, _ := e.db.Session(t.Context(), e.secret.Pseudonym(intake.ChannelSMS, "+5215512345678")); s != nil {
				t.Error("a WhatsApp message started an SMS session")
			}
		}},
	{name: "mms_two_media", path: hookPath, code: http.StatusOK,
		prepare: func(t *testing.T, e *env, form url.Values) {
			for i, ct := range []string{form.Get("MediaContentType0"), form.Get("MediaContentType1")} {
				u, err := url.Parse(form.Get("MediaUrl" + string(rune('0'+i))))
				if err != nil {
					t.Fatal(err)
				}
				e.api.addMedia(u.Path, fakeMedia{ContentType: ct, Data: mediaBytes(i)})
			}
			e.toTestimony(form.Get("From"))
		},
		check: func(t *testing.T, e *env, form url.Values, before rowCounts) {
			var got []string
			for _, c := range e.api.gets() {
				if !c.AuthOK || c.User != testAccountSID || c.Pass != testAuthToken {
					t.Errorf("media GET %s without the account's basic auth (%q)", c.Path, c.User)
				}
				got = append(got, c.Path)
			}
			u0, _ := url.Parse(form.Get("MediaUrl0"))
			u1, _ := url.Parse(form.Get("MediaUrl1"))
			if len(got) != 2 || !(got[0] == u0.Path && got[1] == u1.Path || got[0] == u1.Path && got[1] == u0.Path) {
				t.Errorf("the fake API saw media GETs %q, want exactly %q and %q", got, u0.Path, u1.Path)
			}
			rid := e.reportOf(intake.ChannelSMS, form.Get("From"))
			if k := e.kinds(rid); k["attachment"] != 2 {
				t.Fatalf("report entries by kind %v: want 2 attachments", k)
			}
			atts := e.openEntries(rid, "attachment")
			for i, p := range atts {
				var a intake.AttachmentPayload
				if err := json.Unmarshal(p, &a); err != nil {
					t.Fatal(err)
				}
				want := mediaBytes(0)
				if a.ContentType == "image/png" {
					want = mediaBytes(1)
				}
				if !bytes.Equal(a.Data, want) {
					t.Errorf("attachment %d (%s) is not the media byte for byte", i, a.ContentType)
				}
			}
		}},
	{name: "status_delivered", path: statusPath, code: http.StatusNoContent,
		check: func(t *testing.T, e *env, form url.Values, before rowCounts) {
			if after := e.counts(); after.deliveries != before.deliveries+1 || after.inbound != before.inbound {
				t.Errorf("rows before %+v after %+v", before, after)
			}
		}},
}

// mediaBytes is the content of recorded media item i.
func mediaBytes(i int) []byte {
	head := [][]byte{{0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F', 0}, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}}[i%2]
	return append(append([]byte{}, head...), bytes.Repeat([]byte{byte(0x30 + i), 0xa5, 0x5a}, 700)...)
}

// loadForm reads a recorded payload, points its media URLs at the fake API,
// and returns the raw body (Twilio's field order kept) and its fields.
func loadForm(t testing.TB, e *env, name string) (string, url.Values) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".form"))
	if err != nil {
		t.Fatal(err)
	}
	raw := strings.ReplaceAll(strings.TrimSpace(string(b)), url.QueryEscape(recordedAPI), url.QueryEscape(e.api.URL()))
	form, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("%s.form: %v", name, err)
	}
	for _, k := range []string{"From", "FromCity", "FromZip", "Body", "ProfileName", "WaId"} {
		if v := form.Get(k); v != "" {
			e.canary(v)
			if d := strings.TrimPrefix(strings.TrimPrefix(v, "whatsapp:"), "+"); d != v {
				e.canary(d)
			}
		}
	}
	if name == "status_delivered" {
		e.canary(form.Get("To"), strings.TrimPrefix(form.Get("To"), "+"))
	}
	return raw, form
}

// runGolden sends one recorded payload, signed, and compares the answer.
func runGolden(t *testing.T, e *env, c goldenCase, compare bool) {
	raw, form := loadForm(t, e, c.name)
	if c.prepare != nil {
		c.prepare(t, e, form)
	}
	before := e.counts()
	res := e.do(request(c.path, raw, sign(testAuthToken, testPublicURL+c.path, form)))
	if res.Code != c.code {
		t.Fatalf("status %d, want %d: %q", res.Code, c.code, res.Body)
	}
	got := []byte(res.Body)
	if c.code != http.StatusOK {
		if res.Body != "" {
			t.Errorf("a %d answer has a body: %q", res.Code, res.Body)
		}
		got = []byte(fmt.Sprintf("%d %s\n", res.Code, http.StatusText(res.Code)))
	} else if res.Ctype != "text/xml; charset=utf-8" {
		t.Errorf("Content-Type %q", res.Ctype)
	}
	golden := filepath.Join("testdata", c.name+".golden")
	if compare && *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if compare {
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("answer differs from %s:\ngot:  %q\nwant: %q", golden, got, want)
		}
	}
	if c.code == http.StatusOK {
		msg := message(t, res.Body)
		if b := form.Get("Body"); b != "" && strings.Contains(msg, b) {
			t.Errorf("the reply repeats what the sender wrote: %q", msg)
		}
	}
	if c.check != nil {
		c.check(t, e, form, before)
	}
	// A retry of the same delivery gets the same answer and stores nothing.
	mid := e.counts()
	again := e.do(request(c.path, raw, sign(testAuthToken, testPublicURL+c.path, form)))
	if again.Code != res.Code || (c.code == http.StatusOK && again.Body != res.Body) {
		t.Errorf("a retried delivery was answered differently: %d %q", again.Code, again.Body)
	}
	if e.counts() != mid {
		t.Errorf("a retried delivery changed the store: %+v -> %+v", mid, e.counts())
	}
}

// TestGolden replays recorded Twilio payloads (SMS, MMS with two media,
// WhatsApp, a status callback), each against a fresh store, and compares
// the answers with testdata/*.golden. go test -run Golden -update rewrites
// them.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			runGolden(t, newEnv(t, nil), c, true)
		})
	}
}
