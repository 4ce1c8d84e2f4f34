package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/corridor-gateway/corridor/intake"
	"github.com/corridor-gateway/corridor/intake/sqlite"
	"github.com/corridor-gateway/corridor/moderation"
)

// reportJSON is the contract's report object.
type reportJSON struct {
	ID          string            `json:"id"`
	Channel     string            `json:"channel"`
	Language    string            `json:"language"`
	Desk        string            `json:"desk"`
	State       string            `json:"state"`
	Tags        []string          `json:"tags"`
	Received    string            `json:"received"`
	Testimony   string            `json:"testimony"`
	Answers     map[string]string `json:"answers"`
	Pseudonym   string            `json:"pseudonym"`
	Redactions  []string          `json:"redactions"`
	Consent     []string          `json:"consent"`
	Attachments int               `json:"attachments"`
}

func toJSON(r *moderation.Report, attachments int) reportJSON {
	tags := r.Meta.Tags
	if tags == nil {
		tags = []string{}
	}
	red := r.Copy.Redactions
	if red == nil {
		red = []string{}
	}
	return reportJSON{
		ID: r.Meta.ID, Channel: r.Meta.Channel, Language: r.Meta.Language, Desk: r.Meta.Desk,
		State: r.Meta.State, Tags: tags, Received: r.Meta.ReceivedDay + "T00:00:00Z",
		Testimony: r.Copy.Answers["testimony"], Answers: r.Copy.Answers, Pseudonym: r.Meta.Pseudonym,
		Redactions: red, Consent: r.Meta.Scopes, Attachments: attachments,
	}
}

func (m *Main) cmdReportList(ctx context.Context, args []string) error {
	f := m.newFlags("report list")
	idPath := f.String("identity", "", "your age identity file")
	desk := f.String("desk", "", "only this desk")
	state := f.String("state", "", "only this state")
	asJSON := f.Bool("json", false, "one JSON document on stdout")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("report list takes no arguments")
	}
	a, err := m.openAs(ctx, f, *idPath)
	if err != nil {
		return err
	}
	defer a.close()
	db, kr := a.db, a.kr
	reports, openErr := kr.List(ctx, db, intake.Filter{Desk: *desk, State: *state})
	var objs []string
	for _, r := range reports {
		objs = append(objs, r.Meta.ID)
	}
	if err := db.AuditMany(ctx, a.actor, "report.decrypt", objs); err != nil {
		return err
	}
	if *asJSON {
		out := []reportJSON{}
		for _, r := range reports {
			out = append(out, toJSON(r, 0))
		}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "%s\n", b)
	} else {
		if len(reports) == 0 {
			fmt.Fprintln(m.Stdout, "No reports.")
		}
		for _, r := range reports {
			printReport(m, r, 280)
		}
	}
	if openErr != nil {
		return openErr
	}
	return nil
}

func printReport(m *Main, r *moderation.Report, limit int) {
	fmt.Fprintf(m.Stdout, "%s  %s  %-8s %-5s desk=%s state=%s tags=%s\n", r.Meta.ID, r.Meta.ReceivedDay, r.Meta.Channel,
		r.Meta.Language, r.Meta.Desk, r.Meta.State, strings.Join(r.Meta.Tags, ","))
	t := r.Copy.Answers["testimony"]
	if limit > 0 && len([]rune(t)) > limit {
		t = string([]rune(t)[:limit]) + "…"
	}
	fmt.Fprintf(m.Stdout, "    %s\n", strings.ReplaceAll(t, "\n", "\n    "))
}

