package dossier_test

// Issue 7 (review dossiers), DO-NO-HARM R9 and R17-R19, SECURITY-CASES I4:
// what a review body receives, over a real SQLite store and real age keys.

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/intake"
	"github.com/corridor-gateway/corridor/intake/sqlite"
	"github.com/corridor-gateway/corridor/moderation/dossier"
)

// ---------------------------------------------------------------------------
// The standard dossier: six reports with a known spread.
//
//	3 x Libya,   incident 2025-11, DET + DET.ARBITRARY (GCM 13)
//	2 x Tunisia, incident 2025-12, DET + DET.CHILD     (GCM 13, 7)
//	1 x unknown, incident "recent", EXPL                (GCM 10, 6); received 2026-03
//
// The EXPL report's testimony carries script and img markup.

const xssTestimony = "They said <script>alert(1)</script> and <img src=x onerror=alert(1)> to us at the camp."

type standard struct {
	e      *env
	d      *sqlite.Dossier
	ids    []string
	hashes map[string]string // report id -> custody hash returned by Forward
	enc    []byte
	b      *bundle
}

func newStandard(t *testing.T) *standard {
	t.Helper()
	e := newEnv(t)
	s := &standard{e: e, hashes: map[string]string{}}
	s.d = e.dossier("cmw-lby", dossierOpts{country: "LBY"})
	add := func(x sub, tags ...string) {
		id, h := e.acceptForward(s.d, x, tags...)
		s.ids = append(s.ids, id)
		s.hashes[id] = h
	}
	for i := 0; i < 3; i++ {
		add(sub{where: "LY", whereDetail: "Tripoli", whenDetail: "2025-11", topic: "DET"}, "DET.ARBITRARY")
	}
	for i := 0; i < 2; i++ {
		add(sub{where: "TN", whereDetail: "Sfax", whenDetail: "2025-12", topic: "DET"}, "DET.CHILD")
	}
	add(sub{where: "unknown", when: "recent", topic: "EXPL", testimony: xssTestimony,
		attachments: []intake.Attachment{{Name: "p.png", ContentType: "image/png", Data: pngWithText(t)}}})
	s.enc = e.export(s.d, 5)
	s.b = open(t, s.enc, e.body.Identity)
	return s
}

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("reports.csv does not parse: %v", err)
	}
	if len(rows) < 2 {
		t.Fatalf("reports.csv has %d rows", len(rows))
	}
	return rows
}

// csvByID maps report id -> header -> cell.
func csvByID(t *testing.T, rows [][]string) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, r := range rows[2:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = r[i]
		}
		out[m["Report ID"]] = m
	}
	return out
}

// ---------------------------------------------------------------------------
// 1. Bundle contents.

