package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/intake/sqlite"
	"github.com/corridor-gateway/corridor/moderation"
)

func (m *Main) cmdModeratorAdd(ctx context.Context, args []string) error {
	f := m.newFlags("moderator add")
	rcpt := f.String("recipient", "", "the moderator's own age recipient")
	var desks stringList
	f.Var(&desks, "desk", "a desk they work on (repeat for several)")
	role := f.String("role", moderation.RoleModerator, "moderator, lead or admin")
	pwFile := f.String("password-file", "", "a file holding the password (else one is generated and printed once)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *rcpt == "" || (len(desks) == 0 && *role != moderation.RoleAdmin) {
		return usagef("moderator add needs LOGIN, --recipient R and --desk D")
	}
	login := pos[0]
	if !validName(login) {
		return errors.New("a login is 1 to 40 lowercase letters, digits, - or _")
	}
	switch *role {
	case moderation.RoleModerator, moderation.RoleLead, moderation.RoleAdmin:
	default:
		return fmt.Errorf("--role must be moderator, lead or admin")
	}
	if _, err := crypto.RecipientType(*rcpt); err != nil {
		return err
	}
	_, db, err := openStore(f.paths())
	if err != nil {
		return err
	}
	defer db.Close()
	for _, d := range desks {
		if ok, err := db.DeskExists(ctx, d); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("there is no desk named %s", d)
		}
	}
	password, generated := "", false
	if *pwFile != "" {
		b, err := os.ReadFile(*pwFile)
		if err != nil {
			return fmt.Errorf("cannot read the password file %s", *pwFile)
		}
		password = strings.TrimRight(string(b), "\r\n")
	} else {
		password, generated = crypto.Token(15), true
	}
	hash, err := moderation.HashPassword(password)
	if err != nil {
		return err
	}
	key, err := moderation.NewTOTP("Corridor", login)
	if err != nil {
		return err
	}
	sec, err := crypto.LoadSecret(f.paths().secret())
	if err != nil {
		return err
	}
	sealed, err := sec.SealValue("totp:"+login, []byte(key.Secret()))
	if err != nil {
		return err
	}
	err = db.AddAccount(ctx, &sqlite.Account{Login: login, Role: *role, Recipient: strings.TrimSpace(*rcpt), Desks: desks,
		PassHash: hash, TOTPSealed: sealed}, "cli")
	if errors.Is(err, sqlite.ErrExists) {
		return fmt.Errorf("the login %s is taken", login)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Account %s (%s) created.\n", login, *role)
	if generated {
		fmt.Fprintf(m.Stdout, "Password (shown once): %s\n", password)
	}
	fmt.Fprintf(m.Stdout, "TOTP enrolment (shown once; the console also shows it as a QR code at first login):\n%s\n", key.URL())
	fmt.Fprintf(m.Stdout, "Their desk keys are wrapped with: corridor desk member add DESK --recipient %s\n", strings.TrimSpace(*rcpt))
	return nil
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
