// Command corridor runs the Corridor testimony intake gateway and its
// operator and moderator tools. See the README and docs/ for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	disableCoreDumps()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin, Getenv: os.Getenv}
	os.Exit(m.Run(ctx, os.Args[1:]))
}

// Main holds what a command run needs, so tests run commands in process.
type Main struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
	Getenv         func(string) string
	// Log receives the server's log lines (default Stderr).
	Log io.Writer
	// Ready, if set, receives the listener's address once serving.
	Ready func(addr string)
}

// usageError is a command line mistake: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

const usage = `corridor: testimony intake gateway

  corridor demo [--data DIR] [--listen ADDR]
  corridor init [--data DIR] [--org NAME] [--key-type x25519|pq]
  corridor serve [--data DIR] [--listen ADDR] [--role all|edge|moderation]
  corridor keygen [-o FILE] [--pq]
  corridor desk add NAME
  corridor desk member add DESK --recipient R [--identity FILE]
  corridor desk member remove DESK --recipient R
  corridor desk rotate NAME
  corridor moderator add LOGIN --recipient R --desk DESK [--role moderator|lead|admin] [--password-file F]
  corridor report list --identity FILE [--desk D] [--state S] [--json]
  corridor report show ID --identity FILE [--json]
  corridor report tag ID CODE... --identity FILE
  corridor report state ID STATE --identity FILE
  corridor dossier create NAME --recipient R... [--body TEXT] [--country ISO3] [--publishable] [--word-limit N]
  corridor dossier add NAME REPORT_ID... --identity FILE
  corridor dossier export NAME --identity FILE --out FILE.age [--k 5]
  corridor dossier verify FILE.age --identity FILE [--signer ed25519:...]
  corridor audit verify
  corridor health [--url URL]

Every command takes --data DIR (default $CORRIDOR_DATA, else ./corridor-data).
`

// Run runs one command and returns the exit status.
func (m *Main) Run(ctx context.Context, args []string) int {
	if m.Getenv == nil {
		m.Getenv = os.Getenv
	}
	err := m.run(ctx, args)
	if err == nil {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(m.Stderr, "corridor: %s\n\n", ue.msg)
		}
		fmt.Fprint(m.Stderr, usage)
		return 2
	}
	fmt.Fprintf(m.Stderr, "corridor: %s\n", oneLine(err.Error()))
	return 1
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", "; ")
	return strings.TrimSuffix(s, ".") + "."
}

func (m *Main) run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "init":
		return m.cmdInit(ctx, rest)
	case "serve":
		return m.cmdServe(ctx, rest)
	case "demo":
		return m.cmdDemo(ctx, rest)
	case "keygen":
		return m.cmdKeygen(rest)
	case "desk":
		if len(rest) == 0 {
			return usagef("desk needs add, member add or rotate")
		}
		switch rest[0] {
		case "add":
			return m.cmdDeskAdd(ctx, rest[1:])
		case "rotate":
			return m.cmdDeskRotate(ctx, rest[1:])
		case "member":
			if len(rest) >= 2 && rest[1] == "remove" {
				return m.cmdDeskMemberRemove(ctx, rest[2:])
			}
			if len(rest) < 2 || rest[1] != "add" {
				return usagef("desk member needs add or remove")
			}
			return m.cmdDeskMemberAdd(ctx, rest[2:])
		}
		return usagef("unknown desk command %q", rest[0])
	case "moderator":
		if len(rest) == 0 || rest[0] != "add" {
			return usagef("moderator needs add")
		}
		return m.cmdModeratorAdd(ctx, rest[1:])
	case "report":
		if len(rest) == 0 {
			return usagef("report needs list or show")
		}
		switch rest[0] {
		case "list":
			return m.cmdReportList(ctx, rest[1:])
		case "show":
			return m.cmdReportShow(ctx, rest[1:])
		case "tag":
			return m.cmdReportTag(ctx, rest[1:])
		case "state":
			return m.cmdReportState(ctx, rest[1:])
		}
		return usagef("unknown report command %q", rest[0])
	case "dossier":
		return m.cmdDossier(ctx, rest)
	case "audit":
		if len(rest) == 0 || rest[0] != "verify" {
			return usagef("audit needs verify")
		}
		return m.cmdAuditVerify(ctx, rest[1:])
	case "health":
		return m.cmdHealth(rest)
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	}
	return usagef("unknown command %q", cmd)
}

// flags is a FlagSet that also accepts flags after positional arguments
// (corridor desk member add DESK --recipient R).
type flags struct {
	*flag.FlagSet
	data *string
}

func (m *Main) newFlags(name string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	def := m.Getenv("CORRIDOR_DATA")
	if def == "" {
		def = "./corridor-data"
	}
	return &flags{FlagSet: fs, data: fs.String("data", def, "data directory")}
}

func (f *flags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%s", err.Error())
		}
		args = f.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (f *flags) paths() paths { return paths{dir: *f.data} }

func (m *Main) logger() *slog.Logger {
	w := m.Log
	if w == nil {
		w = m.Stderr
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
