package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/intake"
	"github.com/corridor-gateway/corridor/intake/sqlite"
	"github.com/corridor-gateway/corridor/moderation"
)

func writeNewFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s already exists; it is never overwritten", path)
	}
	if err != nil {
		return fmt.Errorf("cannot create %s", path)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

const custodianComment = `Corridor CUSTODIAN identity. It opens the raw original of every report.
Move this file OFFLINE (an encrypted USB stick in a safe) once the first desk
members are added; corridor serve warns while it is here.`

func (m *Main) cmdInit(ctx context.Context, args []string) error {
	f := m.newFlags("init")
	org := f.String("org", "", "organisation name shown in the consent text")
	kt := f.String("key-type", "x25519", "x25519 or pq")
	if _, err := f.parse(args); err != nil {
		return err
	}
	res, err := initDeployment(ctx, f.paths(), *org, *kt)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Created a Corridor deployment in %s\n", f.paths().dir)
	fmt.Fprintf(m.Stdout, "  custodian public key: %s\n", res)
	fmt.Fprintf(m.Stdout, "  custodian identity:   %s\n", f.paths().custodian())
	if sk, _, err := crypto.LoadOrCreateSigningKey(f.paths().signingKey()); err == nil {
		fmt.Fprintf(m.Stdout, "  dossier signing key:  %s (give it to review bodies)\n", sk.PublicText())
	}
	fmt.Fprintf(m.Stdout, "Add desk members now (corridor desk member add default --recipient age1...),\nthen move the custodian identity file offline.\n")
	return nil
}

// initDeployment creates a new deployment; it never overwrites anything.
func initDeployment(ctx context.Context, p paths, org, keyType string) (string, error) {
	kt, err := crypto.ParseKeyType(keyType)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p.config()); err == nil {
		return "", fmt.Errorf("%s already holds a Corridor deployment; init never overwrites", p.dir)
	}
	if err := os.MkdirAll(filepath.Join(p.dir, "secrets"), 0o700); err != nil {
		return "", fmt.Errorf("cannot create %s", p.dir)
	}
	os.Chmod(p.dir, 0o700)
	cust, err := crypto.Generate(kt)
	if err != nil {
		return "", err
	}
	now := time.Now().UTC().Format(time.RFC3339)
	if err := writeNewFile(p.custodian(), []byte(crypto.IdentityFileText(cust, now, custodianComment)), 0o600); err != nil {
		return "", err
	}
	sec, err := crypto.NewSecret()
	if err != nil {
		return "", err
	}
	if err := sec.WriteFile(p.secret()); err != nil {
		return "", fmt.Errorf("cannot create the secret file: %v", err)
	}
	if _, _, err := crypto.LoadOrCreateSigningKey(p.signingKey()); err != nil {
		return "", err
	}
	if org == "" {
		org = "the organisation that runs this service"
	}
	cfg := fmt.Sprintf(defaultConfig, org, string(kt), cust.Recipient)
	if err := writeNewFile(p.config(), []byte(cfg), 0o600); err != nil {
		return "", err
	}
	db, err := openDB(p)
	if err != nil {
		return "", err
	}
	defer db.Close()
	keyID, rcpt, wraps, err := moderation.NewDeskKey(kt, []string{cust.Recipient})
	if err != nil {
		return "", err
	}
	if err := db.AddDesk(ctx, intake.DefaultDesk, keyID, rcpt, wraps, "init"); err != nil {
		return "", err
	}
	return cust.Recipient, nil
}

func (m *Main) cmdKeygen(args []string) error {
	f := m.newFlags("keygen")
	out := f.String("o", "", "write the identity to this file")
	pq := f.Bool("pq", false, "make a hybrid post-quantum identity")
	if _, err := f.parse(args); err != nil {
		return err
	}
	kt := crypto.X25519
	if *pq {
		kt = crypto.PostQuantum
	}
	id, err := crypto.Generate(kt)
	if err != nil {
		return err
	}
	text := crypto.IdentityFileText(id, time.Now().UTC().Format(time.RFC3339), "")
	if *out == "" {
		fmt.Fprint(m.Stdout, text)
		fmt.Fprintf(m.Stderr, "Public key: %s\n", id.Recipient)
		return nil
	}
	if err := writeNewFile(*out, []byte(text), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "%s\n", id.Recipient)
	return nil
}

// passphrase asks for an identity file's passphrase: CORRIDOR_PASSPHRASE,
// else the terminal.
func (m *Main) passphrase() crypto.Passphrase {
	return func() (string, error) {
		if p := m.Getenv("CORRIDOR_PASSPHRASE"); p != "" {
			return p, nil
		}
		tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
		if err != nil {
			return "", errors.New("the identity file is passphrase-protected: set CORRIDOR_PASSPHRASE")
		}
		defer tty.Close()
		fmt.Fprint(tty, "Passphrase for the identity file: ")
		b, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(tty)
		if err != nil {
			return "", errors.New("could not read the passphrase")
		}
		return string(b), nil
	}
}

func (m *Main) loadIdentity(path string) ([]*crypto.Identity, error) {
	if path == "" {
		return nil, usagef("--identity FILE is required")
	}
	return crypto.LoadIdentities(path, m.passphrase())
}

func openStore(p paths) (*Config, *sqlite.DB, error) {
	cfg, err := loadConfig(p)
	if err != nil {
		return nil, nil, err
	}
	db, err := openDB(p)
	if err != nil {
		return nil, nil, err
	}
	return cfg, db, nil
}

