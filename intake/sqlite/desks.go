package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/corridor-gateway/corridor/intake"
)

// ErrExists is returned when a desk or member is already there.
var ErrExists = errors.New("already exists")

// AddDesk creates a desk with its first key and that key's wraps
// (member recipient -> wrapped identity).
func (db *DB) AddDesk(ctx context.Context, name, keyID, recipient string, wraps map[string][]byte, actor string) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		day := time.Now().UTC().Format("2006-01-02")
		if _, err := db.txExec(tx, "INSERT INTO desks (name, created_day) VALUES (?,?)", name, day); err != nil {
			if isUnique(err) {
				return ErrExists
			}
			return err
		}
		if err := db.insertKey(tx, name, keyID, recipient, wraps, day); err != nil {
			return err
		}
		return db.appendAudit(tx, actor, "desk.add", name+" key "+keyID)
	})
}

func (db *DB) insertKey(tx *sql.Tx, desk, keyID, recipient string, wraps map[string][]byte, day string) error {
	if _, err := db.txExec(tx, "INSERT INTO desk_keys (id, desk, recipient, active, created_day) VALUES (?,?,?,1,?)", keyID, desk, recipient, day); err != nil {
		return err
	}
	for m, w := range wraps {
		if _, err := db.txExec(tx, "INSERT INTO desk_key_wraps (key_id, member, wrapped) VALUES (?,?,?)", keyID, m, w); err != nil {
			return err
		}
	}
	return nil
}

// RotateDesk retires the desk's active key and makes keyID the new one.
func (db *DB) RotateDesk(ctx context.Context, desk, keyID, recipient string, wraps map[string][]byte, actor string) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		res, err := db.txExec(tx, "UPDATE desk_keys SET active = 0 WHERE desk = ? AND active = 1", desk)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return intake.ErrNotFound
		}
		if err := db.insertKey(tx, desk, keyID, recipient, wraps, time.Now().UTC().Format("2006-01-02")); err != nil {
			return err
		}
		return db.appendAudit(tx, actor, "desk.rotate", desk+" key "+keyID)
	})
}

// AddWraps adds members to desk keys (key id -> wrapped identity).
func (db *DB) AddWraps(ctx context.Context, member string, wraps map[string][]byte, actor string) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		for keyID, w := range wraps {
			if _, err := db.txExec(tx, "INSERT INTO desk_key_wraps (key_id, member, wrapped) VALUES (?,?,?)", keyID, member, w); err != nil {
				if isUnique(err) {
					return ErrExists
				}
				return err
			}
			if err := db.appendAudit(tx, actor, "desk.member.add", "key "+keyID); err != nil {
				return err
			}
		}
		return nil
	})
}

// ActiveDesks implements intake.Store.
func (db *DB) ActiveDesks(ctx context.Context) ([]intake.Desk, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT desk, id, recipient FROM desk_keys WHERE active = 1 ORDER BY desk")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []intake.Desk
	for rows.Next() {
		var d intake.Desk
		if err := rows.Scan(&d.Name, &d.KeyID, &d.Recipient); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeskKeys lists the keys of desk ("" for all desks).
func (db *DB) DeskKeys(ctx context.Context, desk string) ([]intake.DeskKey, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT id, desk, recipient, active FROM desk_keys WHERE ? = '' OR desk = ? ORDER BY desk, rowid", desk, desk)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []intake.DeskKey
	for rows.Next() {
		var k intake.DeskKey
		if err := rows.Scan(&k.ID, &k.Desk, &k.Recipient, &k.Active); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// Wraps lists every wrapped desk identity (optionally of one desk).
func (db *DB) Wraps(ctx context.Context, desk string) ([]intake.Wrap, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT w.key_id, k.desk, w.member, w.wrapped FROM desk_key_wraps w
		JOIN desk_keys k ON k.id = w.key_id WHERE ? = '' OR k.desk = ? ORDER BY k.desk, k.rowid`, desk, desk)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []intake.Wrap
	for rows.Next() {
		var w intake.Wrap
		if err := rows.Scan(&w.KeyID, &w.Desk, &w.Member, &w.Wrapped); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// DeskExists reports whether a desk of that name exists.
func (db *DB) DeskExists(ctx context.Context, name string) (bool, error) {
	var n int
	err := db.read.QueryRowContext(ctx, "SELECT count(*) FROM desks WHERE name = ?", name).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("desk lookup: %w", err)
	}
	return n > 0, nil
}

// RemoveMember deletes a member's wrapped copies of every key of a desk.
// It returns how many it deleted. Rotate the desk afterwards.
func (db *DB) RemoveMember(ctx context.Context, desk, member, actor string) (int, error) {
	var n int64
	err := db.exec(ctx, func(tx *sql.Tx) error {
		res, err := db.txExec(tx, "DELETE FROM desk_key_wraps WHERE member = ? AND key_id IN (SELECT id FROM desk_keys WHERE desk = ?)", member, desk)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		if n == 0 {
			return nil
		}
		return db.appendAudit(tx, actor, "desk.member.remove", desk)
	})
	return int(n), err
}
