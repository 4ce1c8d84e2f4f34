package sqlite_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/intake"
	"github.com/corridor-gateway/corridor/intake/sqlite"
)

func openDB(t testing.TB, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return db
}

// newDB opens a fresh store in a temp dir and closes it at the end.
func newDB(t testing.TB) (*sqlite.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.db")
	db := openDB(t, path)
	t.Cleanup(func() { db.Close() })
	return db, path
}

func random(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// newReport builds a report as intake would hand it over: ids, keyed
// hashes, and opaque (here random) sealed blobs.
func newReport(t testing.TB, idem []byte) *intake.NewReport {
	t.Helper()
	if idem == nil {
		idem = random(t, 32)
	}
	return &intake.NewReport{
		ID:          crypto.NewID(),
		IdemKey:     idem,
		ReceiptHash: random(t, 32),
		Channel:     intake.ChannelSMS,
		Language:    "ar",
		Desk:        "default",
		DeskKeyID:   "k_test",
		Topic:       "DET",
		State:       intake.StateNew,
		Received:    time.Now(),
		Pseudonym:   "p_" + crypto.NewID(),
		RawSHA256:   fmt.Sprintf("%x", random(t, 32)),
		Consent:     intake.Consent{Scopes: []string{intake.ScopeRead, intake.ScopeShare}, TextVersion: "2026-11+abc", Method: "form"},
		Entries: []intake.Entry{
			{Seq: 0, Kind: "answers", Desk: random(t, 300), Custodian: random(t, 400)},
			{Seq: 1, Kind: "attachment", Desk: random(t, 1000)},
		},
	}
}

func countReports(t testing.TB, db *sqlite.DB) int {
	t.Helper()
	ms, err := db.ListReports(context.Background(), intake.Filter{})
	if err != nil {
		t.Fatalf("ListReports: %v", err)
	}
	return len(ms)
}

// rawDB opens the file with database/sql and modernc.org/sqlite directly,
// as an attacker or an operator with the file would.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	r, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	r.SetMaxOpenConns(1)
	t.Cleanup(func() { r.Close() })
	return r
}