func TestManifestListsEveryFileAndReport(t *testing.T) {
	s := newStandard(t)
	for _, want := range []string{"manifest.json", "manifest.sig", "reports.jsonl", "reports.csv", "summary.html"} {
		if _, ok := s.b.files[want]; !ok {
			t.Errorf("the bundle lacks %s (has %v)", want, s.b.names)
		}
	}
	var m dossier.Manifest
	if err := json.Unmarshal(s.b.files["manifest.json"], &m); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if m.Format != dossier.Format || m.Dossier != "cmw-lby" || m.Country != "LBY" || m.Body != "UN Committee on Migrant Workers" ||
		m.Generator != "corridor test" || m.K != 5 || !strings.HasPrefix(m.TaxonomyVersion, "sha256:") || m.SigningKey != s.e.signer.PublicText() ||
		m.Generated != "2026-03-03T09:30:00Z" {
		t.Errorf("manifest header: %+v", m)
	}
	// Every other file is listed once, with its recomputed SHA-256 and size.
	listed := map[string]dossier.ManifestFile{}
	for _, f := range m.Files {
		if _, dup := listed[f.Path]; dup {
			t.Errorf("manifest lists %s twice", f.Path)
		}
		listed[f.Path] = f
	}
	for _, name := range s.b.names {
		if name == "manifest.json" || name == "manifest.sig" {
			if _, ok := listed[name]; ok {
				t.Errorf("the manifest lists %s", name)
			}
			continue
		}
		f, ok := listed[name]
		if !ok {
			t.Errorf("%s is in the bundle but not in the manifest", name)
			continue
		}
		sum := sha256.Sum256(s.b.files[name])
		if f.SHA256 != hex.EncodeToString(sum[:]) || f.Size != int64(len(s.b.files[name])) {
			t.Errorf("%s: manifest says %s/%d, file is %x/%d", name, f.SHA256, f.Size, sum, len(s.b.files[name]))
		}
		delete(listed, name)
	}
	for name := range listed {
		t.Errorf("the manifest lists %s, which is not in the bundle", name)
	}
	if !slices.Contains(s.b.names, "attachments/"+s.ids[5]+"-1.png") {
		t.Errorf("the attachment is missing: %v", s.b.names)
	}
	// Report ids with their custody hashes (= what Forward returned = the
	// SHA-256 of the frozen item the review body can open).
	if len(m.Reports) != len(s.ids) {
		t.Fatalf("manifest lists %d reports, want %d", len(m.Reports), len(s.ids))
	}
	for i, r := range m.Reports {
		if r.ReportID != s.ids[i] {
			t.Errorf("report %d is %s, want %s (the order they were added)", i, r.ReportID, s.ids[i])
		}
		if r.SHA256 != s.hashes[r.ReportID] {
			t.Errorf("report %s: custody hash %s, Forward returned %s", r.ReportID, r.SHA256, s.hashes[r.ReportID])
		}
		if r.AddedBy != "mod" || r.AddedAt == "" || len(r.VersionSHA256) != 64 {
			t.Errorf("report %s custody record: %+v", r.ReportID, r)
		}
		// R18: the version hash is the anonymised version the desk worked on.
		rep, err := s.e.kr.Open(s.e.ctx, s.e.db, s.e.meta(r.ReportID), false)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Hash != r.VersionSHA256 {
			t.Errorf("report %s: version_sha256 %s, the desk's version is %s", r.ReportID, r.VersionSHA256, rep.Hash)
		}
	}
	// The review body opens the frozen item sealed to it; its SHA-256 is the
	// custody hash.
	n := 0
	err := s.e.db.DossierItems(s.e.ctx, "cmw-lby", func(di *sqlite.DossierItem) error {
		n++
		plain, err := crypto.Open([]age.Identity{s.e.body.Identity}, "dossier/cmw-lby/"+di.ReportID, "dossier-item", di.BodyBlob)
		if err != nil {
			return fmt.Errorf("the review body cannot open the frozen item %s: %w", di.ReportID, err)
		}
		sum := sha256.Sum256(plain)
		if hex.EncodeToString(sum[:]) != s.hashes[di.ReportID] || di.SHA256 != s.hashes[di.ReportID] {
			t.Errorf("item %s: sha256 of the frozen item %x, stored %s, Forward %s", di.ReportID, sum, di.SHA256, s.hashes[di.ReportID])
		}
		return nil
	})
	if err != nil || n != len(s.ids) {
		t.Fatalf("DossierItems: %d %v", n, err)
	}
	// Custody in the audit log: who and which hash.
	ents, err := s.e.db.AuditEntries(s.e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range s.ids {
		found := false
		for _, a := range ents {
			if a.Action == "dossier.add" && strings.Contains(a.Object, id) && strings.Contains(a.Object, "sha256:"+s.hashes[id]) {
				found = true
			}
		}
		if !found {
			t.Errorf("no dossier.add audit entry with the hash of %s", id)
		}
	}
}

func TestManifestSignatureVerifies(t *testing.T) {
	s := newStandard(t)
	pub, err := crypto.ParseSigningPublic(s.e.signer.PublicText())
	if err != nil {
		t.Fatal(err)
	}
	sigText := s.b.files["manifest.sig"]
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sigText)))
	if err != nil || len(sig) != ed25519.SignatureSize {
		t.Fatalf("manifest.sig is not a base64 Ed25519 signature: %q", sigText)
	}
	if !ed25519.Verify(pub, s.b.files["manifest.json"], sig) {
		t.Fatal("manifest.sig does not verify with the signer's public key")
	}
	other, _, err := crypto.LoadOrCreateSigningKey(filepath.Join(t.TempDir(), "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	opub, _ := crypto.ParseSigningPublic(other.PublicText())
	if ed25519.Verify(opub, s.b.files["manifest.json"], sig) {
		t.Fatal("manifest.sig verifies with another key")
	}
	// And with a stock age, when installed (the e2e test requires it in CI).
	if ageBin, err := exec.LookPath("age"); err == nil {
		dir := t.TempDir()
		idf, in := filepath.Join(dir, "body.txt"), filepath.Join(dir, "b.age")
		os.WriteFile(idf, []byte(s.e.body.Secret+"\n"), 0o600)
		os.WriteFile(in, s.enc, 0o600)
		out, err := exec.Command(ageBin, "-d", "-i", idf, in).Output()
		if err != nil || !bytes.Equal(out, s.b.zip) {
			t.Errorf("stock age -d: %v (%d bytes, want %d)", err, len(out), len(s.b.zip))
		}
	}
}

var hxlTag = regexp.MustCompile(`^#[a-z][a-z0-9_]*(\+[a-z][a-z0-9_]*)*$`)

func hxlColumnsFile(t *testing.T, path string) (head, tags []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 2 || rows[0][0] != "header" || rows[0][1] != "hxl" {
		t.Fatalf("%s: unexpected layout %v", path, rows[0])
	}
	for _, r := range rows[1:] {
		head = append(head, r[0])
		tags = append(tags, r[1])
	}
	return head, tags
}

func TestCSVHasTheHXLRow(t *testing.T) {
	s := newStandard(t)
	rows := readCSV(t, s.b.files["reports.csv"])
	// The domain file as shipped (intake/domain is the copy of
	// shared/domain), and the copy the package embeds, agree.
	head, tags := hxlColumnsFile(t, filepath.Join("..", "..", "intake", "domain", "hxl-columns.csv"))
	if h2, t2 := hxlColumnsFile(t, "hxl-columns.csv"); !slices.Equal(head, h2) || !slices.Equal(tags, t2) {
		t.Errorf("moderation/dossier/hxl-columns.csv differs from the domain file")
	}
	if shared := filepath.Join("..", "..", "..", "shared", "domain", "hxl-columns.csv"); fileExists(shared) {
		if h3, t3 := hxlColumnsFile(t, shared); !slices.Equal(head, h3) || !slices.Equal(tags, t3) {
			t.Errorf("the HXL columns differ from shared/domain/hxl-columns.csv")
		}
	}
	if !slices.Equal(rows[0], head) {
		t.Errorf("header row\n got %q\nwant %q", rows[0], head)
	}
	if !slices.Equal(rows[1], tags) {
		t.Errorf("HXL row\n got %q\nwant %q", rows[1], tags)
	}
	// It parses as HXL: every cell of the hashtag row is a hashtag with
	// attributes, and the row is the first whose cells are all hashtags.
	for i, c := range rows[1] {
		if !strings.HasPrefix(c, "#") || !hxlTag.MatchString(c) {
			t.Errorf("HXL row cell %d (%s) is not a hashtag: %q", i, rows[0][i], c)
		}
	}
	for i, c := range rows[0] {
		if strings.HasPrefix(c, "#") {
			t.Errorf("header cell %d starts with #: %q", i, c)
		}
	}
	if len(rows) != 2+len(s.ids) {
		t.Errorf("%d data rows, want %d", len(rows)-2, len(s.ids))
	}
	for _, r := range rows[2:] {
		if len(r) != len(head) {
			t.Errorf("a row has %d cells, want %d", len(r), len(head))
		}
	}
	byID := csvByID(t, rows)
	for id := range s.hashes {
		row, ok := byID[id]
		if !ok {
			t.Errorf("report %s is not in the CSV", id)
			continue
		}
		if len(row["Integrity hash"]) != 64 || row["Intake channel"] != "web" || row["Testimony language"] != "en" {
			t.Errorf("row %s: %v", id, row)
		}
	}
	if row := byID[s.ids[0]]; row["Incident category"] != "DET;DET.ARBITRARY" && row["Incident category"] != "DET.ARBITRARY;DET" {
		t.Errorf("category cell: %q", row["Incident category"])
	}
	if row := byID[s.ids[3]]; row["GCM objectives"] != "13;7" && row["GCM objectives"] != "7;13" {
		t.Errorf("GCM cell: %q", row["GCM objectives"])
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// I4: no CSV cell may start with = + - @ (nor tab or CR): a spreadsheet
// would run it.
func TestCSVNeutralisesFormulas(t *testing.T) {
	e := newEnv(t)
	d := e.dossier("formulas", dossierOpts{})
	type inj struct{ id, col, val string }
	var want []inj
	for _, v := range []string{"=cmd|' /C calc'!A0", "+1", "@SUM(1)", "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"} {
		id, _ := e.acceptForward(d, sub{where: "LY", whereDetail: v})
		want = append(want, inj{id, "Admin1 of incident", v})
	}
	// Free metadata a channel passes on: the language and channel labels.
	id, _ := e.acceptForward(d, sub{language: "@SUM(1)", where: "LY", whereDetail: "Misrata"})
	want = append(want, inj{id, "Testimony language", "@SUM(1)"})
	id, _ = e.acceptForward(d, sub{channel: "=1+1", where: "LY", whereDetail: "Misrata"})
	want = append(want, inj{id, "Intake channel", "=1+1"})
	// Facets are closed vocabularies (moderation.CheckFacets), so the API
	// cannot set a formula; a facets entry sealed straight to the desk (an
	// older build, a restored backup) still must not become one.
	id = e.submit(sub{where: "LY", whereDetail: "Misrata"})
	if err := e.kr.SetFacets(e.ctx, e.db, e.meta(id), "mod", map[string]string{"perpetrator": "=HYPERLINK(\"x\")"}); err == nil {
		t.Error("SetFacets accepted a formula as a perpetrator")
	}
	sealFacets(t, e, id, map[string]string{"perpetrator": "=HYPERLINK(\"x\",\"y\")", "severity": "+1", "verification": "@x"})
	e.accept(id)
	e.forward(d, id)
	want = append(want, inj{id, "Perpetrator type", "=HYPERLINK(\"x\",\"y\")"}, inj{id, "Severity", "+1"}, inj{id, "Verification status", "@x"})

	b := open(t, e.export(d, 1), e.body.Identity) // K 1: every Admin1 cell is shown
	rows := readCSV(t, b.files["reports.csv"])
	byID := csvByID(t, rows)
	for _, w := range want {
		got := byID[w.id][w.col]
		if !strings.HasPrefix(got, "'") || !strings.Contains(got, strings.TrimLeft(w.val, "\t\r=+-@")) {
			t.Errorf("%s %q: CSV cell is %q, want it to start with an apostrophe", w.col, w.val, got)
		}
	}
	for _, r := range rows[2:] {
		for i, c := range r {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Errorf("cell %s starts with %q: %q", rows[0][i], c[0], c)
			}
		}
	}
}

// sealFacets writes a facets entry sealed to the report's desk key, without
// the facet check.
func sealFacets(t *testing.T, e *env, id string, f map[string]string) {
	t.Helper()
	m := e.meta(id)
	did, ok := e.kr.Identity(m.DeskKeyID)
	if !ok {
		t.Fatal("no desk key")
	}
	ks, err := crypto.NewKeySet(did.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := e.db.NextSeq(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := json.Marshal(f)
	blob, err := crypto.Seal(ks.Recipients, intake.EntryID(id, seq), "facets", plain)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.AddSealedEntry(e.ctx, id, seq, "facets", blob, "mod", "report.facets"); err != nil {
		t.Fatal(err)
	}
}

// R9: a place shared by fewer than k reports leaves no trace in the CSV.
func TestCSVSuppressesSmallCells(t *testing.T) {
	e := newEnv(t)
	d := e.dossier("small", dossierOpts{})
	var lby []string
	for i := 0; i < 4; i++ {
		id, _ := e.acceptForward(d, sub{where: "LY", whereDetail: "Tripoli", whenDetail: "2025-11"})
		lby = append(lby, id)
	}
	var tun []string
	for _, area := range []string{"Sfax", "Sfax", "Sfax", "sfax", " Sfax "} { // one cell: case and spaces do not split it
		id, _ := e.acceptForward(d, sub{where: "TN", whereDetail: area, whenDetail: "2025-11"})
		tun = append(tun, id)
	}
	byID := csvByID(t, readCSV(t, open(t, e.export(d, 5), e.body.Identity).files["reports.csv"]))
	for _, id := range lby {
		if c, a := byID[id]["Country of incident"], byID[id]["Admin1 of incident"]; c != "" || a != "" {
			t.Errorf("4 reports from Libya with k=5: country %q, admin1 %q shown", c, a)
		}
	}
	for _, id := range tun {
		if c, a := byID[id]["Country of incident"], byID[id]["Admin1 of incident"]; c != "TUN" || strings.TrimSpace(strings.ToLower(a)) != "sfax" {
			t.Errorf("5 reports from Sfax, Tunisia with k=5: country %q, admin1 %q", c, a)
		}
		if byID[id]["Nationality (coarse)"] != "" {
			t.Errorf("nationality shown: %q", byID[id]["Nationality (coarse)"])
		}
	}
	// A fifth report from Tripoli: the cell reaches k.
	id, _ := e.acceptForward(d, sub{where: "LY", whereDetail: "Tripoli", whenDetail: "2025-11"})
	lby = append(lby, id)
	byID = csvByID(t, readCSV(t, open(t, e.export(d, 5), e.body.Identity).files["reports.csv"]))
	for _, id := range lby {
		if c, a := byID[id]["Country of incident"], byID[id]["Admin1 of incident"]; c != "LBY" || a != "Tripoli" {
			t.Errorf("5 reports from Tripoli, Libya with k=5: country %q, admin1 %q", c, a)
		}
	}
	// Four in Tripoli and one in Misrata: the country is shown, Misrata's
	// area and Tripoli's (4 < 5) are not.
	e2 := newEnv(t)
	d2 := e2.dossier("small2", dossierOpts{})
	var ids []string
	for _, area := range []string{"Tripoli", "Tripoli", "Tripoli", "Tripoli", "Misrata"} {
		id, _ := e2.acceptForward(d2, sub{where: "LY", whereDetail: area, whenDetail: "2025-11"})
		ids = append(ids, id)
	}
	byID = csvByID(t, readCSV(t, open(t, e2.export(d2, 5), e2.body.Identity).files["reports.csv"]))
	for _, id := range ids {
		if c, a := byID[id]["Country of incident"], byID[id]["Admin1 of incident"]; c != "LBY" || a != "" {
			t.Errorf("5 from Libya, 4+1 by area: country %q, admin1 %q", c, a)
		}
	}
}

var monthOrPeriod = regexp.MustCompile(`^(\d{4}-\d{2}|recent|months|year|older|unknown|)$`)

// R9: incident dates leave at month precision (or as a rough period).
func TestIncidentDatesAtMonthPrecision(t *testing.T) {
	e := newEnv(t)
	d := e.dossier("dates", dossierOpts{})
	for _, x := range []sub{{whenDetail: "2025-11"}, {when: "months"}, {when: "unknown"}, {}, {whenDetail: "2024-02", when: "year"}} {
		e.acceptForward(d, x)
	}
	b := open(t, e.export(d, 5), e.body.Identity)
	rows := readCSV(t, b.files["reports.csv"])
	seen := map[string]bool{}
	for _, r := range csvByID(t, rows) {
		v := r["Incident date"]
		seen[v] = true
		if !monthOrPeriod.MatchString(v) {
			t.Errorf("CSV incident date %q is finer than a month", v)
		}
	}
	if !seen["2025-11"] || !seen["months"] || !seen["2024-02"] {
		t.Errorf("incident dates: %v", seen)
	}
	for _, line := range bytes.Split(bytes.TrimSpace(b.files["reports.jsonl"]), []byte("\n")) {
		var it struct {
			Incident string `json:"incident_date"`
		}
		if err := json.Unmarshal(line, &it); err != nil {
			t.Fatal(err)
		}
		if !monthOrPeriod.MatchString(it.Incident) {
			t.Errorf("JSONL incident date %q is finer than a month", it.Incident)
		}
	}
}

var fullDay = regexp.MustCompile(`\b(19|20)\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b`)

// R9: "Coarsen dates (month) in anything leaving the moderated zone"; issue
// 7: "Dates coarsened to month". The day a report arrived, with its channel
// and language, can single a sender out.
func TestReportedDateIsCoarsened(t *testing.T) {
	e := newEnv(t)
	d := e.dossier("arrival", dossierOpts{})
	for i := 0; i < 5; i++ {
		e.acceptForward(d, sub{where: "LY", whereDetail: "Tripoli", whenDetail: "2025-11"})
	}
	b := open(t, e.export(d, 5), e.body.Identity)
	for _, r := range csvByID(t, readCSV(t, b.files["reports.csv"])) {
		if v := r["Date reported"]; !regexp.MustCompile(`^\d{4}-\d{2}$`).MatchString(v) {
			t.Errorf("BUG (R9): reports.csv \"Date reported\" leaves at day precision: %q (want YYYY-MM)", v)
			break
		}
	}
	for _, name := range []string{"reports.jsonl", "summary.html"} {
		if day := fullDay.Find(b.files[name]); day != nil {
			t.Errorf("BUG (R9): %s carries a report's arrival day %s (want YYYY-MM)", name, day)
		}
	}
}

// R9: "Suppress rare nationality x place x date combinations." Five reports
// from Tripoli pass the place cell, but one incident month seen once in
// that place singles its report out.
func TestCSVSuppressesRarePlaceDateCombinations(t *testing.T) {
	e := newEnv(t)
	d := e.dossier("combo", dossierOpts{})
	var rare string
	for i, m := range []string{"2025-11", "2025-11", "2025-11", "2025-11", "2024-01"} {
		id, _ := e.acceptForward(d, sub{where: "LY", whereDetail: "Tripoli", whenDetail: m})
		if i == 4 {
			rare = id
		}
	}
	byID := csvByID(t, readCSV(t, open(t, e.export(d, 5), e.body.Identity).files["reports.csv"]))
	if r := byID[rare]; r["Country of incident"] != "" && r["Incident date"] == "2024-01" {
		t.Errorf("BUG (R9): the only report from %s in %s keeps both place and month in the CSV (a cell of 1 < k=5): country %q, admin1 %q, incident %q",
			r["Country of incident"], r["Incident date"], r["Country of incident"], r["Admin1 of incident"], r["Incident date"])
	}
}

// ---------------------------------------------------------------------------
// 2. summary.html.

var tagRE = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>`)

var attrRE = regexp.MustCompile(`\s([a-zA-Z:-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)`)

func TestSummaryIsSelfContainedAndEscaped(t *testing.T) {
	e := newEnv(t)
	d := e.dossier("html", dossierOpts{body: "<b>Body</b><script>alert(2)</script>"})
	e.acceptForward(d, sub{testimony: xssTestimony + " javascript:alert(3) [x](javascript:alert(4)) </p></article><p onclick=alert(6)>"})
	e.acceptForward(d, sub{language: `en" onload="alert(5)`})
	html := string(open(t, e.export(d, 5), e.body.Identity).files["summary.html"])
	low := strings.ToLower(html)
	for _, bad := range []string{"http://", "https://", "<script", "@import", "url(", "<img", "<link", "<iframe", "<object", "<embed", "<base", "<a ", "<form"} {
		if strings.Contains(low, bad) {
			t.Errorf("summary.html contains %q", bad)
		}
	}
	// Only structural tags, and only attributes that load or run nothing.
	allowed := map[string]bool{"html": true, "head": true, "meta": true, "title": true, "style": true, "body": true, "h1": true, "h2": true,
		"p": true, "br": true, "code": true, "table": true, "tr": true, "td": true, "th": true, "article": true, "strong": true}
	attrs := map[string]bool{"lang": true, "charset": true, "class": true, "dir": true, "id": true}
	for _, m := range tagRE.FindAllStringSubmatch(html, -1) {
		if name := strings.ToLower(m[2]); !allowed[name] {
			t.Errorf("summary.html has a <%s> tag: %s", name, m[0])
		}
		for _, a := range attrRE.FindAllStringSubmatch(m[3], -1) {
			if !attrs[strings.ToLower(a[1])] {
				t.Errorf("summary.html tag %s has the attribute %s", m[0], a[1])
			}
		}
		if strings.Contains(strings.ToLower(m[3]), "src=") {
			t.Errorf("summary.html tag %s has src=", m[0])
		}
	}
	if n := strings.Count(low, "<style"); n != 1 {
		t.Errorf("%d style elements, want the one of the template", n)
	}
	if n := strings.Count(low, "<article"); n != 2 {
		t.Errorf("%d articles, want 2: a testimony closed its element", n)
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;",
		"&lt;b&gt;Body&lt;/b&gt;&lt;script&gt;alert(2)&lt;/script&gt;", "&lt;/p&gt;&lt;/article&gt;&lt;p onclick=alert(6)&gt;"} {
		if !strings.Contains(html, want) {
			t.Errorf("summary.html lacks the escaped %q", want)
		}
	}
	if strings.Contains(html, `" onload=`) {
		t.Error("a language label broke out of the lang attribute")
	}
}

type htmlCount map[string]string // key -> count

// summaryTable reads the rows of the table under a heading.
func summaryTable(t *testing.T, html, heading string) htmlCount {
	t.Helper()
	re := regexp.MustCompile(`(?s)<h2>` + regexp.QuoteMeta(heading) + `</h2><table>(.*?)</table>`)
	m := re.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("summary.html has no %q table", heading)
	}
	out := htmlCount{}
	for _, row := range regexp.MustCompile(`<tr>(.*?)</tr>`).FindAllStringSubmatch(m[1], -1) {
		cells := regexp.MustCompile(`<td>(.*?)</td>`).FindAllStringSubmatch(row[1], -1)
		if len(cells) < 2 {
			t.Fatalf("%s: row %q", heading, row[0])
		}
		out[cells[0][1]] = cells[len(cells)-1][1]
	}
	return out
}

func TestSummaryCountsAndTestimonies(t *testing.T) {
	s := newStandard(t)
	html := string(s.b.files["summary.html"])
	check := func(heading string, want map[string]int) {
		got := summaryTable(t, html, heading)
		if len(got) != len(want) {
			t.Errorf("%s: %v, want %v", heading, got, want)
		}
		for k, n := range want {
			if got[k] != strconv.Itoa(n) {
				t.Errorf("%s %s: %q, want %d (table %v)", heading, k, got[k], n, got)
			}
		}
	}
	check("By Global Compact objective", map[string]int{"13": 5, "7": 2, "10": 1, "6": 1})
	check("By category", map[string]int{"DET": 5, "EXPL": 1})
	check("By country", map[string]int{"LBY": 3, "TUN": 2, "-": 1})
	check("By month", map[string]int{"2025-11": 3, "2025-12": 2, "2026-03": 1})
	// The GCM and category tables name what they count.
	if !strings.Contains(html, "Immigration detention") {
		t.Error("the category table lacks its labels")
	}
	for _, id := range s.ids {
		if !strings.Contains(html, `<article id="r-`+id+`">`) {
			t.Errorf("report %s is not in the summary", id)
		}
	}
	if !strings.Contains(html, "We were held for weeks at the port") || !strings.Contains(html, "6 reports") {
		t.Error("the testimonies or the report count are missing")
	}
}

// ---------------------------------------------------------------------------
// 3. Attachments: metadata stripped.

const gpsCanary = "GPSCANARY 32.8872N 13.1913E"

func tinyImage() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 16, 12))
	for y := 0; y < 12; y++ {
		for x := 0; x < 16; x++ {
			img.Pix[(y*16+x)*4], img.Pix[(y*16+x)*4+1], img.Pix[(y*16+x)*4+2], img.Pix[(y*16+x)*4+3] = uint8(x*16), uint8(y*20), 128, 255
		}
	}
	return img
}