func (m *Main) cmdReportShow(ctx context.Context, args []string) error {
	f := m.newFlags("report show")
	idPath := f.String("identity", "", "your age identity file")
	asJSON := f.Bool("json", false, "one JSON document on stdout")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("report show needs one report ID")
	}
	a, err := m.openAs(ctx, f, *idPath)
	if err != nil {
		return err
	}
	defer a.close()
	db, kr := a.db, a.kr
	meta, err := db.Report(ctx, pos[0])
	if errors.Is(err, intake.ErrNotFound) {
		return fmt.Errorf("no report %s that you can read", pos[0])
	}
	if err != nil {
		return err
	}
	if _, ok := kr.Identity(meta.DeskKeyID); !ok {
		return fmt.Errorf("no report %s that you can read", pos[0])
	}
	r, err := kr.Open(ctx, db, meta, true)
	if err != nil {
		return err
	}
	if err := db.Audit(ctx, a.actor, "report.decrypt", meta.ID); err != nil {
		return err
	}
	if *asJSON {
		b, err := json.MarshalIndent(toJSON(r, len(r.Attachments)), "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "%s\n", b)
		return nil
	}
	printReport(m, r, 0)
	keys := make([]string, 0, len(r.Copy.Answers))
	for k := range r.Copy.Answers {
		if k != "testimony" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(m.Stdout, "    %s: %s\n", k, r.Copy.Answers[k])
	}
	for _, a := range r.Attachments {
		fmt.Fprintf(m.Stdout, "    attachment %d: %s, %d bytes (may carry EXIF/GPS metadata)\n", a.Seq, a.ContentType, len(a.Data))
	}
	return nil
}

func (m *Main) cmdAuditVerify(ctx context.Context, args []string) error {
	f := m.newFlags("audit verify")
	if _, err := f.parse(args); err != nil {
		return err
	}
	_, db, err := openStore(f.paths())
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Audit log intact: %d entries.\n", n)
	return nil
}

// access is a moderator's unlocked view of the store for one command.
type access struct {
	db    *sqlite.DB
	kr    *moderation.Keyring
	actor string
}

func (a *access) close() {
	a.kr.Forget()
	a.db.Close()
}

// readableReport unlocks the caller's desks and returns a report's metadata
// only if one of them can read it; otherwise it answers as if the report did
// not exist (no existence oracle).
func (m *Main) readableReport(ctx context.Context, f *flags, idPath, id string) (*access, intake.ReportMeta, error) {
	a, err := m.openAs(ctx, f, idPath)
	if err != nil {
		return nil, intake.ReportMeta{}, err
	}
	meta, err := a.db.Report(ctx, id)
	if err == nil {
		if _, ok := a.kr.Identity(meta.DeskKeyID); !ok {
			err = intake.ErrNotFound
		}
	}
	if err != nil {
		a.close()
		if errors.Is(err, intake.ErrNotFound) {
			return nil, meta, fmt.Errorf("no report %s that you can read", id)
		}
		return nil, meta, err
	}
	return a, meta, nil
}

// openAs loads the caller's identity, opens the store and unlocks the
// desks that identity is on.
func (m *Main) openAs(ctx context.Context, f *flags, idPath string) (*access, error) {
	ids, err := m.loadIdentity(idPath)
	if err != nil {
		return nil, err
	}
	_, db, err := openStore(f.paths())
	if err != nil {
		return nil, err
	}
	kr, err := moderation.Unlock(ctx, db, ids)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &access{db: db, kr: kr, actor: actorOf(ids)}, nil
}

func (m *Main) cmdReportTag(ctx context.Context, args []string) error {
	f := m.newFlags("report tag")
	idPath := f.String("identity", "", "your age identity file")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usagef("report tag needs a report ID and at least one taxonomy code")
	}
	if err := moderation.CheckTags(pos[1:]); err != nil {
		return err
	}
	a, meta, err := m.readableReport(ctx, f, *idPath, pos[0])
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.db.AddTags(ctx, meta.ID, pos[1:], a.actor); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Tagged %s: %s (GCM objectives %s).\n", meta.ID, strings.Join(pos[1:], ", "), strings.Join(moderation.GCMObjectives(pos[1:]), ", "))
	return nil
}

func (m *Main) cmdReportState(ctx context.Context, args []string) error {
	f := m.newFlags("report state")
	idPath := f.String("identity", "", "your age identity file")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("report state needs a report ID and a STATE")
	}
	if !slices.Contains(moderation.States, pos[1]) {
		return fmt.Errorf("%q is not a report state (one of %s)", pos[1], strings.Join(moderation.States, ", "))
	}
	a, meta, err := m.readableReport(ctx, f, *idPath, pos[0])
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.db.SetState(ctx, meta.ID, pos[1], a.actor, moderation.CheckTransition); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Report %s is now %s.\n", meta.ID, pos[1])
	return nil
}
