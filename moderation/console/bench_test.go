package console

// Issue 6 benchmarks: a queue page of 50 out of 1,000,000 stored reports
// (target < 50 ms) and opening one report (target < 20 ms), on a real SQLite
// file. The million rows are built once per test binary, and only when a
// benchmark runs:
//
//	go test ./moderation/console/ -run XXX -bench 'QueuePage|OpenReport' -benchtime 20x
//
// The fixture lives in a temp dir removed by TestMain.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/intake"
	"github.com/corridor-gateway/corridor/intake/sqlite"
	"github.com/corridor-gateway/corridor/moderation"
)

const (
	benchReports = 1_000_000
	queueTarget  = 50 * time.Millisecond // issue 6
	openTarget   = 20 * time.Millisecond
)

type benchFixture struct {
	dir     string
	db      *sqlite.DB
	keyIDs  []string // the three desks' keys; keyIDs[0] is "default"
	mod     *crypto.Identity
	sealed  []string // ids of real reports submitted through intake.Service
	buildIn time.Duration
}

var (
	benchOnce sync.Once
	bench     *benchFixture
	benchErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if bench != nil {
		bench.db.Close()
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

func benchStore(b *testing.B) *benchFixture {
	b.Helper()
	benchOnce.Do(func() { bench, benchErr = buildBenchStore() })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return bench
}

var benchB32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func buildBenchStore() (*benchFixture, error) {
	start := time.Now()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "corridor-queue-bench-")
	if err != nil {
		return nil, err
	}
	f := &benchFixture{dir: dir}
	path := filepath.Join(dir, "corridor.db")
	// 1. The schema, three desks with real keys, all wrapped to one moderator.
	db, err := sqlite.Open(path)
	if err != nil {
		return nil, err
	}
	if f.mod, err = crypto.Generate(crypto.X25519); err != nil {
		return nil, err
	}
	desks := []string{intake.DefaultDesk, "legal", "health"}
	for _, d := range desks {
		keyID, rcpt, wraps, err := moderation.NewDeskKey(crypto.X25519, []string{f.mod.Recipient})
		if err != nil {
			return nil, err
		}
		if err := db.AddDesk(ctx, d, keyID, rcpt, wraps, "bench"); err != nil {
			return nil, err
		}
		f.keyIDs = append(f.keyIDs, keyID)
	}
	if err := db.Close(); err != nil {
		return nil, err
	}

	// 2. A million report rows in one transaction, as metadata only (the
	// queue never decrypts): 3 desk keys, 5 states, 30 days, a tag on a third.
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return nil, err
	}
	raw.SetMaxOpenConns(1)
	for _, p := range []string{"PRAGMA journal_mode=OFF", "PRAGMA synchronous=OFF", "PRAGMA cache_size=-524288", "PRAGMA foreign_keys=OFF"} {
		if _, err := raw.Exec(p); err != nil {
			raw.Close()
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	if err := bulkInsert(raw, f.keyIDs, desks); err != nil {
		raw.Close()
		return nil, err
	}
	if _, err := raw.Exec("PRAGMA journal_mode=WAL"); err != nil {
		raw.Close()
		return nil, err
	}
	raw.Close()

	// 3. Reopen as the server does, and submit a few real sealed reports.
	if f.db, err = sqlite.Open(path); err != nil {
		return nil, err
	}
	cust, err := crypto.Generate(crypto.X25519)
	if err != nil {
		return nil, err
	}
	ks, err := crypto.NewKeySet(cust.Recipient)
	if err != nil {
		return nil, err
	}
	secret, err := crypto.NewSecret()
	if err != nil {
		return nil, err
	}
	svc := &intake.Service{Flow: intake.DefaultFlow(), Store: f.db, Secret: secret, Custodian: ks}
	for i := range 5 {
		rc, err := svc.Submit(ctx, &intake.Submission{Channel: intake.ChannelWeb, ProviderID: fmt.Sprintf("bench-%d", i), Language: "en",
			Answers: map[string]string{"testimony": strings.Repeat("They kept our passports at the farm for months. ", 40), "topic": "EXPL"},
			Consent: intake.Consent{Scopes: []string{intake.ScopeRead, intake.ScopeShare}, TextVersion: "bench", Method: "form"}})
		if err != nil {
			return nil, err
		}
		f.sealed = append(f.sealed, rc.ReportID)
	}
	f.buildIn = time.Since(start)
	return f, nil
}

func bulkInsert(raw *sql.DB, keyIDs, desks []string) error {
	states := []string{intake.StateNew, intake.StateInReview, intake.StateAccepted, intake.StateNeedsFollowUp, intake.StateRejected}
	channels := []string{"web", "sms", "telegram", "whatsapp"}
	langs := []string{"en", "fr", "ar", "es"}
	topics := []string{"DET", "EXPL", "BORDER", "VIOL", "LIFE", "other"}
	last := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var days []string
	for d := range 30 {
		days = append(days, last.AddDate(0, 0, -d).Format("2006-01-02"))
	}
	tx, err := raw.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rep, err := tx.Prepare(`INSERT INTO reports (id, idem_key, channel, language, desk, desk_key_id, topic, state, received, pseudonym, raw_sha256)
		VALUES (?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	tag, err := tx.Prepare("INSERT INTO report_tags (report_id, code) VALUES (?,?)")
	if err != nil {
		return err
	}
	con, err := tx.Prepare("INSERT INTO consents (report_id, text_version, language, channel, day, scopes, method) VALUES (?,?,?,?,?,?,?)")
	if err != nil {
		return err
	}
	for i := range benchReports {
		h := sha256.Sum256(fmt.Appendf(nil, "report %d", i))
		id := strings.ToLower(benchB32.EncodeToString(h[:16]))
		idem := sha256.Sum256(h[:])
		d := int(h[16]) % 3
		state, day := states[int(h[17])%5], days[int(h[18])%30]
		ch, lang, topic := channels[int(h[19])%4], langs[int(h[20])%4], topics[int(h[21])%len(topics)]
		pseudonym := strings.ToLower(benchB32.EncodeToString(h[22:32]))
		if _, err := rep.Exec(id, idem[:], ch, lang, desks[d], keyIDs[d], topic, state, day, pseudonym, hex.EncodeToString(h[:])); err != nil {
			return fmt.Errorf("report %d: %w", i, err)
		}
		if i%3 == 0 {
			if _, err := tag.Exec(id, "EXPL.PASSPORT_RETENTION"); err != nil {
				return err
			}
		}
		if _, err := con.Exec(id, "bench", lang, ch, day, "read,share", "form"); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// BenchmarkQueuePage lists one queue page (50 rows and one to know there is
// a next page) as the console does, from clear metadata only.
func BenchmarkQueuePage(b *testing.B) {
	f := benchStore(b)
	b.Logf("fixture: %d reports, built in %v", benchReports, f.buildIn.Round(time.Second))
	ctx := context.Background()
	cases := []struct {
		name string
		f    intake.Filter
		want int
	}{
		{"desk-new-offset0", intake.Filter{KeyIDs: f.keyIDs[:1], State: intake.StateNew, Limit: pageSize + 1}, pageSize + 1},
		{"desk-new-offset5000", intake.Filter{KeyIDs: f.keyIDs[:1], State: intake.StateNew, Limit: pageSize + 1, Offset: 5000}, pageSize + 1},
		// What the console shows first: every unlocked desk, no filter.
		{"3desks-anystate-offset0", intake.Filter{KeyIDs: f.keyIDs, Limit: pageSize + 1}, pageSize + 1},
		{"desk-anystate-offset0", intake.Filter{KeyIDs: f.keyIDs[:1], Limit: pageSize + 1}, pageSize + 1},
		{"desk-new-tag-offset0", intake.Filter{KeyIDs: f.keyIDs[:1], State: intake.StateNew, Tag: "EXPL.PASSPORT_RETENTION", Limit: pageSize + 1}, pageSize + 1},
		{"desk-new-day-offset0", intake.Filter{KeyIDs: f.keyIDs[:1], State: intake.StateNew, Day: "2026-02-14", Limit: pageSize + 1}, pageSize + 1},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if ms, err := f.db.ListReports(ctx, c.f); err != nil || len(ms) != c.want {
				b.Fatalf("ListReports: %d rows, %v; want %d", len(ms), err, c.want)
			}
			for b.Loop() {
				ms, err := f.db.ListReports(ctx, c.f)
				if err != nil || len(ms) != c.want {
					b.Fatalf("ListReports: %d rows, %v", len(ms), err)
				}
			}
			per := b.Elapsed() / time.Duration(b.N)
			b.ReportMetric(float64(per.Microseconds())/1000, "ms/page")
			// Timings on a shared 2-core machine wander: over the target is
			// noted, twice over it is a failure.
			switch {
			case per > 2*queueTarget:
				b.Errorf("BUG: %s: a queue page takes %v, target %v (ListReports sorts every matching row, "+
					"computing tags and consent for each, when no index gives the order)", c.name, per.Round(time.Millisecond), queueTarget)
			case per > queueTarget:
				b.Logf("over the %v target: %v per page", queueTarget, per)
			}
		})
	}
}

// BenchmarkOpenReport decrypts one real sealed report (answers and
// attachments) with an unlocked keyring, among a million stored.
func BenchmarkOpenReport(b *testing.B) {
	f := benchStore(b)
	ctx := context.Background()
	kr, err := moderation.Unlock(ctx, f.db, []*crypto.Identity{f.mod})
	if err != nil {
		b.Fatal(err)
	}
	m, err := f.db.Report(ctx, f.sealed[2])
	if err != nil {
		b.Fatal(err)
	}
	b.Run("keyring.Open", func(b *testing.B) {
		for b.Loop() {
			r, err := kr.Open(ctx, f.db, m, true)
			if err != nil || r.Copy.Answers["testimony"] == "" {
				b.Fatalf("Open: %v", err)
			}
		}
		per := b.Elapsed() / time.Duration(b.N)
		b.ReportMetric(float64(per.Microseconds())/1000, "ms/open")
		if per > openTarget {
			b.Errorf("opening a report takes %v, target %v", per, openTarget)
		}
	})
	// What the console's report page does: metadata, decrypt, audit entry
	// (a durable commit).
	b.Run("meta+open+audit", func(b *testing.B) {
		for b.Loop() {
			m, err := f.db.Report(ctx, f.sealed[2])
			if err != nil {
				b.Fatal(err)
			}
			if _, err := kr.Open(ctx, f.db, m, true); err != nil {
				b.Fatal(err)
			}
			if err := f.db.Audit(ctx, "mod:bench", "report.decrypt", m.ID); err != nil {
				b.Fatal(err)
			}
		}
		per := b.Elapsed() / time.Duration(b.N)
		b.ReportMetric(float64(per.Microseconds())/1000, "ms/open")
	})
}