// jpegWithExif is a JPEG with an EXIF APP1 segment right after SOI.
func jpegWithExif(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, tinyImage(), &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	exif := append([]byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08"), []byte(gpsCanary)...)
	seg := append([]byte{0xFF, 0xE1, byte((len(exif) + 2) >> 8), byte(len(exif) + 2)}, exif...)
	raw := b.Bytes()
	out := append(append(append([]byte{}, raw[:2]...), seg...), raw[2:]...)
	if _, err := jpeg.Decode(bytes.NewReader(out)); err != nil {
		t.Fatalf("the test JPEG does not decode: %v", err)
	}
	return out
}

func pngChunk(typ string, data []byte) []byte {
	var c bytes.Buffer
	l := len(data)
	c.Write([]byte{byte(l >> 24), byte(l >> 16), byte(l >> 8), byte(l)})
	c.WriteString(typ)
	c.Write(data)
	crc := crc32IEEE(append([]byte(typ), data...))
	c.Write([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	return c.Bytes()
}

// pngWithText is a PNG with a tEXt and an eXIf chunk after IHDR.
func pngWithText(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, tinyImage()); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	const afterIHDR = 8 + 25
	extra := append(pngChunk("tEXt", []byte("Comment\x00"+gpsCanary)), pngChunk("eXIf", []byte("MM\x00\x2a\x00\x00\x00\x08"+gpsCanary))...)
	out := append(append(append([]byte{}, raw[:afterIHDR]...), extra...), raw[afterIHDR:]...)
	if _, err := png.Decode(bytes.NewReader(out)); err != nil {
		t.Fatalf("the test PNG does not decode: %v", err)
	}
	return out
}

func TestAttachmentsLoseEXIFAndText(t *testing.T) {
	e := newEnv(t)
	d := e.dossier("exif", dossierOpts{})
	jp, pn := jpegWithExif(t), pngWithText(t)
	if !bytes.Contains(jp, []byte(gpsCanary)) || !bytes.Contains(pn, []byte(gpsCanary)) {
		t.Fatal("the canary is not in the test images")
	}
	id, _ := e.acceptForward(d, sub{attachments: []intake.Attachment{{Name: "IMG_0001.jpg", ContentType: "image/jpeg", Data: jp},
		{Name: "scan.png", ContentType: "image/png", Data: pn}}})
	b := open(t, e.export(d, 5), e.body.Identity)
	jf, pf := b.files["attachments/"+id+"-1.jpg"], b.files["attachments/"+id+"-2.png"]
	if jf == nil || pf == nil {
		t.Fatalf("the attachments are missing: %v", b.names)
	}
	img, err := jpeg.Decode(bytes.NewReader(jf))
	if err != nil || img.Bounds().Dx() != 16 || img.Bounds().Dy() != 12 {
		t.Errorf("the JPEG does not decode as the 16x12 image: %v", err)
	}
	for _, bad := range []string{"Exif", "GPSCANARY", "32.8872"} {
		if bytes.Contains(jf, []byte(bad)) {
			t.Errorf("the JPEG still contains %q", bad)
		}
	}
	img, err = png.Decode(bytes.NewReader(pf))
	if err != nil || img.Bounds().Dx() != 16 {
		t.Errorf("the PNG does not decode: %v", err)
	}
	for _, bad := range []string{"tEXt", "eXIf", "GPSCANARY", "Comment"} {
		if bytes.Contains(pf, []byte(bad)) {
			t.Errorf("the PNG still contains %q", bad)
		}
	}
	if bytes.Contains(b.zip, []byte("GPSCANARY")) {
		t.Error("the bundle's ZIP contains the GPS canary")
	}
	// reports.jsonl names both files.
	var line struct {
		Files []string `json:"attachment_files"`
	}
	json.Unmarshal(bytes.TrimSpace(b.files["reports.jsonl"]), &line)
	if !slices.Equal(line.Files, []string{"attachments/" + id + "-1.jpg", "attachments/" + id + "-2.png"}) {
		t.Errorf("attachment_files: %v", line.Files)
	}
}

// webpWithExif is a WebP container (VP8X with the EXIF flag, an EXIF chunk)
// as a phone or an editor writes it; the web form sniffs it as image/webp.
func webpWithExif() []byte {
	le32 := func(n int) []byte { return []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)} }
	var body bytes.Buffer
	body.WriteString("WEBP")
	body.WriteString("VP8X")
	body.Write(le32(10))
	body.Write([]byte{0x08, 0, 0, 0, 15, 0, 0, 11, 0, 0}) // EXIF flag; 16x12 canvas
	exif := []byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08" + gpsCanary)
	if len(exif)%2 == 1 {
		exif = append(exif, 0)
	}
	body.WriteString("EXIF")
	body.Write(le32(len(exif)))
	body.Write(exif)
	body.WriteString("VP8L")
	body.Write(le32(6))
	body.Write([]byte{0x2f, 0x0f, 0xc0, 0x02, 0x00, 0x00})
	return append(append([]byte("RIFF"), le32(body.Len())...), body.Bytes()...)
}