func lastMigration(t testing.TB) int {
	t.Helper()
	des, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	last := 0
	for _, de := range des {
		if !strings.HasSuffix(de.Name(), ".sql") {
			continue
		}
		n, err := strconv.Atoi(strings.SplitN(de.Name(), "_", 2)[0])
		if err != nil {
			t.Fatalf("migration %s has no number", de.Name())
		}
		last = max(last, n)
	}
	if last == 0 {
		t.Fatal("no migrations found")
	}
	return last
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	want := lastMigration(t)
	path := filepath.Join(t.TempDir(), "c.db")
	db := openDB(t, path)
	v, err := db.SchemaVersion(ctx)
	if err != nil || v != want {
		t.Fatalf("SchemaVersion = %d, %v; want %d (the last file in migrations/)", v, err, want)
	}
	r := newReport(t, nil)
	if _, err := db.CreateReport(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Reopening applies nothing again and keeps the data.
	for i := 0; i < 3; i++ {
		db = openDB(t, path)
		if v, err := db.SchemaVersion(ctx); err != nil || v != want {
			t.Fatalf("reopen %d: SchemaVersion = %d, %v", i, v, err)
		}
		if _, err := db.Report(ctx, r.ID); err != nil {
			t.Fatalf("reopen %d: report lost: %v", i, err)
		}
		if err := db.IntegrityCheck(ctx); err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// The version is recorded in the file itself.
	raw := rawDB(t, path)
	var uv int
	raw.QueryRow("PRAGMA user_version").Scan(&uv)
	if uv != want {
		t.Fatalf("user_version on disk = %d, want %d", uv, want)
	}
}

func TestCreateReportRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	r := newReport(t, nil)
	// 23:30 in New York on 1 March is 2 March in UTC: the day is stored in UTC.
	ny := time.FixedZone("EST", -5*3600)
	r.Received = time.Date(2026, 3, 1, 23, 30, 0, 0, ny)
	id, err := db.CreateReport(ctx, r)
	if err != nil {
		t.Fatalf("CreateReport: %v", err)
	}
	if id != r.ID {
		t.Fatalf("CreateReport returned %q, want %q", id, r.ID)
	}
	m, err := db.Report(ctx, id)
	if err != nil {
		t.Fatalf("Report: %v", err)
	}
	want := intake.ReportMeta{
		ID: r.ID, Channel: r.Channel, Language: r.Language, Desk: r.Desk, DeskKeyID: r.DeskKeyID, Topic: r.Topic,
		Tags: []string{"DET"}, State: intake.StateNew, ReceivedDay: "2026-03-02", Pseudonym: r.Pseudonym,
		RawSHA256: r.RawSHA256, Scopes: []string{"read", "share"},
	}
	if fmt.Sprint(m) != fmt.Sprint(want) {
		t.Fatalf("Report =\n %+v\nwant\n %+v", m, want)
	}
	if byReceipt, err := db.ReportByReceipt(ctx, r.ReceiptHash); err != nil || byReceipt.ID != id {
		t.Fatalf("ReportByReceipt = %q, %v", byReceipt.ID, err)
	}
	es, err := db.Entries(ctx, id)
	if err != nil {
		t.Fatalf("Entries: %v", err)
	}
	if len(es) != len(r.Entries) {
		t.Fatalf("%d entries, want %d", len(es), len(r.Entries))
	}
	for i, e := range es {
		w := r.Entries[i]
		if e.Seq != w.Seq || e.Kind != w.Kind || !bytes.Equal(e.Desk, w.Desk) || !bytes.Equal(e.Custodian, w.Custodian) {
			t.Errorf("entry %d changed in storage: seq %d kind %q, %d/%d bytes", i, e.Seq, e.Kind, len(e.Desk), len(e.Custodian))
		}
	}
	if es[1].Custodian != nil {
		t.Errorf("attachment entry: custodian = %d bytes, want nil", len(es[1].Custodian))
	}

	// Not found, and filters.
	if _, err := db.Report(ctx, "nope"); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("Report(unknown) error = %v, want ErrNotFound", err)
	}
	if _, err := db.ReportByReceipt(ctx, []byte("nope")); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("ReportByReceipt(unknown) error = %v, want ErrNotFound", err)
	}
	other := newReport(t, nil)
	other.Desk, other.DeskKeyID, other.State, other.Topic = "arabic", "k_ar", intake.StateAccepted, ""
	other.Received = time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)
	if _, err := db.CreateReport(ctx, other); err != nil {
		t.Fatal(err)
	}
	filters := []struct {
		name string
		f    intake.Filter
		want []string
	}{
		{"all, newest day first", intake.Filter{}, []string{other.ID, r.ID}},
		{"desk", intake.Filter{Desk: "arabic"}, []string{other.ID}},
		{"state", intake.Filter{State: intake.StateNew}, []string{r.ID}},
		{"key ids", intake.Filter{KeyIDs: []string{"k_test"}}, []string{r.ID}},
		{"two key ids", intake.Filter{KeyIDs: []string{"k_ar", "k_test"}}, []string{other.ID, r.ID}},
		{"no key ids means nothing", intake.Filter{KeyIDs: []string{}}, nil},
		{"sql in filter", intake.Filter{Desk: "' OR 1=1 --"}, nil},
	}
	for _, c := range filters {
		ms, err := db.ListReports(ctx, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []string
		for _, m := range ms {
			got = append(got, m.ID)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("ListReports(%s) = %q, want %q", c.name, got, c.want)
		}
	}
	if m, _ := db.Report(ctx, other.ID); m.Tags != nil {
		t.Errorf("report without topic has tags %q", m.Tags)
	}
}

