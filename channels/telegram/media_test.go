package telegram_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
)

// I5: media is fetched with getFile, downloaded from the Bot API host's
// /file/bot<token>/<path> and nowhere else, under the size cap; what cannot
// be taken is told to the sender and nothing of it is stored.

// attacker is a server a hostile file_path or redirect would point at.
func attacker(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Write(bytes.Repeat([]byte("A"), 100))
	}))
	t.Cleanup(s.Close)
	return s, &n
}

func voiceUpdate(id int64, c chat, fileID string, size int64, caption string) []byte {
	v := map[string]any{"duration": 4, "mime_type": "audio/ogg", "file_id": fileID, "file_unique_id": "AgADv9"}
	if size != 0 {
		v["file_size"] = size
	}
	f := map[string]any{"voice": v}
	if caption != "" {
		f["caption"] = caption
	}
	return messageUpdate(id, c, f)
}

// mediaEnv is a chat at the testimony step, with its report's entries
// counted.
type mediaEnv struct {
	*env
	c        chat
	reportID string
	entries0 int
}

func newMediaEnv(t *testing.T) *mediaEnv {
	e := newEnv(t)
	c := e.newChat("en")
	e.toTestimony(c)
	m := e.onlyReport()
	return &mediaEnv{env: e, c: c, reportID: m.ID, entries0: len(e.entries(m.ID))}
}

// sendWant delivers body and wants exactly one reply, with the text want.
func (m *mediaEnv) sendWant(t *testing.T, body []byte, want string) {
	t.Helper()
	sent0 := len(m.api.sentMessages())
	if rec := m.post(body, ptr(webhookSecret)); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	sent := m.api.sentMessages()[sent0:]
	if len(sent) != 1 || sent[0].Text != want {
		t.Fatalf("replies %+v, want one: %q", sent, want)
	}
}

func (m *mediaEnv) attachments(t *testing.T) int {
	t.Helper()
	n := 0
	for _, en := range m.entries(m.reportID) {
		if en.Kind == "attachment" {
			n++
		}
	}
	return n
}

func TestMediaFetchedOnlyFromTheBotAPIHost(t *testing.T) {
	m := newMediaEnv(t)
	data := append([]byte("OggS"), bytes.Repeat([]byte{1, 2, 3}, 1000)...)
	m.api.setFile("voice-ok", fileSpec{Path: "voice/file_9.oga", Size: int64(len(data)), Data: data})
	req0 := len(m.api.requestLog())
	m.sendWant(t, voiceUpdate(m.id(), m.c, "voice-ok", int64(len(data)), ""), m.en("sms.testimony.ack"))
	want := []string{
		"POST /bot" + botToken + "/getFile",
		"GET /file/bot" + botToken + "/voice/file_9.oga",
		"POST /bot" + botToken + "/sendMessage",
	}
	if got := m.api.requestLog()[req0:]; !reflect.DeepEqual(got, want) {
		t.Errorf("Bot API requests %q, want %q", got, want)
	}
	if got := m.api.getFiles(); len(got) != 1 || got[0] != "voice-ok" {
		t.Errorf("getFile asked for %q", got)
	}
	r := m.deskReport(m.onlyReport())
	if len(r.Attachments) != 1 || !bytes.Equal(r.Attachments[0].Data, data) || r.Attachments[0].ContentType != "audio/ogg" {
		t.Errorf("the desk does not open the voice note byte for byte")
	}
	// A file exactly at the cap is taken.
	at := bytes.Repeat([]byte{7}, maxFile)
	m.api.setFile("doc-at-cap", fileSpec{Path: "documents/file_10.bin", Data: at})
	m.sendWant(t, messageUpdate(m.id(), m.c, map[string]any{"document": map[string]any{"file_id": "doc-at-cap", "file_unique_id": "u", "mime_type": "application/octet-stream"}}),
		m.en("sms.testimony.ack"))
	if n := m.attachments(t); n != 2 {
		t.Errorf("%d attachments, want 2", n)
	}
}