// gifWithComment is a valid GIF with a comment extension.
func gifWithComment(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gifEncode(&b, tinyImage()); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	c := append([]byte{0x21, 0xFE, byte(len(gpsCanary))}, []byte(gpsCanary)...)
	c = append(c, 0x00)
	out := append(append(append([]byte{}, raw[:len(raw)-1]...), c...), raw[len(raw)-1])
	if _, _, err := image.Decode(bytes.NewReader(out)); err != nil {
		t.Fatalf("the test GIF does not decode: %v", err)
	}
	return out
}

// Issue 7: "attachments/ (images with EXIF removed)". The web form accepts
// any sniffed image/* but SVG; stripMetadata only rewrites JPEG and PNG
// and passes every other image through untouched.
func TestOtherImageTypesLoseMetadata(t *testing.T) {
	for _, tc := range []struct {
		name string
		data func() []byte
	}{
		{"image/webp", webpWithExif},
		{"image/gif", func() []byte { return gifWithComment(t) }},
	} {
		t.Run(strings.TrimPrefix(tc.name, "image/"), func(t *testing.T) {
			data := tc.data()
			if ct := sniff(data); ct != tc.name {
				t.Fatalf("the web form would label it %q", ct)
			}
			e := newEnv(t)
			d := e.dossier("img", dossierOpts{})
			e.acceptForward(d, sub{attachments: []intake.Attachment{{Name: "photo", ContentType: tc.name, Data: data}}})
			b := open(t, e.export(d, 5), e.body.Identity)
			for name, f := range b.files {
				if bytes.Contains(f, []byte("GPSCANARY")) {
					t.Errorf("BUG: %s attachment %s reaches the bundle with its metadata (GPS canary) intact: stripMetadata only rewrites image/jpeg and image/png", tc.name, name)
				}
			}
		})
	}
}

