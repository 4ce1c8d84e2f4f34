package twilio_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corridor-gateway/corridor/channels/twilio"
	"github.com/corridor-gateway/corridor/intake"
)

const (
	mediaFailed   = "could not be received" // sms.media_failed
	mediaTooLarge = "too large"             // sms.media_too_large
)

// mmsForm is an MMS webhook carrying the given media URLs.
func mmsForm(from, sid, body string, urls ...string) url.Values {
	f := smsForm(from, sid, body)
	f.Set("NumMedia", strconv.Itoa(len(urls)))
	for i, u := range urls {
		f.Set("MediaUrl"+strconv.Itoa(i), u)
		f.Set("MediaContentType"+strconv.Itoa(i), "image/jpeg")
	}
	return f
}

// sendMedia delivers an MMS at a sender's testimony step and returns the
// reply text and the change in the report's attachments and answers.
func (e *env) sendMedia(t *testing.T, from, body string, urls ...string) (msg string, dAtt, dAns int) {
	t.Helper()
	rid := e.reportOf(intake.ChannelSMS, from)
	before := e.kinds(rid)
	res := e.post(hookPath, mmsForm(from, e.newSID(), body, urls...))
	if res.Code != 200 {
		t.Fatalf("MMS: status %d %q", res.Code, res.Body)
	}
	after := e.kinds(rid)
	return message(t, res.Body), after["attachment"] - before["attachment"], after["answer"] - before["answer"]
}

// mediaSSRF is SECURITY-CASES I5: media is fetched only from the Twilio API
// host, with a size cap; other URLs are never requested, redirects leave
// the allowed hosts never, and the sender is told plainly.
func mediaSSRF(t *testing.T, e *env) {
	other := newCountingServer(t, mediaBytes(0))
	apiHost := strings.TrimPrefix(e.api.URL(), "http://")
	from := e.newNumber()
	e.toTestimony(from)
	msgSid := "MM" + strings.Repeat("ab", 16)

	t.Run("URLs outside the API host are never fetched", func(t *testing.T) {
		for _, u := range []string{
			other.URL + mediaPath(msgSid, "ME01"),
			strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + mediaPath(msgSid, "ME02"),
			"http://" + testAccountSID + ":" + testAuthToken + "@" + apiHost + mediaPath(msgSid, "ME03"),
			"http://" + apiHost + "@" + strings.TrimPrefix(other.URL, "http://") + mediaPath(msgSid, "ME04"),
			"https://" + apiHost + mediaPath(msgSid, "ME05"),
			"//" + strings.TrimPrefix(other.URL, "http://") + mediaPath(msgSid, "ME06"),
			mediaPath(msgSid, "ME07"),
			"file:///etc/passwd",
			"gopher://" + strings.TrimPrefix(other.URL, "http://") + "/_x",
			"http://[::1]:" + other.URL[strings.LastIndexByte(other.URL, ':')+1:] + "/ME08",
			"http://169.254.169.254/latest/meta-data/",
		} {
			apiGets := len(e.api.gets())
			msg, dAtt, dAns := e.sendMedia(t, from, "", u)
			if other.hits.Load() != 0 {
				t.Fatalf("%s: the other host was requested %d times", u, other.hits.Load())
			}
			if n := len(e.api.gets()); n != apiGets {
				t.Errorf("%s: the API host was requested (%d GETs)", u, n-apiGets)
			}
			if !strings.Contains(msg, mediaFailed) {
				t.Errorf("%s: reply %q, want the media_failed wording", u, msg)
			}
			if dAtt != 0 || dAns != 0 {
				t.Errorf("%s: %d attachments and %d answers stored", u, dAtt, dAns)
			}
		}
	})

	t.Run("a good and a foreign URL in one MMS", func(t *testing.T) {
		good := mediaPath(msgSid, "ME10")
		e.api.addMedia(good, fakeMedia{ContentType: "image/jpeg", Data: mediaBytes(0)})
		msg, dAtt, _ := e.sendMedia(t, from, "", other.URL+mediaPath(msgSid, "ME11"), e.api.URL()+good)
		if other.hits.Load() != 0 {
			t.Fatal("the other host was requested")
		}
		if dAtt != 1 || !strings.Contains(msg, mediaFailed) {
			t.Errorf("reply %q, %d attachments: want the good one stored and the sender told about the other", msg, dAtt)
		}
	})

	t.Run("over the size cap with Content-Length", func(t *testing.T) {
		p := mediaPath(msgSid, "ME20")
		e.api.addMedia(p, fakeMedia{ContentType: "video/mp4", Data: bytes.Repeat([]byte("V"), int(e.cfg.MaxMedia)+1)})
		msg, dAtt, dAns := e.sendMedia(t, from, "", e.api.URL()+p)
		if !strings.Contains(msg, mediaTooLarge) || dAtt != 0 || dAns != 0 {
			t.Errorf("reply %q, %d attachments, %d answers: want 'too large' and nothing stored", msg, dAtt, dAns)
		}
	})

	t.Run("over the size cap, chunked", func(t *testing.T) {
		p := mediaPath(msgSid, "ME21")
		e.api.addMedia(p, fakeMedia{ContentType: "video/mp4", Data: bytes.Repeat([]byte("W"), 4*int(e.cfg.MaxMedia)), Chunked: true})
		msg, dAtt, _ := e.sendMedia(t, from, "", e.api.URL()+p)
		if !strings.Contains(msg, mediaTooLarge) || dAtt != 0 {
			t.Errorf("reply %q, %d attachments: want 'too large' and nothing stored", msg, dAtt)
		}
	})

	t.Run("exactly at the size cap", func(t *testing.T) {
		p := mediaPath(msgSid, "ME22")
		e.api.addMedia(p, fakeMedia{ContentType: "image/jpeg", Data: bytes.Repeat([]byte("J"), int(e.cfg.MaxMedia)), Chunked: true})
		msg, dAtt, _ := e.sendMedia(t, from, "", e.api.URL()+p)
		if strings.Contains(msg, mediaTooLarge) || dAtt != 1 {
			t.Errorf("reply %q, %d attachments: want it stored", msg, dAtt)
		}
	})

	t.Run("text with a too large media: the text is kept, the media is not", func(t *testing.T) {
		p := mediaPath(msgSid, "ME23")
		e.api.addMedia(p, fakeMedia{ContentType: "video/mp4", Data: bytes.Repeat([]byte("X"), int(e.cfg.MaxMedia)+100)})
		text := "Here is a video of the place CANARY-media-txt-41c9"
		e.canary(text)
		msg, dAtt, dAns := e.sendMedia(t, from, text, e.api.URL()+p)
		if !strings.Contains(msg, mediaTooLarge) || dAtt != 0 || dAns != 1 {
			t.Errorf("reply %q, %d attachments, %d answers", msg, dAtt, dAns)
		}
	})

	t.Run("a redirect off the allowed hosts is not followed", func(t *testing.T) {
		for i, target := range []string{other.URL + "/cdn/ME30", "http://169.254.169.254/latest/meta-data/iam"} {
			p := mediaPath(msgSid, "ME3"+strconv.Itoa(i+1))
			e.api.addMedia(p, fakeMedia{Redirect: target})
			msg, dAtt, _ := e.sendMedia(t, from, "", e.api.URL()+p)
			if other.hits.Load() != 0 {
				t.Fatalf("the redirect to %s was followed", target)
			}
			if !strings.Contains(msg, mediaFailed) || dAtt != 0 {
				t.Errorf("reply %q, %d attachments", msg, dAtt)
			}
		}
	})

	t.Run("NumMedia far above MaxMediaN", func(t *testing.T) {
		f := mmsForm(from, e.newSID(), "")
		f.Set("NumMedia", "1000000000")
		p := mediaPath(msgSid, "ME40")
		e.api.addMedia(p, fakeMedia{ContentType: "image/jpeg", Data: mediaBytes(0)})
		for i := 0; i < 40; i++ {
			f.Set("MediaUrl"+strconv.Itoa(i), e.api.URL()+p)
		}
		before := len(e.api.gets())
		res := e.post(hookPath, f)
		if res.Code != 200 {
			t.Fatalf("status %d", res.Code)
		}
		if n := len(e.api.gets()) - before; n > e.maxMediaN() {
			t.Errorf("%d media fetched for one message, cap %d", n, e.maxMediaN())
		}
		if msg := message(t, res.Body); !strings.Contains(msg, mediaTooLarge) {
			t.Errorf("reply %q: the sender should be told not everything was taken", msg)
		}
	})
}