func TestMediaHostileFilePathIsNotFetched(t *testing.T) {
	evil, evilHits := attacker(t)
	host := strings.TrimPrefix(evil.URL, "http://")
	for _, p := range []string{
		"../../etc/passwd",
		"voice/../../bot" + botToken + "/logOut",
		"voice/..",
		"http://" + host + "/x.oga",
		"https://" + host + "/x.oga",
		"HTTP://" + host + "/x.oga",
		"//" + host + "/x.oga",
		"/etc/passwd",
		"voice/./file.oga",
		"voice//file.oga",
		"",
	} {
		// Not p as the name: a '%' or '#' in the temp dir breaks the
		// store's DSN.
		t.Run("path", func(t *testing.T) {
			m := newMediaEnv(t)
			m.api.setFile("hostile", fileSpec{Path: p, Size: 100, Data: bytes.Repeat([]byte("B"), 100)})
			m.sendWant(t, voiceUpdate(m.id(), m.c, "hostile", 100, ""), m.en("sms.media_failed"))
			if d := m.api.downloads(); len(d) != 0 {
				t.Errorf("file_path %q was downloaded: %q", p, d)
			}
			for _, r := range m.api.requestLog() {
				if !strings.HasPrefix(r, "POST /bot"+botToken+"/") {
					t.Errorf("file_path %q: the Bot API host got %q", p, r)
				}
			}
			if evilHits.Load() != 0 {
				t.Errorf("file_path %q reached another host", p)
			}
			if n := m.attachments(t); n != 0 {
				t.Errorf("%d attachments stored", n)
			}
		})
	}
}

// A file_path that encodes "../" as %2e%2e%2f passes the literal ".."
// check and goes out as it is; a server that decodes and cleans the path
// (nginx does) resolves it outside /file/, for example to a Bot API method
// with the bot's token in the URL.
func TestMediaPercentEncodedTraversalIsNotFetched(t *testing.T) {
	for _, p := range []string{
		"%2e%2e/%2e%2e/bot" + botToken + "/logOut",
		"voice/%2E%2E%2F%2E%2E%2Fbot" + botToken + "%2FlogOut",
	} {
		t.Run("encoded", func(t *testing.T) { // not p: see above
			m := newMediaEnv(t)
			m.api.setFile("encoded", fileSpec{Path: p, Size: 100, Data: bytes.Repeat([]byte("B"), 100)})
			if rec := m.post(voiceUpdate(m.id(), m.c, "encoded", 100, ""), ptr(webhookSecret)); rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			if d := m.api.downloads(); len(d) != 0 {
				got := strings.ReplaceAll(strings.Join(d, " "), botToken, "<token>")
				t.Errorf("BUG: a getFile file_path with a percent-encoded \"../\" (%q) was requested as %s: "+
					"the download path check looks for a literal \"..\" only", strings.ReplaceAll(p, botToken, "<token>"), got)
			}
			if got := m.lastTo(m.c).Text; got != m.en("sms.media_failed") {
				t.Errorf("the sender was told %q", got)
			}
		})
	}
}

// A redirect from the file host is not followed.
func TestMediaRedirectIsNotFollowed(t *testing.T) {
	evil, evilHits := attacker(t)
	m := newMediaEnv(t)
	m.api.setFile("redir", fileSpec{Path: "voice/file_5.oga", Size: 100, Status: http.StatusFound, Header: map[string]string{"Location": evil.URL + "/x.oga"}})
	m.sendWant(t, voiceUpdate(m.id(), m.c, "redir", 100, ""), m.en("sms.media_failed"))
	if evilHits.Load() != 0 {
		t.Error("a redirect from the file host was followed")
	}
	if n := m.attachments(t); n != 0 {
		t.Errorf("%d attachments stored", n)
	}
}