func TestCreateReportDuplicate(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	idem := random(t, 32)
	first := newReport(t, idem)
	id, err := db.CreateReport(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		again := newReport(t, idem) // a retry: new id, new blobs, same key
		got, err := db.CreateReport(ctx, again)
		if !errors.Is(err, intake.ErrDuplicate) {
			t.Fatalf("retry %d: error = %v, want ErrDuplicate", i, err)
		}
		if got != id {
			t.Fatalf("retry %d: returned id %q, want the first id %q", i, got, id)
		}
		if _, err := db.Report(ctx, again.ID); !errors.Is(err, intake.ErrNotFound) {
			t.Fatalf("retry %d: the duplicate was stored as %s", i, again.ID)
		}
		if _, err := db.ReportByReceipt(ctx, again.ReceiptHash); !errors.Is(err, intake.ErrNotFound) {
			t.Fatalf("retry %d: the duplicate's receipt was stored", i)
		}
	}
	if n := countReports(t, db); n != 1 {
		t.Fatalf("%d reports stored, want 1", n)
	}
	es, _ := db.Entries(ctx, id)
	if len(es) != 2 || !bytes.Equal(es[0].Desk, first.Entries[0].Desk) {
		t.Fatal("the first report's entries were replaced by a retry")
	}
}

// TestConcurrentDuplicate is W6/D3: 50 deliveries of the same update at once
// store exactly one row; the other 49 get ErrDuplicate with the same id.
func TestConcurrentDuplicate(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	idem := random(t, 32)
	const n = 50
	type result struct {
		sent, got string
		err       error
	}
	results := make([]result, n)
	reports := make([]*intake.NewReport, n)
	for i := range reports {
		reports[i] = newReport(t, idem)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			id, err := db.CreateReport(ctx, reports[i])
			results[i] = result{reports[i].ID, id, err}
		}()
	}
	close(start)
	wg.Wait()
	var winners []result
	dups := 0
	for _, r := range results {
		switch {
		case r.err == nil:
			winners = append(winners, r)
		case errors.Is(r.err, intake.ErrDuplicate):
			dups++
		default:
			t.Errorf("unexpected error: %v", r.err)
		}
	}
	if len(winners) != 1 || dups != n-1 {
		t.Fatalf("%d stored, %d duplicates; want 1 and %d", len(winners), dups, n-1)
	}
	for _, r := range results {
		if r.err != nil && r.got != winners[0].got {
			t.Errorf("a duplicate was answered with id %q, want %q", r.got, winners[0].got)
		}
	}
	if winners[0].got != winners[0].sent {
		t.Errorf("the winner was answered %q, want its own id %q", winners[0].got, winners[0].sent)
	}
	if c := countReports(t, db); c != 1 {
		t.Fatalf("%d rows, want exactly 1", c)
	}
}

// TestGroupCommit: 200 concurrent distinct reports all commit and are all
// there afterwards.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	db, path := newDB(t)
	const n = 200
	reports := make([]*intake.NewReport, n)
	for i := range reports {
		reports[i] = newReport(t, nil)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = db.CreateReport(ctx, reports[i])
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("report %d: %v", i, err)
		}
	}
	// Check through a fresh open, so nothing comes from a cache.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2 := openDB(t, path)
	defer db2.Close()
	if c := countReports(t, db2); c != n {
		t.Fatalf("%d reports after reopening, want %d", c, n)
	}
	for i, r := range reports {
		es, err := db2.Entries(ctx, r.ID)
		if err != nil || len(es) != 2 || !bytes.Equal(es[0].Desk, r.Entries[0].Desk) {
			t.Fatalf("report %d: entries %d, %v", i, len(es), err)
		}
	}
}

