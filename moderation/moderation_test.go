package moderation_test

// C2 (a removed desk member cannot read what arrives after a rotation),
// redaction chaining, the triage table and facet checks, over a real SQLite
// store and real age keys.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/intake"
	"github.com/corridor-gateway/corridor/intake/sqlite"
	"github.com/corridor-gateway/corridor/moderation"
)

type store struct {
	path  string
	db    *sqlite.DB
	svc   *intake.Service
	now   time.Time
	cust  *crypto.Identity
	nSubs int
}

func newIdentity(t *testing.T) *crypto.Identity {
	t.Helper()
	id, err := crypto.Generate(crypto.X25519)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// newStore opens a real store with the default desk wrapped to members.
func newStore(t *testing.T, members ...*crypto.Identity) *store {
	t.Helper()
	s := &store{path: filepath.Join(t.TempDir(), "corridor.db"), now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	db, err := sqlite.Open(s.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s.db = db
	var rs []string
	for _, m := range members {
		rs = append(rs, m.Recipient)
	}
	keyID, rcpt, wraps, err := moderation.NewDeskKey(crypto.X25519, rs)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddDesk(context.Background(), intake.DefaultDesk, keyID, rcpt, wraps, "test"); err != nil {
		t.Fatal(err)
	}
	s.cust = newIdentity(t)
	ks, err := crypto.NewKeySet(s.cust.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := crypto.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	s.svc = &intake.Service{Flow: intake.DefaultFlow(), Store: db, Secret: secret, Custodian: ks, Now: func() time.Time { return s.now }}
	return s
}

// submit sends one web-form report through the intake service.
func (s *store) submit(t *testing.T, testimony string) intake.ReportMeta {
	t.Helper()
	s.nSubs++
	rc, err := s.svc.Submit(context.Background(), &intake.Submission{
		Channel: intake.ChannelWeb, ProviderID: fmt.Sprintf("form-%d", s.nSubs), Language: "en",
		Answers: map[string]string{"testimony": testimony, "topic": "EXPL"},
		Consent: intake.Consent{Scopes: []string{intake.ScopeRead}, TextVersion: "test", Method: "form"},
	})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	m, err := s.db.Report(context.Background(), rc.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func unlock(t *testing.T, db *sqlite.DB, id *crypto.Identity) *moderation.Keyring {
	t.Helper()
	kr, err := moderation.Unlock(context.Background(), db, []*crypto.Identity{id})
	if err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	return kr
}

func activeKey(t *testing.T, db *sqlite.DB) string {
	t.Helper()
	ds, err := db.ActiveDesks(context.Background())
	if err != nil || len(ds) != 1 {
		t.Fatalf("ActiveDesks: %v %v", ds, err)
	}
	return ds[0].KeyID
}

// C2: after `desk member remove` and a rotation, the removed member cannot
// read new reports, even holding on to the desk key they had unlocked; the
// remaining member reads old and new.
func TestRemovedMemberCannotReadAfterRotation(t *testing.T) {
	ctx := context.Background()
	a, b := newIdentity(t), newIdentity(t)
	s := newStore(t, a, b)
	oldKey := activeKey(t, s.db)
	before := s.submit(t, "Report one, before the rotation.")
	// B unlocked while still a member, and kept the keyring (the worst case:
	// a removed member who copied the old desk key).
	bOld := unlock(t, s.db, b)
	if r, err := bOld.Open(ctx, s.db, before, false); err != nil || !strings.Contains(r.Copy.Answers["testimony"], "Report one") {
		t.Fatalf("B cannot read a report of their own desk: %v", err)
	}

	// desk member remove, then desk rotate over the remaining members.
	n, err := s.db.RemoveMember(ctx, intake.DefaultDesk, b.Recipient, "test")
	if err != nil || n != 1 {
		t.Fatalf("RemoveMember: %d %v", n, err)
	}
	newKey, rcpt, wraps, err := moderation.NewDeskKey(crypto.X25519, []string{a.Recipient})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.RotateDesk(ctx, intake.DefaultDesk, newKey, rcpt, wraps, "test"); err != nil {
		t.Fatal(err)
	}
	if got := activeKey(t, s.db); got != newKey || got == oldKey {
		t.Fatalf("active key %s after rotation, want the new %s", got, newKey)
	}
	s.now = s.now.Add(time.Minute) // past the service's desk cache
	after := s.submit(t, "Report two, after the rotation.")
	if after.DeskKeyID != newKey {
		t.Fatalf("a report after the rotation is sealed to %s, want the new key %s", after.DeskKeyID, newKey)
	}

	// B, unlocking now: nothing of the desk.
	if kr, err := moderation.Unlock(ctx, s.db, []*crypto.Identity{b}); err == nil {
		if _, ok := kr.Identity(newKey); ok {
			t.Error("C2: the removed member unlocks the new desk key")
		}
		ms, _ := s.db.ListReports(ctx, intake.Filter{KeyIDs: kr.KeyIDs()})
		for _, m := range ms {
			if m.ID == after.ID {
				t.Error("C2: the new report is in the removed member's queue")
			}
		}
	} else if !errors.Is(err, moderation.ErrNoDesk) {
		t.Errorf("Unlock for the removed member: %v, want ErrNoDesk", err)
	}
	if _, err := moderation.WrapFor(ctx, s.db, intake.DefaultDesk, []*crypto.Identity{b}, newIdentity(t).Recipient); err == nil {
		t.Error("C2: the removed member can still re-wrap desk keys to someone")
	}
	// B with the old desk key kept from before: the new report does not open.
	if _, err := bOld.Open(ctx, s.db, after, false); !errors.Is(err, crypto.ErrNoKey) {
		t.Errorf("C2: the removed member's old keyring on the new report: %v, want ErrNoKey", err)
	}
	oldDeskID, _ := bOld.Identity(oldKey)
	es, err := s.db.Entries(ctx, after.ID)
	if err != nil || len(es) == 0 {
		t.Fatal(err)
	}
	for _, e := range es {
		if _, err := crypto.Open(crypto.AgeIdentities([]*crypto.Identity{oldDeskID, b}), intake.EntryID(after.ID, e.Seq), e.Kind, e.Desk); !errors.Is(err, crypto.ErrNoKey) {
			t.Errorf("C2: the old desk key or B's own identity opens entry %d of the new report: %v", e.Seq, err)
		}
	}
	if ls, err := bOld.List(ctx, s.db, intake.Filter{}); err != nil || slices.ContainsFunc(ls, func(r *moderation.Report) bool { return r.Meta.ID == after.ID }) {
		t.Errorf("C2: the removed member's old keyring lists the new report (%v)", err)
	}

	// A reads both.
	ka := unlock(t, s.db, a)
	if _, ok := ka.Identity(oldKey); !ok {
		t.Error("A lost the retired key")
	}
	for _, m := range []intake.ReportMeta{before, after} {
		r, err := ka.Open(ctx, s.db, m, false)
		if err != nil {
			t.Errorf("A cannot open %s: %v", m.ID, err)
			continue
		}
		if !strings.Contains(r.Copy.Answers["testimony"], "Report") {
			t.Errorf("A reads %q", r.Copy.Answers["testimony"])
		}
	}
	if ls, err := ka.List(ctx, s.db, intake.Filter{}); err != nil || len(ls) != 2 {
		t.Errorf("A lists %d reports (%v), want 2", len(ls), err)
	}
}

func TestRedactRefusals(t *testing.T) {
	ctx := context.Background()
	a := newIdentity(t)
	s := newStore(t, a)
	m := s.submit(t, "My employer Ahmed Karimi kept my passport.")
	kr := unlock(t, s.db, a)
	for _, c := range []struct{ field, find, marker string }{
		{"testimony", "Ahmed Karimi", "[SECRET]"},
		{"testimony", "Ahmed Karimi", "NAME"},
		{"testimony", "Ahmed Karimi", ""},
		{"testimony", "Fatima", "[NAME]"},
		{"testimony", "   ", "[NAME]"},
		{"testimony", "", "[NAME]"},
		{"nosuchfield", "Ahmed", "[NAME]"},
	} {
		if _, err := kr.Redact(ctx, s.db, s.db, m, c.field, c.find, c.marker, "mod:test"); err == nil {
			t.Errorf("Redact(%q, %q, %q) was accepted", c.field, c.find, c.marker)
		}
	}
	if _, err := kr.Redact(ctx, s.db, s.db, m, "testimony", "Fatima", "[NAME]", "mod:test"); !errors.Is(err, moderation.ErrNothingToRedact) {
		t.Errorf("text not in the report: %v, want ErrNothingToRedact", err)
	}
	r, err := kr.Open(ctx, s.db, m, false)
	if err != nil || r.Versions != 0 || !strings.Contains(r.Copy.Answers["testimony"], "Ahmed Karimi") {
		t.Errorf("refused redactions changed the report: versions %d, %v", r.Versions, err)
	}
	// A keyring without this desk's key cannot redact it.
	if _, err := (&moderation.Keyring{}).Redact(ctx, s.db, s.db, m, "testimony", "Ahmed", "[NAME]", "x"); err == nil {
		t.Error("an empty keyring redacted a report")
	}
}

func TestRedactChainsVersions(t *testing.T) {
	ctx := context.Background()
	a := newIdentity(t)
	s := newStore(t, a)
	m := s.submit(t, "My employer Ahmed Karimi kept my passport in Sfax.")
	kr := unlock(t, s.db, a)
	orig, err := kr.Open(ctx, s.db, m, false)
	if err != nil {
		t.Fatal(err)
	}
	r1, err := kr.Redact(ctx, s.db, s.db, m, "testimony", "Ahmed Karimi", "[NAME]", "mod:amina")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := kr.Redact(ctx, s.db, s.db, m, "testimony", "Sfax", "[PLACE]", "mod:amina")
	if err != nil {
		t.Fatal(err)
	}
	if got := r2.Copy.Answers["testimony"]; got != "My employer [NAME] kept my passport in [PLACE]." {
		t.Errorf("after two redactions: %q", got)
	}
	if r2.Versions != 2 || !slices.Equal(r2.Copy.Redactions, []string{"NAME", "PLACE"}) {
		t.Errorf("versions %d, redactions %v", r2.Versions, r2.Copy.Redactions)
	}
	sdb, err := sql.Open("sqlite", "file:"+s.path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	rows, err := sdb.Query("SELECT seq, parent_sha256, child_sha256, actor FROM derivations WHERE report_id = ? ORDER BY seq", m.ID)
	if err != nil {
		t.Fatal(err)
	}
	type deriv struct {
		seq                  int
		parent, child, actor string
	}
	var ds []deriv
	for rows.Next() {
		var d deriv
		if err := rows.Scan(&d.seq, &d.parent, &d.child, &d.actor); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	rows.Close()
	if len(ds) != 2 {
		t.Fatalf("%d derivation records, want 2: %+v", len(ds), ds)
	}
	if ds[0].parent != orig.Hash {
		t.Errorf("first parent %s, want the intake version's hash %s", ds[0].parent, orig.Hash)
	}
	if ds[0].child != r1.Hash {
		t.Errorf("first child %s, want the first version's hash %s", ds[0].child, r1.Hash)
	}
	if ds[1].parent != ds[0].child {
		t.Errorf("the second redaction's parent %s is not the first's child %s: the versions do not chain", ds[1].parent, ds[0].child)
	}
	if ds[1].child != r2.Hash || ds[1].seq <= ds[0].seq {
		t.Errorf("second record %+v, want child %s after seq %d", ds[1], r2.Hash, ds[0].seq)
	}
	if ds[0].actor == "" {
		t.Error("the derivation names nobody")
	}
	// No content in the derivation records.
	for _, d := range ds {
		if strings.Contains(d.parent+d.child+d.actor, "Karimi") || len(d.parent) != 64 || len(d.child) != 64 {
			t.Errorf("derivation record %+v", d)
		}
	}
}

func TestCheckTransitionTable(t *testing.T) {
	legal := map[[2]string]bool{
		{intake.StateIncomplete, intake.StateInReview}:    true,
		{intake.StateNew, intake.StateInReview}:           true,
		{intake.StateInReview, intake.StateAccepted}:      true,
		{intake.StateInReview, intake.StateNeedsFollowUp}: true,
		{intake.StateInReview, intake.StateRejected}:      true,
		{intake.StateNeedsFollowUp, intake.StateInReview}: true,
		{intake.StateAccepted, intake.StateForwarded}:     true,
	}
	states := []string{intake.StateIncomplete, intake.StateNew, intake.StateInReview, intake.StateAccepted,
		intake.StateNeedsFollowUp, intake.StateRejected, intake.StateForwarded, intake.StateArchived}
	if !slices.Equal(slices.Sorted(slices.Values(states)), slices.Sorted(slices.Values(moderation.States))) {
		t.Fatalf("moderation.States = %v", moderation.States)
	}
	for _, from := range states {
		if from != intake.StateArchived {
			legal[[2]string{from, intake.StateArchived}] = true
		}
	}
	for _, from := range states {
		for _, to := range states {
			err := moderation.CheckTransition(from, to)
			want := legal[[2]string{from, to}]
			switch {
			case want && err != nil:
				t.Errorf("%s -> %s refused: %v", from, to, err)
			case !want && err == nil:
				t.Errorf("%s -> %s allowed", from, to)
			case !want:
				var it *moderation.IllegalTransition
				if !errors.As(err, &it) || it.From != from || it.To != to {
					t.Errorf("%s -> %s: %v, want an IllegalTransition", from, to, err)
				}
			}
		}
	}
	for _, bad := range []string{"", "deleted", "ACCEPTED", "accepted "} {
		if err := moderation.CheckTransition(intake.StateInReview, bad); err == nil {
			t.Errorf("in_review -> %q allowed", bad)
		}
	}
}

func TestCheckFacets(t *testing.T) {
	ok := []map[string]string{
		{},
		{"country": "LBY"},
		{"country": ""},
		{"perpetrator": "smuggler", "profile": "unaccompanied_child", "stage": "transit", "date_precision": "month",
			"severity": "critical", "verification": "corroborated", "urgent": "yes", "country": "TUN"},
	}
	for _, f := range ok {
		if err := moderation.CheckFacets(f); err != nil {
			t.Errorf("CheckFacets(%v): %v", f, err)
		}
	}
	bad := []map[string]string{
		{"colour": "red"},
		{"Severity": "high"},
		{"severity": "extreme"},
		{"severity": "HIGH"},
		{"urgent": "maybe"},
		{"perpetrator": "state_border ", "country": "LBY"},
		{"country": "LY"},      // alpha-2
		{"country": "lby"},     // not upper case
		{"country": "Libya"},   // a name
		{"country": "XXX"},     // no such country
		{"country": "434"},     // numeric
		{"country": "LBY,TUN"}, // a list
		{"country": "EU"},      // not a country
	}
	for _, f := range bad {
		if err := moderation.CheckFacets(f); err == nil {
			t.Errorf("CheckFacets(%v) accepted", f)
		}
	}
}
