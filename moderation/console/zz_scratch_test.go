package console

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/corridor-gateway/corridor/intake"
)

const scratchMeta = `r.id, r.channel, r.language, r.desk, r.desk_key_id, r.topic, r.state, r.received, r.pseudonym, r.raw_sha256,
	COALESCE((SELECT group_concat(code, ',') FROM (SELECT code FROM report_tags t WHERE t.report_id = r.id ORDER BY code)), ''),
	COALESCE((SELECT scopes FROM consents c WHERE c.report_id = r.id ORDER BY c.id DESC LIMIT 1), '')`

func BenchmarkScratchPlans(b *testing.B) {
	f := benchStore(b)
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(f.dir, "corridor.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	k := f.keyIDs
	cases := []struct {
		name  string
		where string
		args  []any
		off   int
	}{
		{"desk-new-0", "r.desk_key_id IN (?) AND r.state = ?", []any{k[0], "new"}, 0},
		{"desk-new-5000", "r.desk_key_id IN (?) AND r.state = ?", []any{k[0], "new"}, 5000},
		{"3desks-any-0", "r.desk_key_id IN (?,?,?)", []any{k[0], k[1], k[2]}, 0},
		{"3desks-any-5000", "r.desk_key_id IN (?,?,?)", []any{k[0], k[1], k[2]}, 5000},
		{"desk-any-0", "r.desk_key_id IN (?)", []any{k[0]}, 0},
		{"3desks-new-0", "r.desk_key_id IN (?,?,?) AND r.state = ?", []any{k[0], k[1], k[2], "new"}, 0},
		{"desk-new-tag-0", "r.desk_key_id IN (?) AND r.state = ? AND EXISTS (SELECT 1 FROM report_tags t WHERE t.report_id = r.id AND t.code = ?)", []any{k[0], "new", "EXPL.PASSPORT_RETENTION"}, 0},
		{"desk-new-day-0", "r.desk_key_id IN (?) AND r.state = ? AND r.received = ?", []any{k[0], "new", "2026-02-14"}, 0},
	}
	run := func(label string) {
		for _, c := range cases {
			q := "SELECT " + scratchMeta + " FROM reports r WHERE " + c.where + " ORDER BY r.received DESC, r.rowid DESC LIMIT 51 OFFSET ?"
			args := append(append([]any{}, c.args...), c.off)
			rows, err := raw.Query("EXPLAIN QUERY PLAN "+q, args...)
			if err != nil {
				b.Fatal(err)
			}
			var plan string
			for rows.Next() {
				var id, parent, nu int
				var detail string
				rows.Scan(&id, &parent, &nu, &detail)
				plan += " | " + detail
			}
			rows.Close()
			start := time.Now()
			n := 0
			for i := 0; i < 3; i++ {
				rows, err := raw.Query(q, args...)
				if err != nil {
					b.Fatal(err)
				}
				n = 0
				for rows.Next() {
					n++
				}
				rows.Close()
			}
			b.Logf("%-14s %-16s %8.2f ms  rows=%d %s", label, c.name, float64(time.Since(start).Microseconds())/3000, n, plan)
		}
	}
	run("baseline")
	_ = intake.StateNew
	ctx := context.Background()
	_ = ctx
	for _, st := range []struct{ label, sql string }{
		{"+i1 key_state_recv", "CREATE INDEX i1 ON reports(desk_key_id, state, received)"},
		{"+i3 key_recv", "CREATE INDEX i3 ON reports(desk_key_id, received)"},
		{"+i4 recv", "CREATE INDEX i4 ON reports(received)"},
		{"-i3", "DROP INDEX i3"},
	} {
		if _, err := raw.Exec(st.sql); err != nil {
			b.Fatal(err)
		}
		run(st.label)
	}
}