// TestGroupCommitIsolatesFailures: in a crowd of concurrent writes some
// fail (duplicates, a malformed report); the others still commit, and a
// failed one leaves nothing behind.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	existing := newReport(t, nil)
	if _, err := db.CreateReport(ctx, existing); err != nil {
		t.Fatal(err)
	}
	const n = 120
	type kind int
	const (
		good kind = iota
		dup
		broken
	)
	kinds := make([]kind, n)
	reports := make([]*intake.NewReport, n)
	for i := range reports {
		switch {
		case i%6 == 1:
			kinds[i], reports[i] = dup, newReport(t, existing.IdemKey)
		case i%6 == 4:
			// Two entries with the same seq: the insert of the second
			// fails after the report row was written.
			r := newReport(t, nil)
			r.Entries[1].Seq = 0
			kinds[i], reports[i] = broken, r
		default:
			kinds[i], reports[i] = good, newReport(t, nil)
		}
	}
	errs := make([]error, n)
	ids := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ids[i], errs[i] = db.CreateReport(ctx, reports[i])
		}()
	}
	close(start)
	wg.Wait()
	want := 1
	for i := 0; i < n; i++ {
		_, lookErr := db.Report(ctx, reports[i].ID)
		_, rcptErr := db.ReportByReceipt(ctx, reports[i].ReceiptHash)
		switch kinds[i] {
		case good:
			want++
			if errs[i] != nil || lookErr != nil || rcptErr != nil {
				t.Errorf("good report %d failed next to failing ones: %v / %v", i, errs[i], lookErr)
			}
		case dup:
			if !errors.Is(errs[i], intake.ErrDuplicate) || ids[i] != existing.ID {
				t.Errorf("duplicate %d: %q, %v; want %q, ErrDuplicate", i, ids[i], errs[i], existing.ID)
			}
		case broken:
			if errs[i] == nil || errors.Is(errs[i], intake.ErrDuplicate) {
				t.Errorf("broken report %d: error %v (id %q), want a failure other than ErrDuplicate: nothing was stored", i, errs[i], ids[i])
			}
			if !errors.Is(lookErr, intake.ErrNotFound) || !errors.Is(rcptErr, intake.ErrNotFound) {
				t.Errorf("broken report %d left a partial row behind", i)
			}
			if es, _ := db.Entries(ctx, reports[i].ID); len(es) != 0 {
				t.Errorf("broken report %d left %d entries behind", i, len(es))
			}
		}
	}
	if c := countReports(t, db); c != want {
		t.Fatalf("%d reports, want %d", c, want)
	}
}

// TestCreateReportFreshKeyNeverDuplicate: ErrDuplicate means "this IdemKey
// was seen before" (the intake.Store contract), and Submit answers it with
// Duplicate=true, which the channels acknowledge with a 2xx. A report with a
// fresh IdemKey that fails for another reason must get a real error, so the
// provider retries; it must never be acknowledged as already stored.
func TestCreateReportFreshKeyNeverDuplicate(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	first := newReport(t, nil)
	if _, err := db.CreateReport(ctx, first); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		mut  func(r *intake.NewReport)
	}{
		{"two entries with the same seq", func(r *intake.NewReport) { r.Entries[1].Seq = 0 }},
		{"receipt hash of another report (receipt code collision)", func(r *intake.NewReport) { r.ReceiptHash = first.ReceiptHash }},
		{"report id of another report", func(r *intake.NewReport) { r.ID = first.ID }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newReport(t, nil) // a fresh IdemKey
			c.mut(r)
			id, err := db.CreateReport(ctx, r)
			if errors.Is(err, intake.ErrDuplicate) {
				t.Fatalf("BUG: CreateReport with a never-seen IdemKey returned ErrDuplicate (id %q) although nothing was stored: "+
					"Submit would answer Duplicate=true and the channel would acknowledge a testimony that is lost", id)
			}
			if err == nil {
				if _, lerr := db.Report(ctx, id); lerr != nil {
					t.Fatalf("acknowledged as %q but not stored: %v", id, lerr)
				}
			} else if id != "" {
				t.Fatalf("error %v with id %q", err, id)
			}
		})
	}
	if m, err := db.Report(ctx, first.ID); err != nil || m.Channel != first.Channel {
		t.Fatalf("the first report was disturbed: %v", err)
	}
}