// reports.jsonl's attachment_files must name files that are in the bundle.
// An image that does not decode is left out (stripMetadata returns nil),
// but its path is still listed.
func TestJSONLNamesOnlyFilesInTheBundle(t *testing.T) {
	e := newEnv(t)
	d := e.dossier("broken", dossierOpts{})
	jp := jpegWithExif(t)
	truncated := jp[:len(jp)/3] // sniffs as image/jpeg, does not decode
	id, _ := e.acceptForward(d, sub{attachments: []intake.Attachment{{Name: "a.jpg", ContentType: "image/jpeg", Data: truncated},
		{Name: "b.png", ContentType: "image/png", Data: pngWithText(t)}}})
	b := open(t, e.export(d, 5), e.body.Identity)
	if bytes.Contains(b.zip, []byte("GPSCANARY")) {
		t.Error("the undecodable JPEG leaked its EXIF")
	}
	var line struct {
		Files []string `json:"attachment_files"`
	}
	json.Unmarshal(bytes.TrimSpace(b.files["reports.jsonl"]), &line)
	for _, f := range line.Files {
		if _, ok := b.files[f]; !ok {
			t.Errorf("BUG: reports.jsonl of %s lists %s, which is not in the bundle (an attachment left out because it did not decode)", id, f)
		}
	}
}

