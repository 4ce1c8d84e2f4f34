package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	_ "modernc.org/sqlite" // the driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the Corridor store.
type DB struct {
	path   string
	write  *sql.DB // one connection: the only writer
	read   *sql.DB
	ops    chan *op
	done   chan struct{}
	closed sync.Once
	mu     sync.RWMutex // guards ops against send-after-close
	shut   bool
	// stmts caches statements prepared on the writer's one connection, so
	// the writer does not parse the same SQL for every caller.
	stmtMu  sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool
	// auditKey keys the audit chain (SetAuditKey).
	auditKey []byte
}

type op struct {
	fn  func(*sql.Tx) error
	err chan error
}

// MaxBatch bounds how many callers share one commit.
const MaxBatch = 256

func dsn(path string, readonly bool) string {
	v := url.Values{}
	v.Add("_pragma", "busy_timeout(10000)")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "synchronous(FULL)")
	v.Add("_pragma", "secure_delete(ON)")
	v.Add("_pragma", "foreign_keys(ON)")
	if readonly {
		v.Add("_pragma", "query_only(ON)")
	} else {
		v.Set("_txlock", "immediate")
	}
	// As a URL, so that '#', '?' or '%' in a directory name stay part of
	// the path.
	u := url.URL{Scheme: "file", Opaque: (&url.URL{Path: path}).EscapedPath(), RawQuery: v.Encode()}
	return u.String()
}

// Open opens (creating if needed) the database at path and migrates it.
func Open(path string) (*DB, error) {
	// Create the file 0600 ourselves: SQLite gives its -wal and -shm files
	// the database file's permissions.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	}
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.Ping(); err != nil {
		w.Close()
		return nil, fmt.Errorf("cannot open the database: %w", err)
	}
	if err := migrate(w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(4)
	db := &DB{path: path, write: w, read: r, ops: make(chan *op, 4*MaxBatch), done: make(chan struct{})}
	go db.writer()
	return db, nil
}

// SchemaVersion is the number of the last migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.read.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	return v, err
}

func migrate(w *sql.DB) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	var have int
	if err := w.QueryRow("PRAGMA user_version").Scan(&have); err != nil {
		return err
	}
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		n, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s has no number", base)
		}
		if n <= have {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := w.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s failed: %w", base, err)
		}
		if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", n)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s failed: %w", base, err)
		}
	}
	return nil
}

// writer is the only goroutine that writes. It takes whatever is waiting
// (up to MaxBatch), runs each in its own savepoint inside one transaction,
// commits once, and then tells each caller its own result. One caller's
// failure (a duplicate, say) does not fail the others.
func (db *DB) writer() {
	defer close(db.done)
	batch := make([]*op, 0, MaxBatch)
	errs := make([]error, 0, MaxBatch)
	for first := range db.ops {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < MaxBatch {
			select {
			case o, ok := <-db.ops:
				if !ok {
					break drain
				}
				batch = append(batch, o)
			default:
				break drain
			}
		}
		errs = errs[:0]
		commitErr := func() error {
			tx, err := db.write.Begin()
			if err != nil {
				return err
			}
			for _, o := range batch {
				if _, err := tx.Exec("SAVEPOINT op"); err != nil {
					tx.Rollback()
					return err
				}
				oerr := o.fn(tx)
				if oerr != nil {
					if _, err := tx.Exec("ROLLBACK TO op"); err != nil {
						tx.Rollback()
						return err
					}
				}
				if _, err := tx.Exec("RELEASE op"); err != nil {
					tx.Rollback()
					return err
				}
				errs = append(errs, oerr)
			}
			return tx.Commit()
		}()
		for i, o := range batch {
			if commitErr != nil {
				o.err <- fmt.Errorf("commit failed: %w", commitErr)
			} else {
				o.err <- errs[i]
			}
		}
		db.prepare()
	}
}

// ErrClosed is returned for writes after Close.
var ErrClosed = errors.New("the store is closed")

// exec runs fn in the group-commit writer and waits until its transaction is
// durable (or failed).
func (db *DB) exec(ctx context.Context, fn func(*sql.Tx) error) error {
	o := &op{fn: fn, err: make(chan error, 1)}
	db.mu.RLock()
	if db.shut {
		db.mu.RUnlock()
		return ErrClosed
	}
	select {
	case db.ops <- o:
	case <-ctx.Done():
		db.mu.RUnlock()
		return ctx.Err()
	}
	db.mu.RUnlock()
	// Once queued, wait for the outcome even if ctx ends: the caller must not
	// acknowledge or deny something whose fate it does not know.
	return <-o.err
}

// Close finishes every queued write, then closes the files.
func (db *DB) Close() error {
	var err error
	db.closed.Do(func() {
		db.mu.Lock()
		db.shut = true
		close(db.ops)
		db.mu.Unlock()
		<-db.done
		db.read.Close()
		db.stmtMu.Lock()
		for _, st := range db.stmts {
			st.Close()
		}
		db.stmtMu.Unlock()
		if _, e := db.write.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); e != nil {
			err = e
		}
		if e := db.write.Close(); e != nil && err == nil {
			err = e
		}
	})
	return err
}

// Ping checks that the database answers and is writable.
func (db *DB) Ping(ctx context.Context) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec("SELECT 1")
		return err
	})
}

// IntegrityCheck runs PRAGMA integrity_check.
func (db *DB) IntegrityCheck(ctx context.Context) error {
	var s string
	if err := db.read.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&s); err != nil {
		return err
	}
	if s != "ok" {
		return errors.New("integrity check failed")
	}
	return nil
}

// Compact checkpoints the WAL and vacuums, so erased bytes leave the files.
func (db *DB) Compact(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return err
	}
	if _, err := db.write.ExecContext(ctx, "VACUUM"); err != nil {
		return err
	}
	_, err := db.write.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

// stmt returns the writer's prepared statement for query, or nil when it
// is not prepared yet: the writer's one connection is busy inside the
// transaction then, so the query is noted and prepared between batches.
func (db *DB) stmt(query string) *sql.Stmt {
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	if s, ok := db.stmts[query]; ok {
		return s
	}
	if db.pending == nil {
		db.pending = map[string]bool{}
	}
	db.pending[query] = true
	return nil
}

// prepare prepares the noted queries; the writer calls it between batches,
// when its connection is free.
func (db *DB) prepare() {
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	for q := range db.pending {
		if s, err := db.write.Prepare(q); err == nil {
			if db.stmts == nil {
				db.stmts = map[string]*sql.Stmt{}
			}
			db.stmts[q] = s
		}
		delete(db.pending, q)
	}
}

// txExec runs a statement inside the writer's transaction, prepared once.
func (db *DB) txExec(tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if s := db.stmt(query); s != nil {
		return tx.Stmt(s).Exec(args...)
	}
	return tx.Exec(query, args...)
}

// txQueryRow is txExec for a one-row query.
func (db *DB) txQueryRow(tx *sql.Tx, query string, args ...any) *sql.Row {
	if s := db.stmt(query); s != nil {
		return tx.Stmt(s).QueryRow(args...)
	}
	return tx.QueryRow(query, args...)
}

// column runs a read query returning one text column.
func (db *DB) column(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
