package telegram_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// P1 and C1: drive the error paths with canaries everywhere (chat id,
// names, username, testimony, file name), then sweep this deployment's
// logs and its data dir (the database, -wal and -shm). TestMain sweeps
// every deployment's logs once more at the end of the run, and every
// deployment's data dir is swept at its cleanup.
func TestCanarySweepErrorPaths(t *testing.T) {
	e := newEnv(t)
	c := e.newChat("en")
	cn := newCanary()
	e.toTestimony(c)
	post := func(body []byte, secret *string, want int) {
		t.Helper()
		if rec := e.post(body, secret); rec.Code != want {
			t.Errorf("status %d, want %d", rec.Code, want)
		}
	}
	// Refused: wrong secrets, including the bot token as the secret.
	body := textUpdate(e.id(), c, "refused "+cn)
	for _, s := range []*string{nil, ptr(""), ptr("wrong"), ptr(botToken)} {
		post(body, s, http.StatusUnauthorized)
	}
	// Malformed, with the canaries inside.
	post([]byte(`{"update_id":"`+cn+`","message":{"chat":{"id":`+itoa(c.ID)+`},"text":"`+c.First+`"`), ptr(webhookSecret), http.StatusBadRequest)
	// Too big.
	post(textUpdate(e.id(), c, strings.Repeat(cn, 1<<20/len(cn)+1)), ptr(webhookSecret), http.StatusRequestEntityTooLarge)
	// Quarantined: unknown kind, oversize text, group chat.
	post(mustJSON(map[string]any{"update_id": e.id(), "message_reaction": map[string]any{"chat": c.chatObj(), "user": c.from()}}), ptr(webhookSecret), http.StatusOK)
	post(textUpdate(e.id(), c, strings.Repeat(cn+" ", 1000)), ptr(webhookSecret), http.StatusOK)
	post(mustJSON(map[string]any{"update_id": e.id(), "message": map[string]any{"chat": map[string]any{"id": c.ID, "type": "group", "title": c.First},
		"from": c.from(), "text": cn}}), ptr(webhookSecret), http.StatusOK)
	// Media failures: hostile path, over the cap, getFile refused.
	e.api.setFile("hostile", fileSpec{Path: "../" + cn, Size: 10})
	post(voiceUpdate(e.id(), c, "hostile", 10, cn), ptr(webhookSecret), http.StatusOK)
	post(voiceUpdate(e.id(), c, "big", maxFile+1, ""), ptr(webhookSecret), http.StatusOK)
	e.api.setFile("refused", fileSpec{GetFileFail: true})
	post(messageUpdate(e.id(), c, map[string]any{"document": map[string]any{"file_id": "refused", "file_unique_id": "u", "file_name": cn + ".pdf"}}), ptr(webhookSecret), http.StatusOK)
	// A normal answer, then the Bot API failing: 500 on sendMessage, then
	// down altogether (the library's errors carry the token in URLs).
	e.text(c, "Taken at night "+cn)
	e.api.mu.Lock()
	e.api.sendCode = http.StatusInternalServerError
	e.api.mu.Unlock()
	e.text(c, "More "+cn)
	e.api.Close()
	e.text(c, "Still more "+cn)
	e.press(c, "o:nothing "+cn[:20])
	// The store failing.
	e.db.Close()
	post(textUpdate(e.id(), c, "lost "+cn), ptr(webhookSecret), http.StatusServiceUnavailable)
	post(mustJSON(map[string]any{"update_id": e.id(), "message_reaction": map[string]any{"chat": c.chatObj()}}), ptr(webhookSecret), http.StatusServiceUnavailable)

	logs := e.logs.String()
	if logs == "" {
		t.Fatal("nothing was logged: the sweep would prove nothing")
	}
	for _, s := range []string{itoa(c.ID), c.First, c.User, cn, botToken, webhookSecret, "Canarylast"} {
		if strings.Contains(logs, s) {
			t.Errorf("%q is in the logs", s)
		}
	}
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		lines++
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Errorf("a log line is not JSON: %q", sc.Text())
		}
	}
	if !strings.Contains(logs, `"telegram webhook refused"`) || !strings.Contains(logs, `"telegram update quarantined"`) ||
		!strings.Contains(logs, `"telegram reply not sent"`) || !strings.Contains(logs, `"telegram update not stored"`) {
		t.Errorf("the error paths were not all reached:\n%s", logs)
	}
	t.Logf("%d log lines swept", lines)
	if found := sweepDir(t, e.dir); len(found) > 0 {
		t.Errorf("canaries in the data dir: %v", found)
	}
	if !bytes.Contains([]byte(logs), []byte(`"status":401`)) {
		t.Error("the 401 was not logged")
	}
}

// The data-dir sweep sees what is stored in the clear: the pseudonym is.
func TestDataDirSweepSeesClearText(t *testing.T) {
	e := newEnv(t)
	c := e.newChat("en")
	e.toTestimony(c)
	p := e.onlyReport().Pseudonym
	if p == "" || len(sweepDirFor(e.dir, []string{p})) == 0 {
		t.Fatal("the data-dir sweep does not see a value stored in the clear")
	}
}

func itoa(n int64) string { return string(mustJSON(n)) }