func auditAll(t *testing.T, db *sqlite.DB) []sqlite.AuditEntry {
	t.Helper()
	es, err := db.AuditEntries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// seedAudit writes a few entries through the store's own operations.
func seedAudit(t *testing.T, db *sqlite.DB) {
	t.Helper()
	ctx := context.Background()
	if err := db.AddDesk(ctx, "default", "k_1", "age1recipient", map[string][]byte{"age1member": random(t, 100)}, "init"); err != nil {
		t.Fatalf("AddDesk: %v", err)
	}
	if err := db.AddWraps(ctx, "age1second", map[string][]byte{"k_1": random(t, 100)}, "admin"); err != nil {
		t.Fatalf("AddWraps: %v", err)
	}
	if err := db.Audit(ctx, "mod:amina", "report.view", "r_123"); err != nil {
		t.Fatalf("Audit: %v", err)
	}
	if err := db.AuditMany(ctx, "mod:amina", "report.export", []string{"r_1", "r_2"}); err != nil {
		t.Fatalf("AuditMany: %v", err)
	}
}

func TestAuditChain(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	seedAudit(t, db)
	n, err := db.VerifyAudit(ctx)
	if err != nil || n != 5 {
		t.Fatalf("VerifyAudit = %d, %v; want 5, nil", n, err)
	}
	es := auditAll(t, db)
	var actions []string
	for i, e := range es {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d", i, e.Seq)
		}
		actions = append(actions, e.Action)
	}
	if want := []string{"desk.add", "desk.member.add", "report.view", "report.export", "report.export"}; !slices.Equal(actions, want) {
		t.Fatalf("actions %q, want %q", actions, want)
	}
	if err := db.Audit(ctx, "evil\nactor\x00", "x", "y"); err != nil {
		t.Fatal(err)
	}
	if last := auditAll(t, db)[5]; strings.ContainsAny(last.Actor, "\n\x00") {
		t.Fatalf("actor kept control characters: %q", last.Actor)
	}
	// Duplicate desk and member are refused, and not audited.
	if err := db.AddDesk(ctx, "default", "k_2", "age1r", nil, "init"); !errors.Is(err, sqlite.ErrExists) {
		t.Fatalf("AddDesk twice: %v, want ErrExists", err)
	}
	if err := db.AddWraps(ctx, "age1second", map[string][]byte{"k_1": random(t, 10)}, "admin"); !errors.Is(err, sqlite.ErrExists) {
		t.Fatalf("AddWraps twice: %v, want ErrExists", err)
	}
	if n, err := db.VerifyAudit(ctx); err != nil || n != 6 {
		t.Fatalf("after refused writes: VerifyAudit = %d, %v; want 6", n, err)
	}
}

// TestAuditTamper edits the file behind the store's back.
func TestAuditTamper(t *testing.T) {
	cases := []struct {
		name    string
		sql     string
		mention string
	}{
		{"object of entry 2 changed", "UPDATE audit SET object = 'key k_other' WHERE seq = 2", "entry 2"},
		{"action of entry 2 changed", "UPDATE audit SET action = 'report.view' WHERE seq = 2", "entry 2"},
		{"actor of entry 2 changed", "UPDATE audit SET actor = 'someone' WHERE seq = 2", "entry 2"},
		{"time of entry 2 changed", "UPDATE audit SET time = '2020-01-01T00:00:00Z' WHERE seq = 2", "entry 2"},
		{"entry 2 deleted", "DELETE FROM audit WHERE seq = 2", "entry 2"},
		{"entry 1 deleted", "DELETE FROM audit WHERE seq = 1", "entry 1"},
		{"entries 3 and 4 swapped", "UPDATE audit SET seq = -seq WHERE seq IN (3,4); UPDATE audit SET seq = CASE seq WHEN -3 THEN 4 ELSE 3 END WHERE seq < 0", "entry 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "c.db")
			db := openDB(t, path)
			seedAudit(t, db)
			if _, err := db.VerifyAudit(ctx); err != nil {
				t.Fatalf("before tampering: %v", err)
			}
			db.Close()

			raw := rawDB(t, path)
			if _, err := raw.Exec(c.sql); err != nil {
				t.Fatalf("tampering: %v", err)
			}
			raw.Close()

			db = openDB(t, path)
			defer db.Close()
			n, err := db.VerifyAudit(ctx)
			if err == nil {
				t.Fatalf("VerifyAudit did not notice (%d entries checked)", n)
			}
			if !strings.Contains(err.Error(), c.mention) {
				t.Fatalf("VerifyAudit error %q does not name %s", err, c.mention)
			}
		})
	}
}

