package main

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Issue 7's "done when": a review body that received only the .age file
// and its own key opens it with a stock age, reads the summary, loads the
// CSV with its HXL row, and checks signature and hashes with verify; any
// change fails.
func TestDossierExportVerify(t *testing.T) {
	d := newDeployment(t, deployOpts{})
	phone := "+218 91 777 0001"
	var ids []string
	for i := 0; i < 6; i++ {
		c := d.client()
		share := "yes"
		if i == 5 {
			share = "" // no consent to sharing
		}
		d.receipt(c, d.post(c, map[string]string{"token": d.formToken(c, "en"), "consent.read": "yes", "consent.share": share,
			"testimony": "RAWCANARY Hassan Omar was held at the port; call " + phone + " =HYPERLINK(\"x\")", "topic": "DET",
			"where": "LY", "when": "months"}, map[string][]byte{"p.png": tinyPNG(t)}))
	}
	rs := d.listJSON(d.modKey)
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	run := func(args ...string) (string, string, int) { return d.run(append(args, "--data", d.dir)...) }
	noShare, inReview := "", ""
	for _, r := range rs {
		if len(r.Consent) == 1 {
			noShare = r.ID
		} else if inReview == "" {
			inReview = r.ID
		}
	}
	for _, r := range rs {
		d.mustRun("report", "tag", r.ID, "DET.ARBITRARY", "--data", d.dir, "--identity", d.modKey)
		d.mustRun("report", "state", r.ID, "in_review", "--data", d.dir, "--identity", d.modKey)
		if r.ID != inReview {
			d.mustRun("report", "state", r.ID, "accepted", "--data", d.dir, "--identity", d.modKey)
		}
	}
	// Redact the name in one report before it is forwarded.
	body := filepath.Join(t.TempDir(), "body.txt")
	bodyRcpt := strings.TrimSpace(d.mustRun("keygen", "-o", body))
	d.mustRun("dossier", "create", "cmw-lby", "--recipient", bodyRcpt, "--body", "UN Committee on Migrant Workers", "--country", "LBY", "--data", d.dir)
	if _, stderr, code := run("dossier", "add", "cmw-lby", inReview, "--identity", d.modKey); code != 1 || !strings.Contains(stderr, "accepted") {
		t.Errorf("a report in review was forwarded: %d %q", code, stderr)
	}
	if _, stderr, code := run("dossier", "add", "cmw-lby", noShare, "--identity", d.modKey); code != 1 || !strings.Contains(stderr, "sharing") {
		t.Errorf("a report without consent to sharing was forwarded: %d %q", code, stderr)
	}
	var forwarded []string
	for _, id := range ids {
		if id != noShare && id != inReview {
			forwarded = append(forwarded, id)
		}
	}
	out := d.mustRun(append(append([]string{"dossier", "add", "cmw-lby"}, forwarded...), "--identity", d.modKey, "--data", d.dir)...)
	if strings.Count(out, "Forwarded") != len(forwarded) {
		t.Fatalf("dossier add: %s", out)
	}
	bundle := filepath.Join(t.TempDir(), "cmw-lby.age")
	out = d.mustRun("dossier", "export", "cmw-lby", "--identity", d.modKey, "--out", bundle, "--data", d.dir)
	signer := regexp.MustCompile(`ed25519:\S+`).FindString(out)
	signer = strings.TrimSuffix(signer, ".")
	vout := d.mustRun("dossier", "verify", bundle, "--identity", body, "--signer", signer)
	if !strings.Contains(vout, "4 reports") || !strings.Contains(vout, "signature verifies") {
		t.Errorf("verify: %s", vout)
	}
	// The review body opens it with a stock age.
	ageBin, err := exec.LookPath("age")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("age is required in CI")
		}
		t.Skip("the age CLI is not installed")
	}
	plain, err := exec.Command(ageBin, "-d", "-i", body, bundle).Output()
	if err != nil {
		t.Fatalf("age -d: %v", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(plain), int64(len(plain)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		var b bytes.Buffer
		b.ReadFrom(rc)
		rc.Close()
		files[f.Name] = b.Bytes()
	}
	for _, want := range []string{"manifest.json", "manifest.sig", "reports.jsonl", "reports.csv", "summary.html"} {
		if _, ok := files[want]; !ok {
			t.Errorf("the bundle lacks %s", want)
		}
	}
	rows, err := csv.NewReader(bytes.NewReader(files["reports.csv"])).ReadAll()
	if err != nil || len(rows) != 2+len(forwarded) || !strings.HasPrefix(rows[1][0], "#meta+id") {
		t.Fatalf("reports.csv: %v, %d rows", err, len(rows))
	}
	// Fewer than k=5 reports from Libya: the place is suppressed.
	for _, row := range rows[2:] {
		for i, h := range rows[0] {
			if h == "Country of incident" && row[i] != "" {
				t.Errorf("a small cell's country was not suppressed: %q", row[i])
			}
		}
	}
	if !bytes.Contains(files["summary.html"], []byte("Hassan Omar")) || bytes.Contains(files["summary.html"], []byte("<script")) || bytes.Contains(files["summary.html"], []byte("http")) {
		t.Error("summary.html: the anonymised testimony must be there, with no script or outside asset")
	}
	nAtt := 0
	for name := range files {
		if strings.HasPrefix(name, "attachments/") {
			nAtt++
		}
	}
	if nAtt != len(forwarded) {
		t.Errorf("%d attachments in the bundle, want %d", nAtt, len(forwarded))
	}
	// No sender identifier or raw text anywhere in the bundle.
	for name, b := range files {
		for _, bad := range []string{"777 0001", "777 0001", "p_", "contact_address"} {
			if bytes.Contains(b, []byte(bad)) && !(bad == "p_" && !bytes.Contains(b, []byte(`"pseudonym"`))) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
		if bytes.Contains(b, []byte(`=HYPERLINK`)) && name == "reports.csv" {
			// A formula inside a quoted testimony is not a cell of its own; the CSV carries no testimony.
			t.Errorf("reports.csv carries testimony text")
		}
	}
	// One changed bit: verify fails with a plain message.
	raw, _ := os.ReadFile(bundle)
	raw[len(raw)/2] ^= 0x01
	bad := filepath.Join(t.TempDir(), "bad.age")
	os.WriteFile(bad, raw, 0o600)
	if _, stderr, code := d.run("dossier", "verify", bad, "--identity", body); code != 1 || !strings.Contains(stderr, "changed or is damaged") {
		t.Errorf("a flipped bit: exit %d %q", code, stderr)
	}
	// The reports moved to forwarded; the custody is audited.
	for _, r := range d.listJSON(d.modKey) {
		if (r.State == "forwarded") != (r.ID != inReview && r.ID != noShare) {
			t.Errorf("report %s is %s", r.ID, r.State)
		}
	}
	if out := d.mustRun("audit", "verify", "--data", d.dir); !strings.Contains(out, "intact") {
		t.Fatal(out)
	}
}
