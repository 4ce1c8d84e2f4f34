package intake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/intake"
	"github.com/corridor-gateway/corridor/intake/sqlite"
	"github.com/corridor-gateway/corridor/moderation"
)

// env is one deployment: a real SQLite file, real age keys, real desks.
type env struct {
	dir, path string
	db        *sqlite.DB
	secret    *crypto.Secret
	cust      *crypto.Identity
	mod       *crypto.Identity // member of the default desk
	svc       *intake.Service
	kt        crypto.KeyType
}

func generate(tb testing.TB, kt crypto.KeyType) *crypto.Identity {
	tb.Helper()
	id, err := crypto.Generate(kt)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// addDesk creates a desk whose key is wrapped to members, as `corridor desk
// add` does, and returns the desk key id.
func addDesk(tb testing.TB, db *sqlite.DB, name string, kt crypto.KeyType, members ...*crypto.Identity) string {
	tb.Helper()
	var rs []string
	for _, m := range members {
		rs = append(rs, m.Recipient)
	}
	keyID, rcpt, wraps, err := moderation.NewDeskKey(kt, rs)
	if err != nil {
		tb.Fatalf("NewDeskKey: %v", err)
	}
	if err := db.AddDesk(context.Background(), name, keyID, rcpt, wraps, "test"); err != nil {
		tb.Fatalf("AddDesk(%s): %v", name, err)
	}
	return keyID
}

func newEnv(tb testing.TB, kt crypto.KeyType) *env {
	tb.Helper()
	e := &env{dir: tb.TempDir(), kt: kt}
	e.path = filepath.Join(e.dir, "c.db")
	db, err := sqlite.Open(e.path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	e.db = db
	e.cust, e.mod = generate(tb, kt), generate(tb, kt)
	addDesk(tb, db, intake.DefaultDesk, kt, e.mod)
	ks, err := crypto.NewKeySet(e.cust.Recipient)
	if err != nil {
		tb.Fatal(err)
	}
	if e.secret, err = crypto.NewSecret(); err != nil {
		tb.Fatal(err)
	}
	e.svc = &intake.Service{Flow: intake.DefaultFlow(), Store: db, Secret: e.secret, Custodian: ks}
	return e
}

const (
	phone   = "+218 91 234 5678"
	email   = "amina.b@example.org"
	address = "+218912345678" // the sender's SMS address
	contact = "WhatsApp +216 98 765 432 after six"
)

func submission(providerID, testimony string) *intake.Submission {
	return &intake.Submission{
		Channel:    intake.ChannelSMS,
		Address:    address,
		ProviderID: providerID,
		Language:   "en",
		Answers: map[string]string{
			"testimony":      testimony,
			"when":           "recent",
			"where":          "LY",
			"where.detail":   "near the port",
			"topic":          "DET",
			"contact":        "yes",
			"contact.detail": contact,
		},
		Consent: intake.Consent{Scopes: []string{intake.ScopeRead, intake.ScopeShare}, TextVersion: "2026-11+test", Method: "keyword"},
	}
}

func (e *env) submit(tb testing.TB, sub *intake.Submission) intake.Receipt {
	tb.Helper()
	rc, err := e.svc.Submit(context.Background(), sub)
	if err != nil {
		tb.Fatalf("Submit: %v", err)
	}
	return rc
}

func (e *env) count(tb testing.TB) int {
	tb.Helper()
	ms, err := e.db.ListReports(context.Background(), intake.Filter{})
	if err != nil {
		tb.Fatal(err)
	}
	return len(ms)
}

// custodianCopy is the custodian's plaintext as a custodian tool reads it.
type custodianCopy struct {
	Channel  string            `json:"channel"`
	Language string            `json:"language"`
	Answers  map[string][]byte `json:"answers"`
	Contact  string            `json:"contact_address"`
	Consent  intake.Consent    `json:"consent"`
}

// openCustodian opens entry 0 of a report with the custodian identity.
func (e *env) openCustodian(tb testing.TB, reportID string) ([]byte, custodianCopy) {
	tb.Helper()
	es, err := e.db.Entries(context.Background(), reportID)
	if err != nil || len(es) == 0 {
		tb.Fatalf("Entries(%s) = %d, %v", reportID, len(es), err)
	}
	plain, err := crypto.Open(crypto.AgeIdentities([]*crypto.Identity{e.cust}), intake.EntryID(reportID, 0), "custodian", es[0].Custodian)
	if err != nil {
		tb.Fatalf("custodian cannot open report %s: %v", reportID, err)
	}
	var cc custodianCopy
	if err := json.Unmarshal(plain, &cc); err != nil {
		tb.Fatalf("custodian copy is not JSON: %v", err)
	}
	return plain, cc
}

// openDesk opens entry 0 with the desk key a moderator unlocks.
func openDesk(tb testing.TB, db *sqlite.DB, mod *crypto.Identity, reportID string) ([]byte, *moderation.Report) {
	tb.Helper()
	ctx := context.Background()
	kr, err := moderation.Unlock(ctx, db, []*crypto.Identity{mod})
	if err != nil {
		tb.Fatalf("Unlock: %v", err)
	}
	rs, err := kr.List(ctx, db, intake.Filter{})
	if err != nil {
		tb.Fatalf("Keyring.List: %v", err)
	}
	for _, r := range rs {
		if r.Meta.ID != reportID {
			continue
		}
		deskID, ok := kr.Identity(r.Meta.DeskKeyID)
		if !ok {
			tb.Fatalf("keyring has no key %s", r.Meta.DeskKeyID)
		}
		es, _ := db.Entries(ctx, reportID)
		plain, err := crypto.Open(crypto.AgeIdentities([]*crypto.Identity{deskID}), intake.EntryID(reportID, 0), "desk", es[0].Desk)
		if err != nil {
			tb.Fatal(err)
		}
		return plain, r
	}
	tb.Fatalf("moderator's keyring does not list report %s (%d listed)", reportID, len(rs))
	return nil, nil
}

func TestSubmitStoresSealedCopies(t *testing.T) {
	for _, kt := range []crypto.KeyType{crypto.X25519, crypto.PostQuantum} {
		t.Run(string(kt), func(t *testing.T) {
			e := newEnv(t, kt)
			ctx := context.Background()
			testimony := "They held us at the port for 3 days. Call me on " + phone + " or write to " + email + "."
			rc := e.submit(t, submission("SM0001", testimony))
			if rc.Duplicate || rc.ReportID == "" {
				t.Fatalf("receipt %+v", rc)
			}
			if norm, ok := crypto.NormalizeReceipt(rc.Code); !ok || norm != rc.Code {
				t.Fatalf("receipt code %q is not a valid receipt", rc.Code)
			}
			if n := e.count(t); n != 1 {
				t.Fatalf("%d reports stored, want 1", n)
			}
			m, err := e.db.Report(ctx, rc.ReportID)
			if err != nil {
				t.Fatal(err)
			}
			if m.Desk != intake.DefaultDesk || m.Topic != "DET" || m.State != intake.StateNew || m.Channel != "sms" || m.Language != "en" {
				t.Errorf("metadata %+v", m)
			}
			if m.Pseudonym != e.secret.Pseudonym("sms", address) {
				t.Errorf("pseudonym %q is not the keyed pseudonym of the sender", m.Pseudonym)
			}
			if byCode, err := e.db.ReportByReceipt(ctx, e.secret.ReceiptHash(rc.Code)); err != nil || byCode.ID != rc.ReportID {
				t.Errorf("the receipt code does not find the report: %v", err)
			}

			// The desk copy: redacted, no way to reach the sender.
			deskPlain, r := openDesk(t, e.db, e.mod, rc.ReportID)
			got := r.Copy.Answers["testimony"]
			want := "They held us at the port for 3 days. Call me on [PHONE] or write to [EMAIL]."
			if got != want {
				t.Errorf("moderator sees\n %q\nwant\n %q", got, want)
			}
			if strings.Join(r.Copy.Redactions, ",") != "EMAIL,PHONE" {
				t.Errorf("redactions %q, want EMAIL,PHONE", r.Copy.Redactions)
			}
			for _, secret := range []string{phone, "234 5678", email, address, "765 432", "contact.detail", "contact_address"} {
				if bytes.Contains(deskPlain, []byte(secret)) {
					t.Errorf("the desk copy holds %q", secret)
				}
			}
			if _, ok := r.Copy.Answers["contact.detail"]; ok {
				t.Error("the desk copy holds the contact detail")
			}
			if r.Copy.Answers["contact"] != "yes" || r.Copy.Answers["topic"] != "DET" || r.Copy.Answers["where"] != "LBY" {
				t.Errorf("desk answers %q", r.Copy.Answers)
			}

			// The custodian copy: the original, byte for byte, and how to reach them.
			_, cc := e.openCustodian(t, rc.ReportID)
			if string(cc.Answers["testimony"]) != testimony {
				t.Errorf("custodian testimony %q, want the original %q", string(cc.Answers["testimony"]), testimony)
			}
			if string(cc.Answers["contact.detail"]) != contact || cc.Contact != address {
				t.Errorf("custodian contact %q / %q, want %q / %q", string(cc.Answers["contact.detail"]), cc.Contact, contact, address)
			}

			// Each copy opens only with its own key.
			es, _ := e.db.Entries(ctx, rc.ReportID)
			if _, err := crypto.Open(crypto.AgeIdentities([]*crypto.Identity{e.mod}), intake.EntryID(rc.ReportID, 0), "desk", es[0].Desk); !errors.Is(err, crypto.ErrNoKey) {
				t.Errorf("the moderator's own identity (not the desk key) opens the desk copy: %v", err)
			}
			if _, err := crypto.Open(crypto.AgeIdentities([]*crypto.Identity{e.cust}), intake.EntryID(rc.ReportID, 0), "desk", es[0].Desk); !errors.Is(err, crypto.ErrNoKey) {
				t.Errorf("the custodian opens the desk copy: %v", err)
			}
			kr, _ := moderation.Unlock(ctx, e.db, []*crypto.Identity{e.mod})
			deskID, _ := kr.Identity(m.DeskKeyID)
			if _, err := crypto.Open(crypto.AgeIdentities([]*crypto.Identity{deskID}), intake.EntryID(rc.ReportID, 0), "custodian", es[0].Custodian); !errors.Is(err, crypto.ErrNoKey) {
				t.Errorf("the desk key opens the custodian copy: %v", err)
			}
		})
	}
}

// TestSubmitNoContactWithoutYes: the address goes to the custodian only when
// the sender said yes to being contacted.
func TestSubmitNoContactWithoutYes(t *testing.T) {
	e := newEnv(t, crypto.X25519)
	sub := submission("SM-no-contact", "testimony")
	sub.Answers["contact"] = "no"
	rc := e.submit(t, sub)
	_, cc := e.openCustodian(t, rc.ReportID)
	if cc.Contact != "" {
		t.Errorf("contact address %q stored although the sender said no", cc.Contact)
	}
	if _, ok := cc.Answers["contact.detail"]; ok {
		t.Errorf("contact detail kept although the sender said no")
	}
}

// TestSubmitByteExact is I3: the custodian's copy is the input, byte for
// byte, whatever the bytes are.
func TestSubmitByteExact(t *testing.T) {
	e := newEnv(t, crypto.X25519)
	long := strings.Repeat("شهادة عن الاحتجاز في الميناء. ", 60)
	long = string([]rune(long)[:1600])
	cases := []struct{ name, text string }{
		{"invalid UTF-8", "before \xff\xfe\xc3\x28 after"},
		{"lone continuation bytes", "\x80\x81\x82 text"},
		{"NUL", "one\x00two\x00"},
		{"RTL override", "name: \u202eevil\u202c done"},
		{"bidi isolates", "\u2066abc\u2069 \u200f\u200e"},
		{"CRLF", "line one\r\nline two\r\n\r\n"},
		{"lone CR", "a\rb"},
		{"1600-char multipart SMS", long},
		{"combining flood", "a" + strings.Repeat("\u0301\u0308", 400)},
		{"emoji ZWJ", "👨‍👩‍👧 family"},
		{"leading and trailing space", "   spaced   "},
		{"html", "<script>alert(1)</script> &amp;"},
		{"json-ish", `{"answers":{"testimony":"x"}}\u0000`},
		{"NFD vs NFC", "e\u0301 é"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "1600-char multipart SMS" && utf8.RuneCountInString(c.text) != 1600 {
				t.Fatalf("test text has %d chars", utf8.RuneCountInString(c.text))
			}
			rc := e.submit(t, submission(fmt.Sprintf("SM-I3-%d", i), c.text))
			_, cc := e.openCustodian(t, rc.ReportID)
			if got := string(cc.Answers["testimony"]); got != c.text {
				t.Errorf("custodian copy is not byte-exact (I3):\n got  %q\n want %q", got, c.text)
				if !utf8.ValidString(c.text) && strings.Contains(got, "\ufffd") {
					t.Errorf("BUG: invalid UTF-8 was replaced by U+FFFD: the custodian plaintext is JSON (encoding/json coerces strings to valid UTF-8)")
				}
			}
		})
	}
}

func TestSubmitRefusesWithoutConsent(t *testing.T) {
	e := newEnv(t, crypto.X25519)
	cases := map[string][]string{
		"no scopes":        nil,
		"share only":       {intake.ScopeShare},
		"read misspelled":  {"Read"},
		"empty scope list": {},
	}
	for name, scopes := range cases {
		t.Run(name, func(t *testing.T) {
			sub := submission("SM-consent-"+name, "testimony")
			sub.Consent.Scopes = scopes
			rc, err := e.svc.Submit(context.Background(), sub)
			if !errors.Is(err, intake.ErrNoConsent) {
				t.Fatalf("Submit error = %v, want ErrNoConsent", err)
			}
			if rc.Code != "" || rc.ReportID != "" {
				t.Fatalf("a receipt was given: %+v", rc)
			}
			if n := e.count(t); n != 0 {
				t.Fatalf("%d reports stored without consent", n)
			}
		})
	}
	// Nothing was remembered: with consent, the same provider id is new.
	rc := e.submit(t, submission("SM-consent-share only", "testimony"))
	if rc.Duplicate {
		t.Fatal("a refused submission was remembered as a duplicate")
	}
}

func TestSubmitRefusesBadAnswers(t *testing.T) {
	e := newEnv(t, crypto.X25519)
	cases := []struct {
		name, field, value string
		wantField, wantMsg string
	}{
		{"unknown topic", "topic", "NOPE", "topic", "error.bad_choice"},
		{"unknown period", "when", "someday", "when", "error.bad_choice"},
		{"bad month", "when.detail", "2026-13", "when", "error.bad_month"},
		{"unknown country", "where", "Atlantis", "where", "error.bad_choice"},
		{"unknown contact", "contact", "maybe", "contact", "error.bad_choice"},
		{"empty testimony", "testimony", "", "testimony", "error.testimony_required"},
		{"blank testimony", "testimony", " \r\n\t ", "testimony", "error.testimony_required"},
		{"testimony too large", "testimony", strings.Repeat("x", intake.MaxAnswer+1), "testimony", "error.too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sub := submission("SM-bad-"+c.name, "testimony")
			sub.Answers[c.field] = c.value
			rc, err := e.svc.Submit(context.Background(), sub)
			var fe *intake.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Submit error = %v, want *intake.FieldError", err)
			}
			if fe.Field != c.wantField || fe.Msg != c.wantMsg {
				t.Fatalf("FieldError{%q, %q}, want {%q, %q}", fe.Field, fe.Msg, c.wantField, c.wantMsg)
			}
			if strings.Contains(err.Error(), c.value) && len(c.value) > 3 {
				t.Fatalf("the error repeats the answer: %q", err)
			}
			if rc.Code != "" || e.count(t) != 0 {
				t.Fatal("something was stored for a bad submission")
			}
		})
	}
	for name, mut := range map[string]func(*intake.Submission){
		"no provider id": func(s *intake.Submission) { s.ProviderID = "" },
		"no channel":     func(s *intake.Submission) { s.Channel = "" },
	} {
		sub := submission("SM-bad-"+name, "testimony")
		mut(sub)
		if _, err := e.svc.Submit(context.Background(), sub); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if n := e.count(t); n != 0 {
		t.Fatalf("%d reports stored from bad submissions", n)
	}
}

