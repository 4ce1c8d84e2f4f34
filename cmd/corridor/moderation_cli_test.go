package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// Issue 6 from the CLI: tag with taxonomy codes, move through triage; codes
// outside the taxonomy and illegal moves are refused and change nothing; a
// key that is on no desk sees no report.
func TestReportTagAndStateFromTheCLI(t *testing.T) {
	d := newDeployment(t, deployOpts{})
	c := d.client()
	d.receipt(c, d.post(c, map[string]string{"token": d.formToken(c, "en"), "consent.read": "yes", "consent.share": "yes",
		"testimony": "They took my passport at the farm.", "topic": "EXPL"}, nil))
	id := d.listJSON(d.modKey)[0].ID
	run := func(args ...string) (string, string, int) {
		return d.run(append(args, "--data", d.dir, "--identity", d.modKey)...)
	}
	if _, stderr, code := run("report", "tag", id, "EXPL.NOT_A_CODE"); code != 1 || !strings.Contains(stderr, "taxonomy") {
		t.Errorf("unknown code: exit %d %q", code, stderr)
	}
	if out, stderr, code := run("report", "tag", id, "EXPL.PASSPORT_RETENTION"); code != 0 || !strings.Contains(out, "GCM objectives 4, 6") {
		t.Errorf("tag: exit %d %q %q", code, out, stderr)
	}
	if _, stderr, code := run("report", "state", id, "accepted"); code != 1 || !strings.Contains(stderr, "cannot move from new to accepted") {
		t.Errorf("new -> accepted: exit %d %q", code, stderr)
	}
	if _, stderr, code := run("report", "state", id, "published"); code != 1 || !strings.Contains(stderr, "not a report state") {
		t.Errorf("unknown state: exit %d %q", code, stderr)
	}
	for _, st := range []string{"in_review", "accepted"} {
		if _, stderr, code := run("report", "state", id, st); code != 0 {
			t.Fatalf("-> %s: exit %d %q", st, code, stderr)
		}
	}
	r := d.listJSON(d.modKey)[0]
	if r.State != "accepted" || !strings.Contains(strings.Join(r.Tags, " "), "EXPL.PASSPORT_RETENTION") {
		t.Errorf("report after tag and triage: %+v", r)
	}
	// Someone on no desk: the report does not exist for them.
	other := filepath.Join(t.TempDir(), "other.txt")
	d.mustRun("keygen", "-o", other)
	if _, stderr, code := d.run("report", "state", id, "archived", "--data", d.dir, "--identity", other); code != 1 || !strings.Contains(stderr, "not a member") {
		t.Errorf("outsider: exit %d %q", code, stderr)
	}
	out := d.mustRun("audit", "verify", "--data", d.dir)
	if !strings.Contains(out, "intact") {
		t.Fatal(out)
	}
}
