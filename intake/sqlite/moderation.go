package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/corridor-gateway/corridor/intake"
)

// Account is a console account.
type Account struct {
	Login        string
	Role         string
	Recipient    string
	Desks        []string
	PassHash     string
	TOTPSealed   []byte
	TOTPEnrolled bool
	Disabled     bool
}

// AddAccount creates an account; ErrExists if the login is taken.
func (db *DB) AddAccount(ctx context.Context, a *Account, actor string) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		_, err := db.txExec(tx, `INSERT INTO accounts (login, role, recipient, desks, pass_hash, totp_sealed, created_day) VALUES (?,?,?,?,?,?,?)`,
			a.Login, a.Role, a.Recipient, strings.Join(a.Desks, ","), a.PassHash, a.TOTPSealed, time.Now().UTC().Format("2006-01-02"))
		if isUnique(err) {
			return ErrExists
		}
		if err != nil {
			return err
		}
		return db.appendAudit(tx, actor, "account.add", a.Login+" "+a.Role)
	})
}

// Account returns one account.
func (db *DB) Account(ctx context.Context, login string) (*Account, error) {
	var a Account
	var desks string
	err := db.read.QueryRowContext(ctx, "SELECT login, role, recipient, desks, pass_hash, totp_sealed, totp_enrolled, disabled FROM accounts WHERE login = ?", login).
		Scan(&a.Login, &a.Role, &a.Recipient, &desks, &a.PassHash, &a.TOTPSealed, &a.TOTPEnrolled, &a.Disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, intake.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if desks != "" {
		a.Desks = strings.Split(desks, ",")
	}
	return &a, nil
}

// SetTOTPEnrolled records that the account confirmed its TOTP enrolment.
func (db *DB) SetTOTPEnrolled(ctx context.Context, login string) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		_, err := db.txExec(tx, "UPDATE accounts SET totp_enrolled = 1 WHERE login = ?", login)
		return err
	})
}

// SetDisabled disables or enables an account.
func (db *DB) SetDisabled(ctx context.Context, login string, disabled bool, actor string) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		res, err := db.txExec(tx, "UPDATE accounts SET disabled = ? WHERE login = ?", disabled, login)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return intake.ErrNotFound
		}
		action := "account.enable"
		if disabled {
			action = "account.disable"
		}
		return db.appendAudit(tx, actor, action, login)
	})
}

// AddVersion appends a new anonymised version of a report (a sealed entry
// of kind "version", at seq) with its derivation record, and audits it.
// intake.ErrConflict means seq was taken meanwhile: seal again for the next.
func (db *DB) AddVersion(ctx context.Context, reportID string, seq int, blob []byte, parent, child, actor string) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		if _, err := db.txExec(tx, "INSERT INTO entries (report_id, seq, kind, desk) VALUES (?,?,?,?)", reportID, seq, "version", blob); err != nil {
			if isUnique(err) {
				return intake.ErrConflict
			}
			return err
		}
		if _, err := db.txExec(tx, "INSERT INTO derivations (report_id, seq, parent_sha256, child_sha256, actor, time) VALUES (?,?,?,?,?,?)",
			reportID, seq, parent, child, actor, time.Now().UTC().Format(time.RFC3339)); err != nil {
			return err
		}
		return db.appendAudit(tx, actor, "report.redact", reportID+" "+parent[:12]+" -> "+child[:12])
	})
}

// NextSeq returns the next entry number of a report.
func (db *DB) NextSeq(ctx context.Context, reportID string) (int, error) {
	var last sql.NullInt64
	if err := db.read.QueryRowContext(ctx, "SELECT max(seq) FROM entries WHERE report_id = ?", reportID).Scan(&last); err != nil {
		return 0, err
	}
	if !last.Valid {
		return 0, intake.ErrNotFound
	}
	return int(last.Int64) + 1, nil
}

// AddSealedEntry appends a sealed entry (a note, facets) at seq and audits
// it; ErrConflict-like unique errors mean someone else wrote first.
func (db *DB) AddSealedEntry(ctx context.Context, reportID string, seq int, kind string, blob []byte, actor, action string) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		if _, err := db.txExec(tx, "INSERT INTO entries (report_id, seq, kind, desk) VALUES (?,?,?,?)", reportID, seq, kind, blob); err != nil {
			if isUnique(err) {
				return intake.ErrConflict
			}
			return err
		}
		return db.appendAudit(tx, actor, action, reportID)
	})
}

// Assign sets who works on a report.
func (db *DB) Assign(ctx context.Context, reportID, login, actor string) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		res, err := db.txExec(tx, "UPDATE reports SET assignee = ? WHERE id = ?", login, reportID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return intake.ErrNotFound
		}
		return db.appendAudit(tx, actor, "report.assign", reportID+" "+login)
	})
}