// ---------------------------------------------------------------------------
// 4. Canary: nothing that identifies the sender, nothing custodian-only,
// nothing unredacted.

func TestNoSenderIdentifierInBundle(t *testing.T) {
	e := newEnv(t)
	d := e.dossier("canary", dossierOpts{})
	const (
		address   = "+218917770001"
		provider  = "SMCANARYPROVIDER0001"
		rawPhone  = "+218 91 777 0001"
		email     = "canary.sender@example.org"
		name      = "Hassan Omar"
		coords    = "32.8872, 13.1913"
		contactTx = "CONTACTCANARY call +218 91 555 0102 after six"
	)
	testimony := name + " was held at the port for 3 weeks; call me on " + rawPhone + " or write to " + email + ". We were at " + coords + "."
	jp := jpegWithExif(t)
	id := e.submit(sub{channel: intake.ChannelSMS, address: address, provider: provider, testimony: testimony, where: "LY",
		whereDetail: "near " + coords + " phone " + rawPhone, whenDetail: "2025-11", contact: "yes", contactDetail: contactTx, tag: "ORGCANARY",
		attachments: []intake.Attachment{{Name: "CANARYNAME-IMG_0001.jpg", ContentType: "image/jpeg", Data: jp}}})
	m := e.meta(id)
	if !strings.HasPrefix(m.Pseudonym, "p_") || m.RawSHA256 == "" {
		t.Fatalf("meta: %+v", m)
	}
	// The desk's copy: automatic redaction did its part; a moderator
	// redacts the name.
	if _, err := e.kr.Redact(e.ctx, e.db, e.db, m, "testimony", name, "[NAME]", "mod"); err != nil {
		t.Fatal(err)
	}
	r, err := e.kr.Open(e.ctx, e.db, m, false)
	if err != nil {
		t.Fatal(err)
	}
	if tm := r.Copy.Answers["testimony"]; strings.Contains(tm, "777") || strings.Contains(tm, name) || !strings.Contains(tm, "[PHONE]") {
		t.Fatalf("precondition: the desk's testimony is %q", tm)
	}
	e.accept(id)
	e.forward(d, id)
	// A second report from the same sender: the bundle must not link them
	// either.
	id2 := e.submit(sub{channel: intake.ChannelSMS, address: address, provider: provider + "b", where: "LY", whenDetail: "2025-11"})
	e.accept(id2)
	e.forward(d, id2)

	enc := e.export(d, 1)
	b := open(t, enc, e.body.Identity)
	receipt := e.secret.Receipt(intake.ChannelSMS, provider)
	canaries := []string{
		m.Pseudonym, strings.TrimPrefix(m.Pseudonym, "p_"), address, strings.TrimPrefix(address, "+"), "917770001",
		rawPhone, "777 0001", "7770001", email, "canary.sender", name, "Hassan", "32.8872", "13.1913",
		"CONTACTCANARY", "555 0102", "5550102", contactTx, provider, receipt, "ORGCANARY", "CANARYNAME", m.RawSHA256, testimony,
		"GPSCANARY", "contact_address", "pseudonym",
	}
	all := map[string][]byte{"(zip)": b.zip, "(age)": enc}
	for n, f := range b.files {
		all[n] = f
	}
	pseudonymRE := regexp.MustCompile(`p_[a-z2-7]{26}`)
	for fname, data := range all {
		for _, c := range canaries {
			if c != "" && bytes.Contains(bytes.ToLower(data), bytes.ToLower([]byte(c))) {
				t.Errorf("%s contains %q", fname, c)
			}
		}
		if p := pseudonymRE.Find(data); p != nil {
			t.Errorf("%s contains a pseudonym-like value %s", fname, p)
		}
	}
	// The redacted testimony is there: the test looked at the right text.
	if html := b.files["summary.html"]; !bytes.Contains(html, []byte("[NAME] was held at the port")) || !bytes.Contains(html, []byte("[PHONE]")) {
		t.Errorf("the anonymised testimony is not in the summary: %s", html)
	}
}

// ---------------------------------------------------------------------------
// 5. Forwarding rules.

func TestForwardRules(t *testing.T) {
	e := newEnv(t)
	d := e.dossier("rules", dossierOpts{})
	refuse := func(what, id, wantState string) {
		t.Helper()
		before := e.itemCount(d.Name)
		_, err := dossier.Forward(e.ctx, e.db, e.kr, d, id, "mod")
		var ns *dossier.ErrNotShareable
		if !errors.As(err, &ns) || ns.ReportID != id {
			t.Errorf("%s: Forward returned %v, want ErrNotShareable", what, err)
		}
		if n := e.itemCount(d.Name); n != before {
			t.Errorf("%s: %d items after, %d before", what, n, before)
		}
		if st := e.meta(id).State; st != wantState {
			t.Errorf("%s: state %s, want %s", what, st, wantState)
		}
	}
	rejected := e.submit(sub{})
	e.state(rejected, intake.StateInReview, intake.StateRejected)
	refuse("a rejected report", rejected, intake.StateRejected)

	noShare := e.submit(sub{noShare: true})
	e.accept(noShare)
	refuse("a report without the share scope", noShare, intake.StateAccepted)

	inReview := e.submit(sub{})
	e.state(inReview, intake.StateInReview)
	refuse("a report in review", inReview, intake.StateInReview)
	fresh := e.submit(sub{})
	refuse("a new report", fresh, intake.StateNew)

	ok := e.submit(sub{})
	e.accept(ok)
	e.forward(d, ok)
	if st := e.meta(ok).State; st != intake.StateForwarded {
		t.Errorf("forwarded report is %s", st)
	}
	before := e.itemCount(d.Name)
	if _, err := dossier.Forward(e.ctx, e.db, e.kr, d, ok, "mod"); err == nil {
		t.Error("a report was forwarded twice")
	}
	other := e.dossier("rules-2", dossierOpts{})
	if _, err := dossier.Forward(e.ctx, e.db, e.kr, other, ok, "mod"); err == nil {
		t.Error("a forwarded report was forwarded into a second dossier")
	}
	if n := e.itemCount(d.Name); n != before || e.itemCount(other.Name) != 0 {
		t.Errorf("items after the second forward: %d (was %d), %d", n, before, e.itemCount(other.Name))
	}

	// A word-limit dossier refuses a longer testimony, takes a shorter one.
	wl := e.dossier("words", dossierOpts{wordLimit: 8})
	long := e.submit(sub{testimony: "one two three four five six seven eight nine"})
	e.accept(long)
	before = e.itemCount(wl.Name)
	_, err := dossier.Forward(e.ctx, e.db, e.kr, wl, long, "mod")
	var ns *dossier.ErrNotShareable
	if !errors.As(err, &ns) || !strings.Contains(err.Error(), "9 words") {
		t.Errorf("a 9-word testimony into an 8-word dossier: %v", err)
	}
	if e.itemCount(wl.Name) != before || e.meta(long).State != intake.StateAccepted {
		t.Error("the refused report was added or changed state")
	}
	short := e.submit(sub{testimony: "one two three four five six seven eight"})
	e.accept(short)
	e.forward(wl, short)
	if e.itemCount(wl.Name) != before+1 {
		t.Error("an 8-word testimony was not taken")
	}
	// Unknown report.
	if _, err := dossier.Forward(e.ctx, e.db, e.kr, d, "nosuchreport", "mod"); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("an unknown report: %v", err)
	}
}