func TestMediaOverTheCap(t *testing.T) {
	t.Run("voice over the cap in the update is not fetched", func(t *testing.T) {
		m := newMediaEnv(t)
		m.sendWant(t, voiceUpdate(m.id(), m.c, "big-voice", maxFile+1, ""), m.en("sms.media_too_large"))
		if n := m.api.calls("getFile"); n != 0 {
			t.Errorf("getFile called %d times for a file over the cap", n)
		}
		if len(m.api.downloads()) != 0 || m.attachments(t) != 0 {
			t.Error("something of the file was fetched or stored")
		}
	})
	t.Run("photo with every size over the cap is not fetched", func(t *testing.T) {
		m := newMediaEnv(t)
		m.sendWant(t, messageUpdate(m.id(), m.c, map[string]any{"photo": []any{
			map[string]any{"file_id": "p1", "file_unique_id": "u1", "file_size": maxFile + 1, "width": 90, "height": 90},
			map[string]any{"file_id": "p2", "file_unique_id": "u2", "file_size": 10 * maxFile, "width": 900, "height": 900},
		}}), m.en("sms.media_too_large"))
		if n := m.api.calls("getFile"); n != 0 {
			t.Errorf("getFile called %d times", n)
		}
	})
	t.Run("getFile says over the cap: not downloaded", func(t *testing.T) {
		m := newMediaEnv(t)
		m.api.setFile("liar", fileSpec{Path: "voice/file_6.oga", Size: maxFile + 1, Data: bytes.Repeat([]byte("L"), maxFile+1)})
		m.sendWant(t, voiceUpdate(m.id(), m.c, "liar", 0, ""), m.en("sms.media_too_large"))
		if len(m.api.downloads()) != 0 || m.attachments(t) != 0 {
			t.Error("a file getFile called too large was downloaded or stored")
		}
	})
	t.Run("download over the cap stores nothing of it", func(t *testing.T) {
		m := newMediaEnv(t)
		cn := newCanary()
		big := append([]byte(cn), bytes.Repeat([]byte("D"), maxFile+1000)...)
		m.api.setFile("grows", fileSpec{Path: "documents/file_8.pdf", Data: big}) // no file_size anywhere
		inbound0 := m.count("inbound")
		m.sendWant(t, messageUpdate(m.id(), m.c, map[string]any{"document": map[string]any{"file_id": "grows", "file_unique_id": "u", "mime_type": "application/pdf"}}),
			m.en("sms.media_too_large"))
		if len(m.api.downloads()) != 1 {
			t.Errorf("%d downloads", len(m.api.downloads()))
		}
		if n := len(m.entries(m.reportID)); n != m.entries0 {
			t.Errorf("%d entries added for a file over the cap", n-m.entries0)
		}
		if m.count("inbound") != inbound0+1 {
			t.Error("the delivery itself was not recorded")
		}
		// The data dir is swept for the canary at cleanup.
	})
	t.Run("caption kept, file over the cap not", func(t *testing.T) {
		m := newMediaEnv(t)
		m.sendWant(t, voiceUpdate(m.id(), m.c, "big-voice", maxFile+1, "Recorded at the border"), m.en("sms.media_too_large"))
		if m.attachments(t) != 0 {
			t.Error("an attachment was stored")
		}
		if got := m.deskReport(m.onlyReport()).Copy.Answers["testimony"]; got != "Recorded at the border" {
			t.Errorf("testimony %q, want the caption", got)
		}
	})
	t.Run("download refused", func(t *testing.T) {
		m := newMediaEnv(t)
		m.api.setFile("gone", fileSpec{Path: "voice/missing.oga", Size: 10, Status: http.StatusNotFound})
		m.sendWant(t, voiceUpdate(m.id(), m.c, "gone", 10, ""), m.en("sms.media_failed"))
		if m.attachments(t) != 0 {
			t.Error("an attachment was stored")
		}
	})
	t.Run("getFile refused", func(t *testing.T) {
		m := newMediaEnv(t)
		m.api.setFile("refused", fileSpec{GetFileFail: true})
		m.sendWant(t, voiceUpdate(m.id(), m.c, "refused", 10, ""), m.en("sms.media_failed"))
		if len(m.api.downloads()) != 0 || m.attachments(t) != 0 {
			t.Error("something was downloaded or stored")
		}
	})
}