// openDB opens the database with the audit chain keyed by the deployment's
// secret.
func openDB(p paths) (*sqlite.DB, error) {
	sec, err := crypto.LoadSecret(p.secret())
	if err != nil {
		return nil, err
	}
	db, err := sqlite.Open(p.db())
	if err != nil {
		return nil, err
	}
	db.SetAuditKey(sec.AuditKey())
	return db, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func (m *Main) cmdDeskAdd(ctx context.Context, args []string) error {
	f := m.newFlags("desk add")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("desk add needs one NAME")
	}
	name := pos[0]
	if !validName(name) {
		return fmt.Errorf("a desk name is 1 to 40 lowercase letters, digits, - or _")
	}
	cfg, db, err := openStore(f.paths())
	if err != nil {
		return err
	}
	defer db.Close()
	cust, err := cfg.custodianKeys()
	if err != nil {
		return err
	}
	keyID, rcpt, wraps, err := moderation.NewDeskKey(cust.Type, cust.Strings)
	if err != nil {
		return err
	}
	if err := db.AddDesk(ctx, name, keyID, rcpt, wraps, "cli"); err != nil {
		if errors.Is(err, sqlite.ErrExists) {
			return fmt.Errorf("desk %s already exists", name)
		}
		return err
	}
	fmt.Fprintf(m.Stdout, "Desk %s created; add members with: corridor desk member add %s --recipient age1...\n", name, name)
	return nil
}

func (m *Main) cmdDeskMemberAdd(ctx context.Context, args []string) error {
	f := m.newFlags("desk member add")
	rcpt := f.String("recipient", "", "the new member's age recipient")
	idPath := f.String("identity", "", "an identity that can open the desk key (default: the custodian identity in the data dir)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *rcpt == "" {
		return usagef("desk member add needs DESK and --recipient R")
	}
	desk := pos[0]
	cfg, db, err := openStore(f.paths())
	if err != nil {
		return err
	}
	defer db.Close()
	cust, err := cfg.custodianKeys()
	if err != nil {
		return err
	}
	t, err := crypto.RecipientType(*rcpt)
	if err != nil {
		return err
	}
	if t != cust.Type {
		return fmt.Errorf("the recipient is a %s key but this deployment uses %s keys", t, cust.Type)
	}
	if ok, err := db.DeskExists(ctx, desk); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("there is no desk named %s", desk)
	}
	path := *idPath
	if path == "" {
		path = f.paths().custodian()
		if _, err := os.Stat(path); err != nil {
			return errors.New("the custodian identity is not in the data dir (moved offline?): give --identity FILE of the custodian or a desk member")
		}
	}
	ids, err := m.loadIdentity(path)
	if err != nil {
		return err
	}
	wraps, err := moderation.WrapFor(ctx, db, desk, ids, strings.TrimSpace(*rcpt))
	if err != nil {
		return err
	}
	if err := db.AddWraps(ctx, strings.TrimSpace(*rcpt), wraps, actorOf(ids)); err != nil {
		if errors.Is(err, sqlite.ErrExists) {
			return fmt.Errorf("that recipient is already a member of desk %s", desk)
		}
		return err
	}
	fmt.Fprintf(m.Stdout, "Added the member to desk %s (%d key(s)).\n", desk, len(wraps))
	return nil
}

func (m *Main) cmdDeskRotate(ctx context.Context, args []string) error {
	f := m.newFlags("desk rotate")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("desk rotate needs one NAME")
	}
	cfg, db, err := openStore(f.paths())
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := rotateDesk(ctx, cfg, db, pos[0], "cli")
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Desk %s has a new key for future reports, wrapped to %d member(s).\n", pos[0], n)
	return nil
}

// rotateDesk gives a desk a new key, wrapped to the custodian and to every
// current member of its active key; reports that arrive later are sealed to
// it, so someone no longer a member cannot read them.
func rotateDesk(ctx context.Context, cfg *Config, db *sqlite.DB, desk, actor string) (int, error) {
	cust, err := cfg.custodianKeys()
	if err != nil {
		return 0, err
	}
	ws, err := db.Wraps(ctx, desk)
	if err != nil {
		return 0, err
	}
	keys, err := db.DeskKeys(ctx, desk)
	if err != nil {
		return 0, err
	}
	active := ""
	for _, k := range keys {
		if k.Active {
			active = k.ID
		}
	}
	if active == "" {
		return 0, fmt.Errorf("there is no desk named %s", desk)
	}
	members := map[string]bool{cust.Strings[0]: true}
	for _, w := range ws {
		if w.KeyID == active {
			members[w.Member] = true
		}
	}
	var list []string
	for r := range members {
		list = append(list, r)
	}
	keyID, rcpt, wraps, err := moderation.NewDeskKey(cust.Type, list)
	if err != nil {
		return 0, err
	}
	if err := db.RotateDesk(ctx, desk, keyID, rcpt, wraps, actor); err != nil {
		return 0, err
	}
	return len(list), nil
}

func (m *Main) cmdDeskMemberRemove(ctx context.Context, args []string) error {
	f := m.newFlags("desk member remove")
	rcpt := f.String("recipient", "", "the member's age recipient")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *rcpt == "" {
		return usagef("desk member remove needs DESK and --recipient R")
	}
	cfg, db, err := openStore(f.paths())
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.RemoveMember(ctx, pos[0], strings.TrimSpace(*rcpt), "cli")
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("that recipient is not a member of desk %s", pos[0])
	}
	if _, err := rotateDesk(ctx, cfg, db, pos[0], "cli"); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Removed the member from desk %s and rotated its key: what arrives from now on is closed to them.\n", pos[0])
	return nil
}

// actorOf names who acts in the audit log: the public key, never a secret.
func actorOf(ids []*crypto.Identity) string {
	if len(ids) == 0 {
		return "unknown"
	}
	r := ids[0].Recipient
	if len(r) > 24 {
		r = r[:24] + "…"
	}
	return "key:" + r
}
