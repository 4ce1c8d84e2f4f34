package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/corridor-gateway/corridor/intake"
)

var _ intake.ConversationStore = (*DB)(nil)

// Session implements intake.ConversationStore.
func (db *DB) Session(ctx context.Context, key string) (*intake.Session, error) {
	var s intake.Session
	var scopes, answered string
	var exp int64
	err := db.read.QueryRowContext(ctx, "SELECT key, version, step, language, scopes, answered, tag, report_id, next_seq, expires FROM sessions WHERE key = ?", key).
		Scan(&s.Key, &s.Version, &s.Step, &s.Language, &scopes, &answered, &s.Tag, &s.ReportID, &s.NextSeq, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if scopes != "" {
		s.Scopes = strings.Split(scopes, ",")
	}
	if answered != "" {
		s.Answered = strings.Split(answered, ",")
	}
	s.Expires = time.Unix(exp, 0)
	return &s, nil
}

// InboundReply returns the sealed reply stored for a delivery.
func (db *DB) InboundReply(ctx context.Context, idemKey []byte) ([]byte, error) {
	var b []byte
	err := db.read.QueryRowContext(ctx, "SELECT reply FROM inbound WHERE idem_key = ?", idemKey).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, intake.ErrNotFound
	}
	return b, err
}

// CommitTurn implements intake.ConversationStore.
func (db *DB) CommitTurn(ctx context.Context, t *intake.Turn) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		var one int
		err := db.txQueryRow(tx, "SELECT 1 FROM inbound WHERE idem_key = ?", t.IdemKey).Scan(&one)
		if err == nil {
			return intake.ErrDuplicate
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var version int64
		err = db.txQueryRow(tx, "SELECT version FROM sessions WHERE key = ?", t.SessionKey).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			version = 0
		} else if err != nil {
			return err
		}
		if version != t.PrevVersion {
			return intake.ErrConflict
		}
		for _, id := range t.Erase {
			if _, err := db.txExec(tx, "DELETE FROM reports WHERE id = ?", id); err != nil {
				return err
			}
			if err := db.appendAudit(tx, t.Actor, "erase", id+" subject-request"); err != nil {
				return err
			}
		}
		if t.NewReport != nil {
			if err := db.insertReport(tx, t.NewReport); err != nil {
				return err
			}
		}
		for _, e := range t.Entries {
			if _, err := db.txExec(tx, "INSERT INTO entries (report_id, seq, kind, desk, custodian) VALUES (?,?,?,?,?)", t.ReportID, e.Seq, e.Kind, e.Desk, e.Custodian); err != nil {
				return err
			}
		}
		if t.SetTopic != "" {
			if _, err := db.txExec(tx, "UPDATE reports SET topic = ? WHERE id = ?", t.SetTopic, t.ReportID); err != nil {
				return err
			}
			if _, err := db.txExec(tx, "INSERT OR IGNORE INTO report_tags (report_id, code) VALUES (?,?)", t.ReportID, t.SetTopic); err != nil {
				return err
			}
		}
		if t.Finish {
			if _, err := db.txExec(tx, "UPDATE reports SET state = ? WHERE id = ? AND state = ?", intake.StateNew, t.ReportID, intake.StateIncomplete); err != nil {
				return err
			}
			if _, err := db.txExec(tx, "INSERT INTO receipts (hash, report_id) VALUES (?,?)", t.ReceiptHash, t.ReportID); err != nil {
				return err
			}
		}
		if t.Session == nil {
			if _, err := db.txExec(tx, "DELETE FROM sessions WHERE key = ?", t.SessionKey); err != nil {
				return err
			}
		} else {
			s := t.Session
			if _, err := db.txExec(tx, `INSERT INTO sessions (key, version, step, language, scopes, answered, tag, report_id, next_seq, expires) VALUES (?,?,?,?,?,?,?,?,?,?)
				ON CONFLICT(key) DO UPDATE SET version=excluded.version, step=excluded.step, language=excluded.language,
				scopes=excluded.scopes, answered=excluded.answered, tag=excluded.tag, report_id=excluded.report_id,
				next_seq=excluded.next_seq, expires=excluded.expires`,
				t.SessionKey, version+1, s.Step, s.Language, strings.Join(s.Scopes, ","), strings.Join(s.Answered, ","), s.Tag, s.ReportID, s.NextSeq, s.Expires.Unix()); err != nil {
				return err
			}
		}
		_, err = db.txExec(tx, "INSERT INTO inbound (idem_key, reply) VALUES (?,?)", t.IdemKey, t.Reply)
		if isUnique(err) {
			return intake.ErrDuplicate
		}
		return err
	})
}

// ExpireSessions ends sessions idle past their expiry. The answers they
// sealed stay as incomplete reports (they exist only after consent).
func (db *DB) ExpireSessions(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := db.exec(ctx, func(tx *sql.Tx) error {
		res, err := db.txExec(tx, "DELETE FROM sessions WHERE expires < ?", now.Unix())
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// RecordDelivery stores a status callback's outcome: a keyed hash of the
// message id and the status word, nothing else.
func (db *DB) RecordDelivery(ctx context.Context, sidHash []byte, status string, day time.Time) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		_, err := db.txExec(tx, `INSERT INTO deliveries (sid_hash, status, day) VALUES (?,?,?)
			ON CONFLICT(sid_hash) DO UPDATE SET status = excluded.status`, sidHash, status, day.UTC().Format("2006-01-02"))
		return err
	})
}

// ReportDesk returns the desk key a report's entries are sealed to.
func (db *DB) ReportDesk(ctx context.Context, reportID string) (intake.Desk, error) {
	var d intake.Desk
	err := db.read.QueryRowContext(ctx, `SELECT r.desk, k.id, k.recipient FROM reports r JOIN desk_keys k ON k.id = r.desk_key_id WHERE r.id = ?`, reportID).
		Scan(&d.Name, &d.KeyID, &d.Recipient)
	if errors.Is(err, sql.ErrNoRows) {
		return d, intake.ErrNotFound
	}
	return d, err
}

// Quarantine stores a sealed delivery once per idempotency key.
func (db *DB) Quarantine(ctx context.Context, idemKey []byte, id string, blob []byte, day time.Time) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		var one int
		err := db.txQueryRow(tx, "SELECT 1 FROM quarantine WHERE idem_key = ?", idemKey).Scan(&one)
		if err == nil {
			return intake.ErrDuplicate
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = db.txExec(tx, "INSERT INTO quarantine (idem_key, id, day, blob) VALUES (?,?,?,?)", idemKey, id, day.UTC().Format("2006-01-02"), blob)
		return err
	})
}

// ReportIDsByPseudonym lists the reports a sender gave (by pseudonym).
func (db *DB) ReportIDsByPseudonym(ctx context.Context, pseudonym string) ([]string, error) {
	return db.column(ctx, "SELECT id FROM reports WHERE pseudonym = ?", pseudonym)
}