func TestSubmitDuplicate(t *testing.T) {
	e := newEnv(t, crypto.X25519)
	first := e.submit(t, submission("SM-dup", "first delivery"))
	again := e.submit(t, submission("SM-dup", "first delivery"))
	changed := e.submit(t, submission("SM-dup", "a retry with other text"))
	for name, rc := range map[string]intake.Receipt{"retry": again, "retry with other text": changed} {
		if rc.Code != first.Code || !rc.Duplicate || rc.ReportID != first.ReportID {
			t.Errorf("%s: receipt %+v, want code %s, same report, Duplicate", name, rc, first.Code)
		}
	}
	if first.Duplicate {
		t.Error("the first delivery is marked Duplicate")
	}
	if n := e.count(t); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
	if _, cc := e.openCustodian(t, first.ReportID); string(cc.Answers["testimony"]) != "first delivery" {
		t.Fatalf("a retry replaced the stored testimony: %q", string(cc.Answers["testimony"]))
	}
	other := e.submit(t, submission("SM-other", "another report"))
	if other.Code == first.Code || other.Duplicate {
		t.Fatalf("a different provider id got %+v", other)
	}
	// The same provider id on another channel is another submission.
	tg := submission("SM-dup", "telegram")
	tg.Channel = intake.ChannelTelegram
	if rc := e.submit(t, tg); rc.Duplicate {
		t.Fatal("the same id on another channel was taken as a duplicate")
	}
}

