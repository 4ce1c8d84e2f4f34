package main

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

const testAuthToken = "testauthtoken0123456789abcdef0123"

// signTwilio computes X-Twilio-Signature as Twilio does.
func signTwilio(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := fullURL
	for _, k := range keys {
		s += k + form.Get(k)
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

type phone struct {
	t      *testing.T
	d      *deployment
	from   string
	public string
	n      *atomic.Int64
}

var sidCounter atomic.Int64

func (d *deployment) phone(from string) *phone {
	return &phone{t: d.t, d: d, from: from, public: d.env["CORRIDOR_PUBLIC_URL"], n: &sidCounter}
}

// send delivers one signed webhook and returns the TwiML message text.
func (p *phone) sendSid(sid, body string) (int, string) {
	p.t.Helper()
	form := url.Values{"MessageSid": {sid}, "SmsMessageSid": {sid}, "AccountSid": {"AC0123"}, "From": {p.from},
		"To": {"+15005550006"}, "Body": {body}, "NumMedia": {"0"}, "FromCity": {"TRIPOLI"}, "FromCountry": {"LY"}}
	req, _ := http.NewRequest("POST", p.d.url+"/channels/twilio", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", signTwilio(testAuthToken, p.public+"/channels/twilio", form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var tw struct {
		Message []string `xml:"Message"`
	}
	if resp.StatusCode == 200 {
		if err := xml.Unmarshal(b, &tw); err != nil {
			p.t.Fatalf("reply is not TwiML: %s", b)
		}
	}
	return resp.StatusCode, strings.Join(tw.Message, "\n")
}

func (p *phone) send(body string) string {
	p.t.Helper()
	sid := fmt.Sprintf("SM%032d", p.n.Add(1))
	code, msg := p.sendSid(sid, body)
	if code != 200 {
		p.t.Fatalf("webhook %q: status %d", body, code)
	}
	return msg
}

func smsDeployment(t *testing.T) *deployment {
	return newDeployment(t, deployOpts{env: map[string]string{
		"TWILIO_ACCOUNT_SID": "AC0123", "TWILIO_AUTH_TOKEN": testAuthToken,
		"CORRIDOR_PUBLIC_URL": "https://intake.example.org", "TWILIO_API_URL": "http://127.0.0.1:1",
	}, edit: func(dir string) {
		setConfig(t, dir, "redact_provider_copy", "redact_provider_copy = false")
	}})
}

func setConfig(t *testing.T, dir, key, line string) {
	t.Helper()
	p := dir + "/corridor.toml"
	b, err := readFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFile(p, replaceLine(b, key, line)); err != nil {
		t.Fatal(err)
	}
}

// A whole conversation in Spanish ends with a receipt and a report that
// report list shows as channel sms, language es, anonymised.
func TestSMSConversations(t *testing.T) {
	d := smsDeployment(t)
	cases := []struct {
		lang, from, langChoice, consent, topic, text, when, where, contact, confirm string
		wantPrompt                                                                  string
	}{
		{"es", "+52 55 1234 5678", "español", "2", "4", "Nos encerraron en una bodega en Tapachula. Mi hermano: +52 961 123 4567", "2", "México", "1", "1", "¿"},
		{"en", "+447700900123", "english", "1", "detention", "They kept us in a container for three days.", "2025-10", "LBY", "2", "send", "When"},
		{"ar", "+218912345678", "1", "1", "٤", "احتجزونا في مستودع قرب الزاوية لمدة أسبوع.", "2", "ليبيا", "2", "1", "متى"},
	}
	for _, c := range cases {
		t.Run(c.lang, func(t *testing.T) {
			p := d.phone(c.from)
			cn := canary(t)
			canaryText := c.text + " " + cn
			first := p.send("Hola")
			if !strings.Contains(first, "English") || !strings.Contains(first, "العربية") {
				t.Fatalf("the first reply must be the language menu: %q", first)
			}
			if strings.Contains(first, "Hola") {
				t.Fatal("a reply repeats what the sender wrote")
			}
			if c.lang == "ar" && !strings.HasPrefix(strings.SplitN(first, "\n", 2)[1], "1 العربية") {
				t.Errorf("a Libyan number should see Arabic first: %q", first)
			}
			consent := p.send(c.langChoice)
			if !strings.Contains(consent, "1 ") || !strings.Contains(consent, "3 ") {
				t.Fatalf("consent menu: %q", consent)
			}
			topic := p.send(c.consent)
			if !strings.Contains(topic, "12 ") {
				t.Fatalf("topic menu: %q", topic)
			}
			p.send(c.topic)
			ack := p.send(canaryText)
			if strings.Contains(ack, c.text[:10]) {
				t.Fatal("the acknowledgement repeats the testimony")
			}
			p.send("más detalles: second part " + c.lang)
			when := p.send("DONE")
			if !strings.Contains(when, c.wantPrompt) {
				t.Errorf("after DONE the when-question should come: %q", when)
			}
			where := p.send(c.when)
			contact := p.send(c.where)
			if contact == where {
				t.Fatalf("the country %q was not understood: %q", c.where, contact)
			}
			p.send(c.contact)
			done := p.send(c.confirm)
			rc := receiptRE.FindString(done)
			if rc == "" {
				t.Fatalf("no receipt in %q", done)
			}
			for _, topicWord := range []string{"Detention", "Detención", "detención", "احتجاز"} {
				if strings.Contains(done, topicWord) {
					t.Errorf("the final reply names the topic: %q", done)
				}
			}
			var got *reportJSON
			for _, r := range d.listJSON(d.modKey) {
				if r.Language == c.lang {
					r := r
					got = &r
				}
			}
			if got == nil {
				t.Fatal("report list does not show the conversation")
			}
			if got.Channel != "sms" || got.State != "new" || got.Answers["topic"] != "DET" || !strings.Contains(got.Testimony, cn) {
				t.Errorf("report: %+v", got)
			}
			if strings.Contains(got.Testimony, "961 123 4567") {
				t.Errorf("the phone number in the testimony was not redacted: %q", got.Testimony)
			}
			if !strings.Contains(got.Testimony, "second part "+c.lang) {
				t.Errorf("the second testimony message is missing: %q", got.Testimony)
			}
			// STATUS and DELETE with the receipt, from SMS.
			st := p.send("STATUS " + strings.ToLower(strings.ReplaceAll(rc, "-", " ")))
			if !strings.Contains(st, rc) {
				t.Errorf("STATUS answer: %q", st)
			}
		})
	}
	d.stop()
	if hits := grepDir(t, d.dir, "1234 5678", "12345678", "+218912345678", "TRIPOLI", "Tapachula", "container for three"); len(hits) > 0 {
		t.Errorf("plaintext on disk: %v", hits)
	}
	for _, n := range []string{"12345678", "TRIPOLI", "Tapachula", "+4477"} {
		if strings.Contains(d.logs.String(), n) {
			t.Errorf("%q in the logs", n)
		}
	}
}

func TestSMSForgedReplayedAndConcurrent(t *testing.T) {
	d := smsDeployment(t)
	p := d.phone("+21612345678")
	// Forged: wrong token.
	form := url.Values{"MessageSid": {"SMforged"}, "From": {"+21612345678"}, "Body": {"hi"}}
	req, _ := http.NewRequest("POST", d.url+"/channels/twilio", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", signTwilio("wrongtoken", p.public+"/channels/twilio", form))
	resp, _ := http.DefaultClient.Do(req)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 403 || len(b) != 0 {
		t.Errorf("forged webhook: %d %q", resp.StatusCode, b)
	}
	// Replayed and concurrent copies of one MessageSid are stored once and
	// answered alike.
	p.send("hello")
	p.send("1")
	p.send("1")
	p.send("4")
	sid := "SMconcurrent0000000000000000000001"
	var wg sync.WaitGroup
	replies := make([]string, 50)
	for i := range replies {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			code, msg := p.sendSid(sid, "the same testimony message "+canary(t)[:7])
			if code != 200 {
				t.Errorf("copy %d: status %d", i, code)
			}
			replies[i] = msg
		}(i)
	}
	wg.Wait()
	for _, r := range replies {
		if r != replies[0] {
			t.Fatalf("copies of one delivery got different replies: %q vs %q", r, replies[0])
		}
	}
	p.sendSid(sid, "the same testimony message")
	p.send("DONE")
	p.send("0")
	p.send("0")
	p.send("2")
	done := p.send("1")
	if receiptRE.FindString(done) == "" {
		t.Fatalf("no receipt: %q", done)
	}
	rs := d.listJSON(d.modKey)
	if len(rs) != 1 || strings.Count(rs[0].Testimony, "the same testimony message") != 1 {
		t.Fatalf("a repeated delivery was stored more than once: %+v", rs)
	}
	// DELETE with the receipt erases it.
	rc := receiptRE.FindString(done)
	if got := p.send("DELETE " + rc); !strings.Contains(got, "deleted") {
		t.Errorf("DELETE reply %q", got)
	}
	if rs := d.listJSON(d.modKey); len(rs) != 0 {
		t.Errorf("the report is still there after DELETE with its receipt")
	}
	if got := p.send("STATUS " + rc); !strings.Contains(got, "No report") {
		t.Errorf("STATUS after delete: %q", got)
	}
}

// STATUS and DELETE with a receipt work from the web form too, for a
// report that came by SMS.
func TestReceiptFromTheWebForm(t *testing.T) {
	d := smsDeployment(t)
	p := d.phone("+34612345678")
	for _, m := range []string{"hola", "español", "1", "0", "algo pasó " + canary(t), "LISTO", "0", "0", "2"} {
		p.send(m)
	}
	rc := receiptRE.FindString(p.send("1"))
	if rc == "" {
		t.Fatal("no receipt")
	}
	c := d.client()
	post := func(fields map[string]string) (int, string) {
		resp, err := c.Get(d.url + "/report/receipt?lang=es")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := tokenRE.FindSubmatch(b)
		if m == nil {
			t.Fatalf("no token on the receipt page: %s", b)
		}
		fields["token"] = string(m[1])
		form := url.Values{}
		for k, v := range fields {
			form.Set(k, v)
		}
		req, _ := http.NewRequest("POST", d.url+"/report/receipt?lang=es", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err = c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	if code, body := post(map[string]string{"receipt": strings.ToLower(rc), "action": "status"}); code != 200 || !strings.Contains(body, rc) || !strings.Contains(body, "Estado") {
		t.Errorf("status by receipt: %d", code)
	}
	if code, _ := post(map[string]string{"receipt": rc, "action": "delete"}); code != 400 {
		t.Errorf("delete without the confirmation box: %d, want 400", code)
	}
	if len(d.listJSON(d.modKey)) != 1 {
		t.Fatal("an unconfirmed delete erased the report")
	}
	if code, body := post(map[string]string{"receipt": rc, "action": "delete", "confirm": "yes"}); code != 200 || !strings.Contains(body, "Se borró") {
		t.Errorf("delete by receipt: %d", code)
	}
	if rs := d.listJSON(d.modKey); len(rs) != 0 {
		t.Error("the report is still there after deleting it from the web form")
	}
	if code, _ := post(map[string]string{"receipt": rc, "action": "status"}); code != 404 {
		t.Errorf("status after delete: %d, want 404", code)
	}
	if code, _ := post(map[string]string{"receipt": "nonsense", "action": "status"}); code != 404 {
		t.Errorf("status of nonsense: %d, want 404", code)
	}
	// The erasure is audited, without content.
	out := d.mustRun("audit", "verify", "--data", d.dir)
	if !strings.Contains(out, "intact") {
		t.Errorf("audit: %s", out)
	}
}
