package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/intake"
	"github.com/corridor-gateway/corridor/moderation"
)

func (m *Main) cmdDemo(ctx context.Context, args []string) error {
	f := m.newFlags("demo")
	f.Set("data", "./corridor-demo")
	listen := f.String("listen", "127.0.0.1:8080", "address to listen on")
	if _, err := f.parse(args); err != nil {
		return err
	}
	p := f.paths()
	if _, err := os.Stat(p.config()); err != nil {
		if _, err := initDeployment(ctx, p, "Corridor demo", "x25519"); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "Created a demo deployment in %s\n", p.dir)
	}
	modPath := filepath.Join(p.dir, "demo-moderator-identity.txt")
	if _, err := os.Stat(modPath); err != nil {
		if err := addDemoModerator(ctx, p, modPath); err != nil {
			return err
		}
	}
	ids, err := crypto.LoadIdentities(modPath, nil)
	if err != nil {
		return err
	}
	consolePath := filepath.Join(p.dir, "demo-console-password.txt")
	if _, err := os.Stat(consolePath); err != nil {
		password := crypto.Token(10)
		if err := writeNewFile(consolePath, []byte(password+"\n"), 0o600); err != nil {
			return err
		}
		var out strings.Builder
		sub := &Main{Stdout: &out, Stderr: m.Stderr, Getenv: m.Getenv}
		if err := sub.cmdModeratorAdd(ctx, []string{"demo", "--recipient", ids[0].Recipient, "--desk", "default", "--role", "lead",
			"--password-file", consolePath, "--data", p.dir}); err != nil {
			return err
		}
	}
	consolePW, err := os.ReadFile(consolePath)
	if err != nil {
		return err
	}
	host := *listen
	if strings.HasPrefix(host, ":") {
		host = "127.0.0.1" + host
	}
	m.Ready = func(addr string) {
		fmt.Fprintf(m.Stdout, `
Corridor demo is running (stop it with Ctrl-C).

  Web form (kiosk):   http://%[1]s/report
  In Arabic (RTL):    http://%[1]s/report?lang=ar
  Health, metrics:    http://%[1]s/healthz   http://%[1]s/metrics

Demo moderator (reads desk "default"):
  identity file:      %[2]s
  public key:         %[3]s
  read the reports:   go run ./cmd/corridor report list --data %[4]s --identity %[2]s
  console:            http://%[1]s/moderate/   login demo, password %[5]s
                      (the first sign-in shows a QR code for your authenticator app;
                      then unlock with the identity file above)

This is a demo: every key is in %[4]s. Never use it for real testimony.
`, addr, modPath, ids[0].Recipient, p.dir, strings.TrimSpace(string(consolePW)))
	}
	return m.serve(ctx, p, *listen, "all")
}

func addDemoModerator(ctx context.Context, p paths, modPath string) error {
	id, err := crypto.Generate(crypto.X25519)
	if err != nil {
		return err
	}
	db, err := openDB(p)
	if err != nil {
		return err
	}
	defer db.Close()
	cust, err := crypto.LoadIdentities(p.custodian(), nil)
	if err != nil {
		return err
	}
	wraps, err := moderation.WrapFor(ctx, db, intake.DefaultDesk, cust, id.Recipient)
	if err != nil {
		return err
	}
	if err := db.AddWraps(ctx, id.Recipient, wraps, "demo"); err != nil {
		return err
	}
	return writeNewFile(modPath, []byte(crypto.IdentityFileText(id, time.Now().UTC().Format(time.RFC3339), "Corridor DEMO moderator identity (desk default).")), 0o600)
}