// TestSubmitConcurrentDuplicate is W6 through the service.
func TestSubmitConcurrentDuplicate(t *testing.T) {
	e := newEnv(t, crypto.X25519)
	const n = 30
	rcs := make([]intake.Receipt, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			rcs[i], errs[i] = e.svc.Submit(context.Background(), submission("update-777", "same update"))
		}()
	}
	close(start)
	wg.Wait()
	fresh := 0
	for i := range rcs {
		if errs[i] != nil {
			t.Fatalf("delivery %d: %v", i, errs[i])
		}
		if !rcs[i].Duplicate {
			fresh++
		}
		if rcs[i].Code != rcs[0].Code || rcs[i].ReportID != rcs[0].ReportID {
			t.Errorf("delivery %d answered %+v, delivery 0 %+v", i, rcs[i], rcs[0])
		}
	}
	if fresh != 1 || e.count(t) != 1 {
		t.Fatalf("%d fresh answers and %d rows, want 1 and 1", fresh, e.count(t))
	}
}

func TestSubmitRouting(t *testing.T) {
	cases := []struct {
		name     string
		rules    []intake.Rule
		desks    []string // besides default
		language string
		channel  string
		want     string
	}{
		{"language rule", []intake.Rule{{Language: "ar", Desk: "arabic"}}, []string{"arabic"}, "ar", "sms", "arabic"},
		{"language rule not matching", []intake.Rule{{Language: "ar", Desk: "arabic"}}, []string{"arabic"}, "fr", "sms", "default"},
		{"rule to a missing desk", []intake.Rule{{Language: "ar", Desk: "ghost"}}, nil, "ar", "sms", "default"},
		{"topic rule", []intake.Rule{{Topic: "DET", Desk: "detention"}}, []string{"detention"}, "en", "sms", "detention"},
		{"channel rule", []intake.Rule{{Channel: "telegram", Desk: "arabic"}}, []string{"arabic"}, "en", "telegram", "arabic"},
		{"first match wins", []intake.Rule{{Language: "ar", Desk: "arabic"}, {Topic: "DET", Desk: "detention"}}, []string{"arabic", "detention"}, "ar", "sms", "arabic"},
		{"all fields must match", []intake.Rule{{Language: "ar", Topic: "VIOL", Desk: "arabic"}}, []string{"arabic"}, "ar", "sms", "default"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, crypto.X25519)
			members := map[string]*crypto.Identity{intake.DefaultDesk: e.mod}
			keyIDs := map[string]string{}
			for _, d := range c.desks {
				members[d] = generate(t, e.kt)
				keyIDs[d] = addDesk(t, e.db, d, e.kt, members[d])
			}
			e.svc.Rules = c.rules
			sub := submission("SM-route", "testimony")
			sub.Language, sub.Channel = c.language, c.channel
			rc := e.submit(t, sub)
			m, err := e.db.Report(context.Background(), rc.ReportID)
			if err != nil {
				t.Fatal(err)
			}
			if m.Desk != c.want {
				t.Fatalf("routed to desk %q, want %q", m.Desk, c.want)
			}
			if id, ok := keyIDs[c.want]; ok && m.DeskKeyID != id {
				t.Fatalf("sealed to key %s, want the %s desk key %s", m.DeskKeyID, c.want, id)
			}
			// The routed desk's member reads it; another desk's member does not see it.
			openDesk(t, e.db, members[c.want], rc.ReportID)
			for d, mem := range members {
				if d == c.want {
					continue
				}
				kr, err := moderation.Unlock(context.Background(), e.db, []*crypto.Identity{mem})
				if err != nil {
					t.Fatal(err)
				}
				rs, _ := kr.List(context.Background(), e.db, intake.Filter{})
				if len(rs) != 0 {
					t.Errorf("a member of desk %s can read a report routed to %s", d, c.want)
				}
			}
		})
	}
}