// filesWith lists the database files that hold marker.
func filesWith(t *testing.T, path string, marker []byte) []string {
	t.Helper()
	var hits []string
	for _, f := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		data, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, marker) {
			hits = append(hits, filepath.Base(f))
		}
	}
	return hits
}

// TestErasure is C4: after DeleteReport and Compact the erased ciphertext is
// in none of the files, and the audit log keeps a tombstone.
func TestErasure(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	db := openDB(t, path)
	marker := random(t, 64)
	victim := newReport(t, nil)
	victim.Entries[0].Desk = slices.Concat(random(t, 100), marker, random(t, 100))
	victim.Entries[0].Custodian = slices.Concat(random(t, 50), marker, random(t, 50))
	victim.Entries[1].Desk = slices.Concat(marker, random(t, 3000))
	keep := newReport(t, nil)
	for _, r := range []*intake.NewReport{keep, victim} {
		if _, err := db.CreateReport(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// The scan must be able to see the marker before the erasure.
	if hits := filesWith(t, path, marker); len(hits) == 0 {
		t.Fatal("test broken: the marker is not found in the files before erasure")
	}
	if err := db.DeleteReport(ctx, victim.ID, "mod:amina", "sender asked"); err != nil {
		t.Fatalf("DeleteReport: %v", err)
	}
	if err := db.DeleteReport(ctx, victim.ID, "mod:amina", "again"); !errors.Is(err, intake.ErrNotFound) {
		t.Fatalf("second DeleteReport: %v, want ErrNotFound", err)
	}
	if err := db.Compact(ctx); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	if hits := filesWith(t, path, marker); len(hits) > 0 {
		t.Errorf("after Compact, with the store open: erased ciphertext still in %v", hits)
	}
	if _, err := db.Report(ctx, victim.ID); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("erased report still readable: %v", err)
	}
	if es, _ := db.Entries(ctx, victim.ID); len(es) != 0 {
		t.Errorf("erased report still has %d entries", len(es))
	}
	if _, err := db.ReportByReceipt(ctx, victim.ReceiptHash); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("erased report's receipt still resolves")
	}
	if _, err := db.Report(ctx, keep.ID); err != nil {
		t.Errorf("the other report was lost: %v", err)
	}
	var erase []sqlite.AuditEntry
	for _, e := range auditAll(t, db) {
		if e.Action == "erase" {
			erase = append(erase, e)
		}
	}
	if len(erase) != 1 || !strings.HasPrefix(erase[0].Object, victim.ID) || erase[0].Actor != "mod:amina" {
		t.Errorf("audit erase entries %+v, want one for %s by mod:amina", erase, victim.ID)
	}
	if _, err := db.VerifyAudit(ctx); err != nil {
		t.Errorf("VerifyAudit: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if hits := filesWith(t, path, marker); len(hits) > 0 {
		t.Errorf("after Close: erased ciphertext still in %v", hits)
	}
	if err := db.DeleteReport(ctx, keep.ID, "x", "y"); !errors.Is(err, sqlite.ErrClosed) {
		t.Errorf("DeleteReport after Close: %v, want ErrClosed", err)
	}
}

// TestJournalMode: the WAL mode is persistent in the file. synchronous=FULL
// is a per-connection setting of the store's own writer, which has no API to
// read it back, so it is not checked here.
func TestJournalMode(t *testing.T) {
	db, path := newDB(t)
	if _, err := db.CreateReport(context.Background(), newReport(t, nil)); err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := rawDB(t, path).QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Fatalf("journal_mode = %q, want wal", mode)
	}
	if err := db.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// TestCloseDrains: Close while 100 writes are in flight (half of them
// queued before Close, half racing with it). Every caller gets
// an answer; an answer of success means the row is there after reopening,
// and an error means it is not.
func TestCloseDrains(t *testing.T) {
	for round := 0; round < 5; round++ {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "c.db")
			db := openDB(t, path)
			const n = 100
			reports := make([]*intake.NewReport, n)
			for i := range reports {
				reports[i] = newReport(t, nil)
			}
			errs := make([]error, n)
			// The first half is queued before Close; the second half races
			// with it and may find the store closed.
			var started, wg sync.WaitGroup
			started.Add(n / 2)
			late := make(chan struct{})
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if i < n/2 {
						started.Done()
					} else {
						<-late
					}
					_, errs[i] = db.CreateReport(ctx, reports[i])
				}()
			}
			started.Wait()
			closeErr := make(chan error, 1)
			go func() { closeErr <- db.Close() }()
			close(late)
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("CreateReport calls still hanging 30 s after Close")
			}
			select {
			case err := <-closeErr:
				if err != nil {
					t.Fatalf("Close: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Close hangs")
			}
			db2 := openDB(t, path)
			defer db2.Close()
			ok := 0
			for i, r := range reports {
				_, err := db2.Report(ctx, r.ID)
				switch {
				case errs[i] == nil && err != nil:
					t.Errorf("report %d was acknowledged but is missing after reopening: %v", i, err)
				case errs[i] != nil && err == nil:
					t.Errorf("report %d got error %v but was stored", i, errs[i])
				case errs[i] != nil && !errors.Is(errs[i], sqlite.ErrClosed):
					t.Errorf("report %d: error %v, want ErrClosed", i, errs[i])
				}
				if errs[i] == nil {
					ok++
				}
			}
			if c := countReports(t, db2); c != ok {
				t.Errorf("%d rows, %d acknowledged", c, ok)
			}
			if err := db2.IntegrityCheck(ctx); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d of %d committed before Close", ok, n)
		})
	}
}

