package sqlite

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"
)

// The audit log is append-only and hash-chained: each entry's hash covers
// the previous hash and its own fields. It holds ids and actions, never
// content.

const auditGenesis = "corridor-audit-v1"

// auditHash chains an entry to the one before. With a key (the deployment's
// secret, kept outside the database) it is an HMAC, so someone who can only
// write the database cannot rewrite the log and recompute the chain.
func auditHash(key []byte, prev, tm, actor, action, object string, seq int64) string {
	var h hash.Hash
	if len(key) > 0 {
		h = hmac.New(sha256.New, key)
	} else {
		h = sha256.New()
	}
	fmt.Fprintf(h, "%d\x00%s\x00%s\x00%s\x00%s\x00%s", seq, prev, tm, actor, action, object)
	return hex.EncodeToString(h.Sum(nil))
}

// SetAuditKey makes the audit chain keyed. Every process that writes or
// verifies the log must set the same key.
func (db *DB) SetAuditKey(key []byte) {
	db.auditKey = append([]byte(nil), key...)
}

func (db *DB) appendAudit(tx *sql.Tx, actor, action, object string) error {
	var seq int64
	var prev string
	err := db.txQueryRow(tx, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").Scan(&seq, &prev)
	if errors.Is(err, sql.ErrNoRows) {
		seq, prev = 0, auditGenesis
	} else if err != nil {
		return err
	}
	seq++
	actor = actorName(actor)
	tm := time.Now().UTC().Format(time.RFC3339)
	_, err = db.txExec(tx, "INSERT INTO audit (seq, time, actor, action, object, prev, hash) VALUES (?,?,?,?,?,?,?)",
		seq, tm, actor, action, object, prev, auditHash(db.auditKey, prev, tm, actor, action, object, seq))
	return err
}

// Audit appends one entry.
func (db *DB) Audit(ctx context.Context, actor, action, object string) error {
	return db.exec(ctx, func(tx *sql.Tx) error { return db.appendAudit(tx, actor, action, object) })
}

// AuditEntry is one line of the log.
type AuditEntry struct {
	Seq                         int64
	Time, Actor, Action, Object string
}

// VerifyAudit walks the chain. It returns how many entries it checked, or
// an error naming the first entry that does not match.
func (db *DB) VerifyAudit(ctx context.Context) (int, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT seq, time, actor, action, object, prev, hash FROM audit ORDER BY seq")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	prev := auditGenesis
	var want int64 = 1
	n := 0
	for rows.Next() {
		var seq int64
		var tm, actor, action, object, p, h string
		if err := rows.Scan(&seq, &tm, &actor, &action, &object, &p, &h); err != nil {
			return n, err
		}
		if seq != want {
			return n, fmt.Errorf("audit entry %d is missing", want)
		}
		if p != prev || !hmac.Equal([]byte(auditHash(db.auditKey, p, tm, actor, action, object, seq)), []byte(h)) {
			return n, fmt.Errorf("audit entry %d was changed", seq)
		}
		prev, want = h, want+1
		n++
	}
	return n, rows.Err()
}

// AuditEntries returns the log (for tests and the console).
func (db *DB) AuditEntries(ctx context.Context) ([]AuditEntry, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT seq, time, actor, action, object FROM audit ORDER BY seq")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		if err := rows.Scan(&e.Seq, &e.Time, &e.Actor, &e.Action, &e.Object); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// actorName keeps an actor label short and free of newlines.
func actorName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 32 {
			return -1
		}
		return r
	}, s)
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

// AuditMany appends one entry per object, in one commit.
func (db *DB) AuditMany(ctx context.Context, actor, action string, objects []string) error {
	if len(objects) == 0 {
		return nil
	}
	return db.exec(ctx, func(tx *sql.Tx) error {
		for _, o := range objects {
			if err := db.appendAudit(tx, actor, action, o); err != nil {
				return err
			}
		}
		return nil
	})
}
