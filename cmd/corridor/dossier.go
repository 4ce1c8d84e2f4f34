package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/intake"
	"github.com/corridor-gateway/corridor/intake/sqlite"
	"github.com/corridor-gateway/corridor/moderation/dossier"
)

// Version names this build in every bundle.
const Version = "corridor 0.1"

func (p paths) signingKey() string { return filepath.Join(p.dir, "secrets", "signing.key") }

func (m *Main) cmdDossier(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("dossier needs create, add, export or verify")
	}
	switch args[0] {
	case "create":
		return m.cmdDossierCreate(ctx, args[1:])
	case "add":
		return m.cmdDossierAdd(ctx, args[1:])
	case "export":
		return m.cmdDossierExport(ctx, args[1:])
	case "verify":
		return m.cmdDossierVerify(args[1:])
	}
	return usagef("unknown dossier command %q", args[0])
}

func (m *Main) cmdDossierCreate(ctx context.Context, args []string) error {
	f := m.newFlags("dossier create")
	var rcpts stringList
	f.Var(&rcpts, "recipient", "the review body's age recipient (repeat for several)")
	body := f.String("body", "", "the review body, e.g. \"UN Committee on Migrant Workers\"")
	country := f.String("country", "", "the State the dossier is about (ISO 3166-1 alpha-3)")
	publishable := f.Bool("publishable", false, "the review body may publish it")
	words := f.Int("word-limit", 0, "most words a testimony may have (0: no limit)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || len(rcpts) == 0 {
		return usagef("dossier create needs NAME and at least one --recipient")
	}
	if !validName(pos[0]) {
		return errors.New("a dossier name is 1 to 40 lowercase letters, digits, - or _")
	}
	if _, err := crypto.NewKeySet(rcpts...); err != nil {
		return fmt.Errorf("the review body's recipients: %v", err)
	}
	c := strings.ToUpper(*country)
	if c != "" {
		if iso3, ok := intake.CountryISO3(c); !ok || iso3 != c {
			return fmt.Errorf("--country %q is not an ISO 3166-1 alpha-3 code", *country)
		}
	}
	_, db, err := openStore(f.paths())
	if err != nil {
		return err
	}
	defer db.Close()
	err = db.CreateDossier(ctx, &sqlite.Dossier{Name: pos[0], Body: *body, Country: c, Recipients: rcpts, Publishable: *publishable, WordLimit: *words}, "cli")
	if errors.Is(err, sqlite.ErrExists) {
		return fmt.Errorf("a dossier named %s exists", pos[0])
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Dossier %s created for %s.\n", pos[0], orNone(*body))
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "its review body"
	}
	return s
}

func (m *Main) cmdDossierAdd(ctx context.Context, args []string) error {
	f := m.newFlags("dossier add")
	idPath := f.String("identity", "", "your age identity file")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usagef("dossier add needs NAME and at least one REPORT_ID")
	}
	a, d, err := m.openDossier(ctx, f, *idPath, pos[0])
	if err != nil {
		return err
	}
	defer a.close()
	db, kr := a.db, a.kr
	for _, id := range pos[1:] {
		hash, err := dossier.Forward(ctx, db, kr, d, id, a.actor)
		if errors.Is(err, intake.ErrNotFound) {
			return fmt.Errorf("no report %s that you can read", id)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "Forwarded %s into %s (sha256 %s).\n", id, d.Name, hash)
	}
	return nil
}

// openDossier acts as the identity's moderator on a named dossier.
func (m *Main) openDossier(ctx context.Context, f *flags, idPath, name string) (*access, *sqlite.Dossier, error) {
	a, err := m.openAs(ctx, f, idPath)
	if err != nil {
		return nil, nil, err
	}
	d, err := a.db.Dossier(ctx, name)
	if err != nil {
		a.close()
		if errors.Is(err, intake.ErrNotFound) {
			return nil, nil, fmt.Errorf("there is no dossier named %s", name)
		}
		return nil, nil, err
	}
	return a, d, nil
}

func (m *Main) cmdDossierExport(ctx context.Context, args []string) error {
	f := m.newFlags("dossier export")
	idPath := f.String("identity", "", "your age identity file")
	out := f.String("out", "", "the bundle to write (FILE.age)")
	k := f.Int("k", 5, "suppress place cells with fewer reports than this")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *out == "" {
		return usagef("dossier export needs NAME and --out FILE.age")
	}
	a, d, err := m.openDossier(ctx, f, *idPath, pos[0])
	if err != nil {
		return err
	}
	defer a.close()
	db, kr := a.db, a.kr
	signer, _, err := crypto.LoadOrCreateSigningKey(f.paths().signingKey())
	if err != nil {
		return err
	}
	var deskIDs []*crypto.Identity
	for _, kid := range kr.KeyIDs() {
		id, _ := kr.Identity(kid)
		deskIDs = append(deskIDs, id)
	}
	tmp := *out + ".partial"
	file, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("cannot create %s", tmp)
	}
	st, err := dossier.Export(ctx, dossier.ExportOptions{DB: db, Dossier: d, Identities: crypto.AgeIdentities(deskIDs), Signer: signer,
		K: *k, Generator: Version, TempDir: filepath.Dir(*out)}, file)
	if err == nil {
		err = file.Sync()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, *out); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := db.Audit(ctx, a.actor, "dossier.export", fmt.Sprintf("%s %d reports", d.Name, st.Reports)); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Exported %d reports (%d attachments) to %s, signed with %s.\n", st.Reports, st.Attachments, *out, signer.PublicText())
	return nil
}

func (m *Main) cmdDossierVerify(args []string) error {
	f := m.newFlags("dossier verify")
	idPath := f.String("identity", "", "the review body's age identity file")
	signer := f.String("signer", "", "the organisation's public signing key (ed25519:...), if you have it")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("dossier verify needs FILE.age")
	}
	ids, err := m.loadIdentity(*idPath)
	if err != nil {
		return err
	}
	file, err := os.Open(pos[0])
	if err != nil {
		return fmt.Errorf("cannot open %s", pos[0])
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return err
	}
	v, err := dossier.Verify(file, st.Size(), crypto.AgeIdentities(ids), *signer)
	if err != nil {
		return err
	}
	mf := v.Manifest
	fmt.Fprintf(m.Stdout, "Dossier %s for %s (State %s): %d reports, %d files; every hash matches and the signature verifies.\n",
		mf.Dossier, orNone(mf.Body), orDash(mf.Country), len(mf.Reports), v.Files)
	fmt.Fprintf(m.Stdout, "Signed by %s on %s (%s, taxonomy %s).\n", mf.SigningKey, mf.Generated, mf.Generator, mf.TaxonomyVersion)
	if *signer == "" {
		fmt.Fprintln(m.Stdout, "Compare that signing key with the one the organisation gave you (or pass --signer).")
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