func TestDesks(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	w := map[string][]byte{"age1m1": []byte("wrap1"), "age1m2": []byte("wrap2")}
	if err := db.AddDesk(ctx, "default", "k_1", "age1desk1", w, "init"); err != nil {
		t.Fatal(err)
	}
	if err := db.AddDesk(ctx, "arabic", "k_a", "age1deska", map[string][]byte{"age1m1": []byte("wrapa")}, "init"); err != nil {
		t.Fatal(err)
	}
	if err := db.RotateDesk(ctx, "default", "k_2", "age1desk2", map[string][]byte{"age1m1": []byte("wrap3")}, "admin"); err != nil {
		t.Fatal(err)
	}
	if err := db.RotateDesk(ctx, "ghost", "k_g", "age1g", nil, "admin"); !errors.Is(err, intake.ErrNotFound) {
		t.Fatalf("RotateDesk(missing) = %v, want ErrNotFound", err)
	}
	ds, err := db.ActiveDesks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(ds)
	if want := "[{arabic k_a age1deska} {default k_2 age1desk2}]"; got != want {
		t.Fatalf("ActiveDesks = %s, want %s", got, want)
	}
	keys, _ := db.DeskKeys(ctx, "default")
	if fmt.Sprint(keys) != "[{k_1 default age1desk1 false} {k_2 default age1desk2 true}]" {
		t.Fatalf("DeskKeys = %v", keys)
	}
	ws, _ := db.Wraps(ctx, "")
	var names []string
	for _, x := range ws {
		names = append(names, x.Desk+"/"+x.KeyID+"/"+x.Member+"="+string(x.Wrapped))
	}
	sort.Strings(names)
	if want := "arabic/k_a/age1m1=wrapa default/k_1/age1m1=wrap1 default/k_1/age1m2=wrap2 default/k_2/age1m1=wrap3"; strings.Join(names, " ") != want {
		t.Fatalf("Wraps = %s", strings.Join(names, " "))
	}
	for name, want := range map[string]bool{"default": true, "arabic": true, "ghost": false} {
		if ok, err := db.DeskExists(ctx, name); err != nil || ok != want {
			t.Errorf("DeskExists(%s) = %v, %v", name, ok, err)
		}
	}
	if n, err := db.VerifyAudit(ctx); err != nil || n != 3 {
		t.Fatalf("VerifyAudit = %d, %v; want 3 (add, add, rotate)", n, err)
	}
}