// Two moderators forwarding the same report at once, into different
// dossiers: exactly one wins (the state check runs inside the write).
func TestForwardRaceOnlyOnce(t *testing.T) {
	e := newEnv(t)
	id := e.submit(sub{})
	e.accept(id)
	const n = 8
	var ds []*sqlite.Dossier
	for i := 0; i < n; i++ {
		ds = append(ds, e.dossier(fmt.Sprintf("race-%d", i), dossierOpts{}))
	}
	errs := make(chan error, n)
	start := make(chan struct{})
	for _, d := range ds {
		go func() {
			<-start
			_, err := dossier.Forward(e.ctx, e.db, e.kr, d, id, "mod")
			errs <- err
		}()
	}
	close(start)
	ok := 0
	for i := 0; i < n; i++ {
		if err := <-errs; err == nil {
			ok++
		}
	}
	total := 0
	for _, d := range ds {
		total += e.itemCount(d.Name)
	}
	if ok != 1 || total != 1 || e.meta(id).State != intake.StateForwarded {
		t.Errorf("%d forwards succeeded, %d items stored, state %s; want exactly one", ok, total, e.meta(id).State)
	}
}

// Export leaves no spill file behind, and the spill it writes meanwhile is
// age-encrypted (no plaintext on disk).
func TestExportSpillIsEncryptedAndRemoved(t *testing.T) {
	e := newEnv(t)
	d := e.dossier("spill", dossierOpts{})
	e.acceptForward(d, sub{testimony: "SPILLCANARY we were held at the port"})
	dir := t.TempDir()
	o := e.exportOpts(d, 5)
	o.TempDir = dir
	spy := &spyWriter{check: func() {
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 {
			t.Errorf("%d files in the spill directory during export", len(ents))
		}
		for _, de := range ents {
			b, _ := os.ReadFile(filepath.Join(dir, de.Name()))
			if !bytes.HasPrefix(b, []byte("age-encryption.org/v1\n")) || bytes.Contains(b, []byte("SPILLCANARY")) {
				t.Errorf("the spill file %s is not age-encrypted", de.Name())
			}
			if fi, _ := de.Info(); fi != nil && fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("the spill file is readable by others: %v", fi.Mode())
			}
		}
	}}
	if _, err := dossier.Export(e.ctx, o, spy); err != nil {
		t.Fatal(err)
	}
	if !spy.checked {
		t.Fatal("export wrote nothing")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("export left %d files in its temp dir", len(ents))
	}
	if _, err := dossier.Verify(bytes.NewReader(spy.buf.Bytes()), int64(spy.buf.Len()), []age.Identity{e.body.Identity}, e.signer.PublicText()); err != nil {
		t.Fatal(err)
	}
}

type spyWriter struct {
	buf     bytes.Buffer
	checked bool
	check   func()
}

func (s *spyWriter) Write(p []byte) (int, error) {
	if !s.checked {
		s.checked = true
		s.check()
	}
	return s.buf.Write(p)
}

// ---------------------------------------------------------------------------
// 6. Verify.

func verify(b []byte, id age.Identity, want string) (*dossier.Verified, error) {
	return dossier.Verify(bytes.NewReader(b), int64(len(b)), []age.Identity{id}, want)
}

func TestVerifyAcceptsTheBundle(t *testing.T) {
	s := newStandard(t)
	v, err := verify(s.enc, s.e.body.Identity, s.e.signer.PublicText())
	if err != nil {
		t.Fatal(err)
	}
	if v.Files != len(s.b.names)-2 || len(v.Manifest.Reports) != 6 || v.Manifest.Dossier != "cmw-lby" {
		t.Errorf("verified: %d files, %+v", v.Files, v.Manifest)
	}
	if _, err := verify(s.enc, s.e.body.Identity, ""); err != nil {
		t.Errorf("without --signer: %v", err)
	}
	// Re-encrypting the very same ZIP changes nothing that was signed.
	if _, err := verify(rezip(t, s.b.names, s.b.files, s.e.body.Recipient), s.e.body.Identity, s.e.signer.PublicText()); err != nil {
		t.Errorf("the same files, re-zipped: %v", err)
	}
}

func TestVerifyRefusesFlippedBits(t *testing.T) {
	s := newStandard(t)
	hdrEnd := bytes.Index(s.enc, []byte("\n---"))
	if hdrEnd < 0 {
		t.Fatal("no age header")
	}
	n := len(s.enc)
	pos := []int{0, 3, 22, 30, hdrEnd - 20, hdrEnd + 2, hdrEnd + 10, hdrEnd + 50, hdrEnd + 60, hdrEnd + 80}
	for i := 1; len(pos) < 18; i++ {
		pos = append(pos, hdrEnd+80+i*(n-hdrEnd-120)/9)
	}
	pos = append(pos, n-17, n-1)
	tampered, other := 0, 0
	for i, p := range pos {
		bad := bytes.Clone(s.enc)
		bad[p] ^= 1 << (i % 8)
		_, err := verify(bad, s.e.body.Identity, s.e.signer.PublicText())
		var te *dossier.ErrTampered
		switch {
		case err == nil:
			t.Errorf("a bit flipped at %d/%d passed Verify", p, n)
		case errors.As(err, &te):
			tampered++
		default:
			other++
			t.Logf("flip at %d (header ends at %d): %v", p, hdrEnd, err)
		}
	}
	t.Logf("%d flips over %d bytes: %d ErrTampered, %d other errors", len(pos), n, tampered, other)
}

