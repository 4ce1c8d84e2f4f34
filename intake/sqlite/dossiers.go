package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/corridor-gateway/corridor/intake"
)

// Dossier is a review dossier's settings.
type Dossier struct {
	Name        string
	Body        string
	Country     string
	Recipients  []string
	Publishable bool
	WordLimit   int
}

// DossierItem is one frozen report in a dossier.
type DossierItem struct {
	ReportID string
	DeskBlob []byte
	BodyBlob []byte
	SHA256   string
	AddedBy  string
	AddedAt  string
}

// CreateDossier adds a dossier; ErrExists when the name is taken.
func (db *DB) CreateDossier(ctx context.Context, d *Dossier, actor string) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		_, err := db.txExec(tx, "INSERT INTO dossiers (name, body, country, recipients, publishable, word_limit, created_day) VALUES (?,?,?,?,?,?,?)",
			d.Name, d.Body, d.Country, strings.Join(d.Recipients, "\n"), d.Publishable, d.WordLimit, time.Now().UTC().Format("2006-01-02"))
		if isUnique(err) {
			return ErrExists
		}
		if err != nil {
			return err
		}
		return db.appendAudit(tx, actor, "dossier.create", d.Name)
	})
}

// Dossier returns one dossier.
func (db *DB) Dossier(ctx context.Context, name string) (*Dossier, error) {
	var d Dossier
	var rcpts string
	err := db.read.QueryRowContext(ctx, "SELECT name, body, country, recipients, publishable, word_limit FROM dossiers WHERE name = ?", name).
		Scan(&d.Name, &d.Body, &d.Country, &rcpts, &d.Publishable, &d.WordLimit)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, intake.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	d.Recipients = strings.Split(rcpts, "\n")
	return &d, nil
}

// ForwardItem freezes a report into a dossier and moves it to forwarded, in
// one transaction, after check approves the report's current state; the
// custody record is the item row plus an audit entry.
func (db *DB) ForwardItem(ctx context.Context, dossier string, it *DossierItem, check func(state string) error) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		var state string
		if err := db.txQueryRow(tx, "SELECT state FROM reports WHERE id = ?", it.ReportID).Scan(&state); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return intake.ErrNotFound
			}
			return err
		}
		if err := check(state); err != nil {
			return err
		}
		if _, err := db.txExec(tx, "INSERT INTO dossier_items (dossier, report_id, desk_blob, body_blob, sha256, added_by, added_at) VALUES (?,?,?,?,?,?,?)",
			dossier, it.ReportID, it.DeskBlob, it.BodyBlob, it.SHA256, it.AddedBy, it.AddedAt); err != nil {
			if isUnique(err) {
				return ErrExists
			}
			return err
		}
		if _, err := db.txExec(tx, "UPDATE reports SET state = ? WHERE id = ?", intake.StateForwarded, it.ReportID); err != nil {
			return err
		}
		return db.appendAudit(tx, it.AddedBy, "dossier.add", dossier+" "+it.ReportID+" sha256:"+it.SHA256)
	})
}

// DossierItems streams a dossier's items in the order they were added.
func (db *DB) DossierItems(ctx context.Context, dossier string, fn func(*DossierItem) error) error {
	rows, err := db.read.QueryContext(ctx, "SELECT report_id, desk_blob, body_blob, sha256, added_by, added_at FROM dossier_items WHERE dossier = ? ORDER BY rowid", dossier)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var it DossierItem
		if err := rows.Scan(&it.ReportID, &it.DeskBlob, &it.BodyBlob, &it.SHA256, &it.AddedBy, &it.AddedAt); err != nil {
			return err
		}
		if err := fn(&it); err != nil {
			return err
		}
	}
	return rows.Err()
}

// DossierNames lists the dossiers.
func (db *DB) DossierNames(ctx context.Context) ([]string, error) {
	return db.column(ctx, "SELECT name FROM dossiers ORDER BY name")
}