func (e *env) maxMediaN() int {
	if e.cfg.MaxMediaN != 0 {
		return e.cfg.MaxMediaN
	}
	return 10
}

func TestMediaSSRF(t *testing.T) { mediaSSRF(t, newEnv(t, nil)) }

// A redirect to a host listed in MediaHosts (Twilio's media CDN) is
// followed, and the account's credentials do not travel with it.
func TestMediaRedirectToAllowedHost(t *testing.T) {
	cdn := newCountingServer(t, mediaBytes(1))
	// "localhost" rather than 127.0.0.1: another host name than the API's.
	cdnURL := strings.Replace(cdn.URL, "127.0.0.1", "localhost", 1)
	e := newEnv(t, func(c *twilio.Config) { c.MediaHosts = []string{strings.TrimPrefix(cdnURL, "http://")} })
	from := e.newNumber()
	e.toTestimony(from)
	p := mediaPath("MM"+strings.Repeat("cd", 16), "ME50")
	e.api.addMedia(p, fakeMedia{Redirect: cdnURL + "/media/abc123"})
	msg, dAtt, _ := e.sendMedia(t, from, "", e.api.URL()+p)
	if cdn.hits.Load() != 1 || dAtt != 1 || strings.Contains(msg, mediaFailed) {
		t.Fatalf("CDN hits %d, attachments %d, reply %q: want the redirect followed and the media stored", cdn.hits.Load(), dAtt, msg)
	}
	if cdn.auth.Load() != 0 {
		t.Error("the account's basic auth was sent to the media CDN")
	}
	rid := e.reportOf(intake.ChannelSMS, from)
	var a intake.AttachmentPayload
	atts := e.openEntries(rid, "attachment")
	if err := json.Unmarshal(atts[len(atts)-1], &a); err != nil || !bytes.Equal(a.Data, mediaBytes(1)) {
		t.Errorf("the stored attachment is not the media (err %v)", err)
	}
}

// Media fetches are bounded by Config.Timeout: a stalled media host does not
// hold the webhook past Twilio's 15 s.
func TestMediaTimeout(t *testing.T) {
	e := newEnv(t, func(c *twilio.Config) { c.Timeout = 300e6 })
	from := e.newNumber()
	e.toTestimony(from)
	release := make(chan struct{})
	defer close(release)
	p := mediaPath("MM"+strings.Repeat("ef", 16), "ME60")
	e.api.mu.Lock()
	e.api.script = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Path != p {
			return false
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return true
	}
	e.api.mu.Unlock()
	start := time.Now()
	msg, dAtt, _ := e.sendMedia(t, from, "", e.api.URL()+p)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the webhook took %v with a stalled media host", d)
	}
	if !strings.Contains(msg, mediaFailed) || dAtt != 0 {
		t.Errorf("reply %q, %d attachments", msg, dAtt)
	}
}