func TestVerifyRefusesAChangedFile(t *testing.T) {
	s := newStandard(t)
	files := map[string][]byte{}
	for k, v := range s.b.files {
		files[k] = v
	}
	files["reports.csv"] = bytes.Replace(files["reports.csv"], []byte("DET.ARBITRARY"), []byte("DET.CHILD"), 1)
	bad := rezip(t, s.b.names, files, s.e.body.Recipient)
	open(t, bad, s.e.body.Identity) // age and zip open it fine
	_, err := verify(bad, s.e.body.Identity, s.e.signer.PublicText())
	var te *dossier.ErrTampered
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "reports.csv") || !strings.Contains(err.Error(), "hash") {
		t.Errorf("a changed reports.csv: %v", err)
	}
	// The same for the summary and an attachment.
	for _, name := range []string{"summary.html", "attachments/" + s.ids[5] + "-1.png", "reports.jsonl"} {
		files := map[string][]byte{}
		for k, v := range s.b.files {
			files[k] = v
		}
		files[name] = append(bytes.Clone(files[name]), ' ')
		if _, err := verify(rezip(t, s.b.names, files, s.e.body.Recipient), s.e.body.Identity, ""); !errors.As(err, &te) || !strings.Contains(err.Error(), name) {
			t.Errorf("a changed %s: %v", name, err)
		}
	}
}

func TestVerifyResignedManifest(t *testing.T) {
	s := newStandard(t)
	var m dossier.Manifest
	if err := json.Unmarshal(s.b.files["manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	other, _, err := crypto.LoadOrCreateSigningKey(filepath.Join(t.TempDir(), "forger.key"))
	if err != nil {
		t.Fatal(err)
	}
	// The forger changes a file, updates its hash, and signs with their key.
	files := map[string][]byte{}
	for k, v := range s.b.files {
		files[k] = v
	}
	files["summary.html"] = bytes.Replace(files["summary.html"], []byte("UN Committee on Migrant Workers"), []byte("Forged body"), -1)
	for i := range m.Files {
		if m.Files[i].Path == "summary.html" {
			sum := sha256.Sum256(files["summary.html"])
			m.Files[i].SHA256, m.Files[i].Size = hex.EncodeToString(sum[:]), int64(len(files["summary.html"]))
		}
	}
	m.Body = "Forged body"
	m.SigningKey = other.PublicText()
	mj, _ := json.MarshalIndent(&m, "", " ")
	files["manifest.json"] = mj
	files["manifest.sig"] = []byte(base64.StdEncoding.EncodeToString(ed25519.Sign(other.PrivateKey, mj)) + "\n")
	forged := rezip(t, s.b.names, files, s.e.body.Recipient)
	v, err := verify(forged, s.e.body.Identity, "")
	if err != nil || v.Manifest.SigningKey != other.PublicText() {
		t.Errorf("without --signer a self-consistent forgery passes (the CLI says to compare the key): %v", err)
	}
	_, err = verify(forged, s.e.body.Identity, s.e.signer.PublicText())
	var te *dossier.ErrTampered
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "another key") {
		t.Errorf("with the expected signer the forgery must fail: %v", err)
	}
	// Keeping the organisation's key in the manifest but signing with
	// another fails either way.
	var m2 dossier.Manifest
	json.Unmarshal(s.b.files["manifest.json"], &m2)
	m2.Body = "Forged body"
	mj2, _ := json.MarshalIndent(&m2, "", " ")
	files2 := map[string][]byte{}
	for k, v := range s.b.files {
		files2[k] = v
	}
	files2["manifest.json"] = mj2
	files2["manifest.sig"] = []byte(base64.StdEncoding.EncodeToString(ed25519.Sign(other.PrivateKey, mj2)) + "\n")
	for _, want := range []string{"", s.e.signer.PublicText()} {
		if _, err := verify(rezip(t, s.b.names, files2, s.e.body.Recipient), s.e.body.Identity, want); !errors.As(err, &te) {
			t.Errorf("a manifest signed by another key than the one it names (want %q): %v", want, err)
		}
	}
	// An unchanged manifest with a damaged signature.
	files3 := map[string][]byte{}
	for k, v := range s.b.files {
		files3[k] = v
	}
	sig, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(string(files3["manifest.sig"])))
	sig[10] ^= 4
	files3["manifest.sig"] = []byte(base64.StdEncoding.EncodeToString(sig) + "\n")
	if _, err := verify(rezip(t, s.b.names, files3, s.e.body.Recipient), s.e.body.Identity, ""); !errors.As(err, &te) || !strings.Contains(err.Error(), "signature") {
		t.Errorf("a damaged signature: %v", err)
	}
	if _, err := verify(s.enc, s.e.body.Identity, "ed25519:nonsense"); err == nil {
		t.Error("a malformed --signer was accepted")
	}
}

func TestVerifyRefusesExtraMissingOrDuplicateFiles(t *testing.T) {
	s := newStandard(t)
	var te *dossier.ErrTampered
	// An extra file.
	files := map[string][]byte{"attachments/extra.jpg": []byte("not in the manifest")}
	for k, v := range s.b.files {
		files[k] = v
	}
	names := append(slices.Clone(s.b.names), "attachments/extra.jpg")
	if _, err := verify(rezip(t, names, files, s.e.body.Recipient), s.e.body.Identity, s.e.signer.PublicText()); !errors.As(err, &te) || !strings.Contains(err.Error(), "extra.jpg") {
		t.Errorf("an extra file: %v", err)
	}
	// A missing file.
	for _, drop := range []string{"reports.jsonl", "manifest.sig", "manifest.json"} {
		var names []string
		for _, n := range s.b.names {
			if n != drop {
				names = append(names, n)
			}
		}
		if _, err := verify(rezip(t, names, s.b.files, s.e.body.Recipient), s.e.body.Identity, ""); !errors.As(err, &te) || !strings.Contains(err.Error(), drop) {
			t.Errorf("without %s: %v", drop, err)
		}
	}
	// A file twice (the second copy changed).
	var z bytes.Buffer
	zw := newZip(&z)
	for _, n := range s.b.names {
		zw.add(t, n, s.b.files[n])
	}
	zw.add(t, "reports.csv", []byte("Report ID\n#meta+id\nforged\n"))
	zw.close(t)
	if _, err := verify(encryptTo(t, z.Bytes(), s.e.body.Recipient), s.e.body.Identity, ""); !errors.As(err, &te) || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a duplicated file: %v", err)
	}
	// Not a ZIP, not age, empty.
	for what, b := range map[string][]byte{"not a zip": encryptTo(t, []byte("hello"), s.e.body.Recipient), "not age": []byte("PK\x03\x04 hello"), "empty": nil,
		"truncated": s.enc[:len(s.enc)-100]} {
		if _, err := verify(b, s.e.body.Identity, ""); err == nil {
			t.Errorf("%s passed Verify", what)
		}
	}
}

func TestVerifyWrongIdentity(t *testing.T) {
	s := newStandard(t)
	_, err := verify(s.enc, newIdentity(t).Identity, "")
	var te *dossier.ErrTampered
	if err == nil || errors.As(err, &te) || !strings.Contains(err.Error(), "cannot open") {
		t.Errorf("the wrong identity: %v (want a plain \"cannot open\", not tampering)", err)
	}
	// The desk's own key cannot open the bundle either: it is for the
	// review body only.
	if _, err := verify(s.enc, s.e.deskIdentities()[0], ""); err == nil || !strings.Contains(err.Error(), "cannot open") {
		t.Errorf("the desk key: %v", err)
	}
}
