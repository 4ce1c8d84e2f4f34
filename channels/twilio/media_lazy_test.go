package twilio_test

import (
	"net/http"
	"testing"
)

// Media is downloaded only when the conversation takes it, once: an MMS
// sent before consent is never fetched (it would be thrown away), and a
// provider's retry of an MMS does not download it again.
func TestMediaFetchedOnlyWhenTaken(t *testing.T) {
	e := newEnv(t, nil)
	msgSid := "MM" + "cd0123456789abcdef0123456789abcd"
	path := mediaPath(msgSid, "ME20")
	e.api.addMedia(path, fakeMedia{ContentType: "image/jpeg", Data: mediaBytes(0)})
	from := e.newNumber()

	// Before consent: the first message of a conversation carries a photo.
	res := e.post(hookPath, mmsForm(from, e.newSID(), "hello", e.api.URL()+path))
	if res.Code != http.StatusOK {
		t.Fatalf("MMS before consent: %d", res.Code)
	}
	if n := len(e.api.gets()); n != 0 {
		t.Fatalf("media sent before consent was downloaded %d time(s)", n)
	}

	// At the testimony step: fetched once, and a retry fetches nothing.
	e.say(from, "English")
	e.say(from, "1")
	e.say(from, "4")
	form := mmsForm(from, e.newSID(), "a photo", e.api.URL()+path)
	for i := 0; i < 3; i++ {
		if res := e.post(hookPath, form); res.Code != http.StatusOK {
			t.Fatalf("delivery %d: %d", i, res.Code)
		}
	}
	if n := len(e.api.gets()); n != 1 {
		t.Errorf("one MMS delivered three times was downloaded %d times, want 1", n)
	}
	if k := e.kinds(e.reportOf("sms", from)); k["attachment"] != 1 {
		t.Errorf("%d attachments stored, want 1", k["attachment"])
	}
}