func TestSubmitNoDesk(t *testing.T) {
	dir := t.TempDir()
	db, err := sqlite.Open(filepath.Join(dir, "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cust := generate(t, crypto.X25519)
	ks, _ := crypto.NewKeySet(cust.Recipient)
	secret, _ := crypto.NewSecret()
	svc := &intake.Service{Flow: intake.DefaultFlow(), Store: db, Secret: secret, Custodian: ks}
	if err := svc.CheckKeys(context.Background()); !errors.Is(err, intake.ErrNoDesk) {
		t.Fatalf("CheckKeys with no desk: %v, want ErrNoDesk", err)
	}
	if _, err := svc.Submit(context.Background(), submission("SM-1", "x")); !errors.Is(err, intake.ErrNoDesk) {
		t.Fatalf("Submit with no desk: %v, want ErrNoDesk", err)
	}
}

// TestMixedKeyTypesRefused: a deployment uses one key type; a desk of the
// other type stops CheckKeys and Submit.
func TestMixedKeyTypesRefused(t *testing.T) {
	cases := []struct {
		name       string
		custodian  crypto.KeyType
		deskType   crypto.KeyType
		extraDesk  bool // the mismatched key is on a second desk, not the default
		wantStored bool
	}{
		{"pq desk, x25519 custodian", crypto.X25519, crypto.PostQuantum, false, false},
		{"x25519 desk, pq custodian", crypto.PostQuantum, crypto.X25519, false, false},
		{"second desk pq, x25519 custodian", crypto.X25519, crypto.PostQuantum, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			db, err := sqlite.Open(filepath.Join(dir, "c.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if c.extraDesk {
				addDesk(t, db, intake.DefaultDesk, c.custodian, generate(t, c.custodian))
				addDesk(t, db, "arabic", c.deskType, generate(t, c.deskType))
			} else {
				addDesk(t, db, intake.DefaultDesk, c.deskType, generate(t, c.deskType))
			}
			cust := generate(t, c.custodian)
			ks, _ := crypto.NewKeySet(cust.Recipient)
			secret, _ := crypto.NewSecret()
			svc := &intake.Service{Flow: intake.DefaultFlow(), Store: db, Secret: secret, Custodian: ks}
			err = svc.CheckKeys(context.Background())
			if err == nil || !strings.Contains(err.Error(), "one key type") {
				t.Fatalf("CheckKeys error = %v, want a refusal of mixed key types", err)
			}
			if _, err := svc.Submit(context.Background(), submission("SM-mixed", "x")); err == nil {
				t.Fatal("Submit accepted a deployment with mixed key types")
			}
			if ms, _ := db.ListReports(context.Background(), intake.Filter{}); len(ms) != 0 {
				t.Fatalf("%d reports stored", len(ms))
			}
		})
	}
}

// TestServiceWithoutCustodian: a Service with no custodian key set must
// refuse, not panic.
func TestServiceWithoutCustodian(t *testing.T) {
	e := newEnv(t, crypto.X25519)
	e.svc.Custodian = nil
	checkErr := e.svc.CheckKeys(context.Background())
	var submitErr error
	panicked := func() (p any) {
		defer func() { p = recover() }()
		_, submitErr = e.svc.Submit(context.Background(), submission("SM-nocust", "x"))
		return nil
	}()
	if panicked != nil {
		t.Fatalf("BUG: Submit panics when Service.Custodian is nil (%v); CheckKeys returned %v. "+
			"desk() treats a nil custodian as allowed, but Submit dereferences s.Custodian.Recipients", panicked, checkErr)
	}
	if checkErr == nil && submitErr == nil {
		t.Fatal("a Service without custodian accepted a submission")
	}
}

// stanzaTypes lists the recipient stanza types of an age header.
func stanzaTypes(blob []byte) ([]string, bool) {
	if !bytes.HasPrefix(blob, []byte("age-encryption.org/v1\n")) {
		return nil, false
	}
	var out []string
	for _, line := range strings.Split(string(blob[:min(len(blob), 64<<10)]), "\n") {
		if strings.HasPrefix(line, "--- ") {
			return out, true
		}
		if strings.HasPrefix(line, "-> ") {
			out = append(out, strings.Fields(line)[1])
		}
	}
	return nil, false
}

// TestCanary is C1: after submissions carrying canaries in every field a
// sender controls, no canary is in any file of the data directory, and every
// stored blob is age with only the configured stanza type.
func TestCanary(t *testing.T) {
	for _, kt := range []crypto.KeyType{crypto.X25519, crypto.PostQuantum} {
		t.Run(string(kt), func(t *testing.T) {
			e := newEnv(t, kt)
			ctx := context.Background()
			canary := "CANARY-" + crypto.NewID()
			canaryPhone := "+218995550199"
			canaryAddr := "tg:" + canary + "-chat"
			var ids []string
			for i, ch := range []string{intake.ChannelSMS, intake.ChannelWhatsApp, intake.ChannelTelegram, intake.ChannelWeb} {
				sub := submission(canary+"-provider-"+fmt.Sprint(i), "I am "+canary+", call "+canaryPhone+" \xff\x00 end")
				sub.Channel = ch
				sub.Address = canaryAddr
				sub.Tag = canary + "-tag"
				sub.Answers["where.detail"] = "village " + canary
				sub.Answers["contact.detail"] = canaryPhone + " " + canary
				sub.Attachments = []intake.Attachment{{Name: canary + ".jpg", ContentType: "image/jpeg", Data: []byte("\xff\xd8JPEG " + canary)}}
				rc := e.submit(t, sub)
				ids = append(ids, rc.ReportID)
				// The retry path too.
				if again := e.submit(t, sub); !again.Duplicate {
					t.Fatal("retry not recognised")
				}
			}
			// A refused one as well.
			bad := submission(canary+"-bad", canary)
			bad.Consent.Scopes = nil
			e.svc.Submit(ctx, bad)

			want := "X25519"
			if kt == crypto.PostQuantum {
				want = "mlkem768x25519"
			}
			for _, id := range ids {
				es, err := e.db.Entries(ctx, id)
				if err != nil || len(es) != 2 {
					t.Fatalf("report %s: %d entries, %v", id, len(es), err)
				}
				for _, en := range es {
					for which, blob := range map[string][]byte{"desk": en.Desk, "custodian": en.Custodian} {
						if blob == nil && which == "custodian" && en.Kind == "attachment" {
							continue
						}
						types, ok := stanzaTypes(blob)
						if !ok {
							t.Fatalf("entry %d %s copy is not an age file", en.Seq, which)
						}
						wantN := 1
						if en.Kind == "attachment" {
							wantN = 2 // desk + custodian
						}
						if len(types) != wantN {
							t.Errorf("entry %d %s copy has %d stanzas, want %d", en.Seq, which, len(types), wantN)
						}
						for _, ty := range types {
							if ty != want {
								t.Errorf("entry %d %s copy has a %s stanza, want only %s", en.Seq, which, ty, want)
							}
						}
					}
				}
			}
			scan := func(when string) {
				des, err := os.ReadDir(e.dir)
				if err != nil {
					t.Fatal(err)
				}
				scanned := 0
				for _, de := range des {
					data, err := os.ReadFile(filepath.Join(e.dir, de.Name()))
					if err != nil {
						t.Fatal(err)
					}
					scanned += len(data)
					for _, needle := range []string{canary, canaryPhone, address, strings.ToLower(canary), "contact_address"} {
						if bytes.Contains(data, []byte(needle)) {
							t.Errorf("%s: %q found in %s", when, needle, de.Name())
						}
					}
				}
				if scanned == 0 {
					t.Fatalf("%s: nothing to scan", when)
				}
			}
			scan("store open")
			if err := e.db.Close(); err != nil {
				t.Fatal(err)
			}
			scan("store closed")
		})
	}
}

// --- benchmarks ---

func benchEnv(b *testing.B) (*env, string) {
	e := newEnv(b, crypto.X25519)
	// 1 KiB of testimony with a phone number and an address to redact.
	text := "Call me on " + phone + " or " + email + ". "
	text += strings.Repeat("They kept us in the container for days. ", (1024-len(text))/40+1)
	return e, text[:1024]
}

// BenchmarkSubmit: seal (desk + custodian) and a durable commit of a 1 KiB
// testimony, one submission at a time.
func BenchmarkSubmit(b *testing.B) {
	e, text := benchEnv(b)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := e.svc.Submit(ctx, submission(fmt.Sprint("SM-bench-", i), text)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "submissions/s")
}

// BenchmarkSubmitParallel: the same with concurrent senders, sharing commits.
func BenchmarkSubmitParallel(b *testing.B) {
	e, text := benchEnv(b)
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sub := submission(fmt.Sprint("SM-pbench-", n.Add(1)), text)
			if _, err := e.svc.Submit(ctx, sub); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "submissions/s")
}
