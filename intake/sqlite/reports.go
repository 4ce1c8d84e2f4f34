package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/corridor-gateway/corridor/intake"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var _ intake.Store = (*DB)(nil)

func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// CreateReport implements intake.Store.
func (db *DB) CreateReport(ctx context.Context, r *intake.NewReport) (string, error) {
	var existing string
	err := db.exec(ctx, func(tx *sql.Tx) error {
		// Checked inside the writer, so two copies of one delivery that
		// arrive together cannot both pass.
		err := db.txQueryRow(tx, "SELECT id FROM reports WHERE idem_key = ?", r.IdemKey).Scan(&existing)
		if err == nil {
			return intake.ErrDuplicate
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// Any other constraint failure (a colliding id or receipt, a
		// broken entry list) is an error, never a duplicate: nothing was
		// stored, and the sender must not be told it was.
		return db.insertReport(tx, r)
	})
	if errors.Is(err, intake.ErrDuplicate) {
		if existing == "" {
			db.read.QueryRowContext(ctx, "SELECT id FROM reports WHERE idem_key = ?", r.IdemKey).Scan(&existing)
		}
		return existing, intake.ErrDuplicate
	}
	if err != nil {
		return "", err
	}
	return r.ID, nil
}

const metaCols = `r.id, r.channel, r.language, r.desk, r.desk_key_id, r.topic, r.state, r.received, r.pseudonym, r.raw_sha256,
	COALESCE((SELECT group_concat(code, ',') FROM (SELECT code FROM report_tags t WHERE t.report_id = r.id ORDER BY code)), ''),
	COALESCE((SELECT scopes FROM consents c WHERE c.report_id = r.id ORDER BY c.id DESC LIMIT 1), '')`

func scanMeta(sc interface{ Scan(...any) error }) (intake.ReportMeta, error) {
	var m intake.ReportMeta
	var tags, scopes string
	err := sc.Scan(&m.ID, &m.Channel, &m.Language, &m.Desk, &m.DeskKeyID, &m.Topic, &m.State, &m.ReceivedDay, &m.Pseudonym, &m.RawSHA256, &tags, &scopes)
	if tags != "" {
		m.Tags = strings.Split(tags, ",")
	}
	if scopes != "" {
		m.Scopes = strings.Split(scopes, ",")
	}
	return m, err
}

// ListReports lists report metadata, newest first; no decryption.
func (db *DB) ListReports(ctx context.Context, f intake.Filter) ([]intake.ReportMeta, error) {
	q := "SELECT " + metaCols + " FROM reports r WHERE 1=1"
	var args []any
	if f.KeyIDs != nil {
		if len(f.KeyIDs) == 0 {
			return nil, nil
		}
		q += " AND r.desk_key_id IN (" + strings.TrimSuffix(strings.Repeat("?,", len(f.KeyIDs)), ",") + ")"
		for _, k := range f.KeyIDs {
			args = append(args, k)
		}
	}
	// Each non-empty filter field adds one condition; values are always
	// parameters, never SQL.
	for _, c := range []struct{ value, cond string }{
		{f.Desk, "r.desk = ?"},
		{f.State, "r.state = ?"},
		{f.Language, "r.language = ?"},
		{f.Topic, "r.topic = ?"},
		{f.Day, "r.received = ?"},
		{f.Tag, "EXISTS (SELECT 1 FROM report_tags t WHERE t.report_id = r.id AND t.code = ?)"},
	} {
		if c.value != "" {
			q += " AND " + c.cond
			args = append(args, c.value)
		}
	}
	q += " ORDER BY r.received DESC, r.rowid DESC"
	if f.Limit > 0 {
		q += " LIMIT ? OFFSET ?"
		args = append(args, f.Limit, f.Offset)
	}
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []intake.ReportMeta
	for rows.Next() {
		m, err := scanMeta(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Report returns one report's metadata.
func (db *DB) Report(ctx context.Context, id string) (intake.ReportMeta, error) {
	m, err := scanMeta(db.read.QueryRowContext(ctx, "SELECT "+metaCols+" FROM reports r WHERE r.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, intake.ErrNotFound
	}
	return m, err
}

// ReportByReceipt finds the report a receipt hash points to.
func (db *DB) ReportByReceipt(ctx context.Context, hash []byte) (intake.ReportMeta, error) {
	m, err := scanMeta(db.read.QueryRowContext(ctx, "SELECT "+metaCols+" FROM reports r JOIN receipts x ON x.report_id = r.id WHERE x.hash = ?", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return m, intake.ErrNotFound
	}
	return m, err
}

// Entries returns a report's sealed entries in order.
func (db *DB) Entries(ctx context.Context, reportID string) ([]intake.Entry, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT seq, kind, desk, custodian FROM entries WHERE report_id = ? ORDER BY seq", reportID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []intake.Entry
	for rows.Next() {
		var e intake.Entry
		if err := rows.Scan(&e.Seq, &e.Kind, &e.Desk, &e.Custodian); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// DeleteReport erases a report, its entries, receipt and tags. The consent
// rows stay (they hold no content) and the audit log keeps a tombstone.
func (db *DB) DeleteReport(ctx context.Context, id, actor, reason string) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		res, err := db.txExec(tx, "DELETE FROM reports WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return intake.ErrNotFound
		}
		return db.appendAudit(tx, actor, "erase", id+" "+reason)
	})
}

// insertReport writes a report row, its entries, receipt, topic tag and
// consent record.
func (db *DB) insertReport(tx *sql.Tx, r *intake.NewReport) error {
	day := r.Received.UTC().Format("2006-01-02")
	if _, err := db.txExec(tx, `INSERT INTO reports (id, idem_key, channel, language, desk, desk_key_id, topic, state, received, pseudonym, raw_sha256)
			VALUES (?,?,?,?,?,?,?,?,?,?,?)`, r.ID, r.IdemKey, r.Channel, r.Language, r.Desk, r.DeskKeyID, r.Topic, r.State, day, r.Pseudonym, r.RawSHA256); err != nil {
		return err
	}
	for _, e := range r.Entries {
		if _, err := db.txExec(tx, "INSERT INTO entries (report_id, seq, kind, desk, custodian) VALUES (?,?,?,?,?)", r.ID, e.Seq, e.Kind, e.Desk, e.Custodian); err != nil {
			return err
		}
	}
	if len(r.ReceiptHash) > 0 {
		if _, err := db.txExec(tx, "INSERT INTO receipts (hash, report_id) VALUES (?,?)", r.ReceiptHash, r.ID); err != nil {
			return err
		}
	}
	if r.Topic != "" {
		if _, err := db.txExec(tx, "INSERT INTO report_tags (report_id, code) VALUES (?,?)", r.ID, r.Topic); err != nil {
			return err
		}
	}
	_, err := db.txExec(tx, "INSERT INTO consents (report_id, text_version, language, channel, day, scopes, method) VALUES (?,?,?,?,?,?,?)",
		r.ID, r.Consent.TextVersion, r.Language, r.Channel, day, strings.Join(r.Consent.Scopes, ","), r.Consent.Method)
	return err
}

// SetState moves a report to a new state after check approves the move,
// inside the writer, and audits it.
func (db *DB) SetState(ctx context.Context, id, to, actor string, check func(from, to string) error) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		var from string
		if err := db.txQueryRow(tx, "SELECT state FROM reports WHERE id = ?", id).Scan(&from); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return intake.ErrNotFound
			}
			return err
		}
		if err := check(from, to); err != nil {
			return err
		}
		if _, err := db.txExec(tx, "UPDATE reports SET state = ? WHERE id = ?", to, id); err != nil {
			return err
		}
		return db.appendAudit(tx, actor, "report.state", id+" "+from+" -> "+to)
	})
}

// AddTags tags a report with taxonomy codes and audits it.
func (db *DB) AddTags(ctx context.Context, id string, codes []string, actor string) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		var one int
		if err := db.txQueryRow(tx, "SELECT 1 FROM reports WHERE id = ?", id).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return intake.ErrNotFound
			}
			return err
		}
		for _, c := range codes {
			if _, err := db.txExec(tx, "INSERT OR IGNORE INTO report_tags (report_id, code) VALUES (?,?)", id, c); err != nil {
				return err
			}
		}
		return db.appendAudit(tx, actor, "report.tag", id+" "+strings.Join(codes, ","))
	})
}
