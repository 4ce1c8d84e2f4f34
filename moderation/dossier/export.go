package dossier

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"filippo.io/age"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/intake"
	"github.com/corridor-gateway/corridor/intake/sqlite"
)

//go:embed hxl-columns.csv
var hxlCSV string

// Format names the bundle layout.
const Format = "corridor-dossier/v1"

// Manifest is manifest.json: what a review body checks.
type Manifest struct {
	Format          string         `json:"format"`
	Dossier         string         `json:"dossier"`
	Body            string         `json:"review_body"`
	Country         string         `json:"country"`
	Publishable     bool           `json:"publishable"`
	Generated       string         `json:"generated"`
	Generator       string         `json:"generator"`
	TaxonomyVersion string         `json:"taxonomy_version"`
	SigningKey      string         `json:"signing_key"`
	K               int            `json:"k_anonymity"`
	Files           []ManifestFile `json:"files"`
	Reports         []ManifestItem `json:"reports"`
}

// ManifestFile is one file of the bundle and its hash.
type ManifestFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// ManifestItem is one report and its custody record.
type ManifestItem struct {
	ReportID      string `json:"report_id"`
	SHA256        string `json:"sha256"`
	VersionSHA256 string `json:"version_sha256"`
	AddedBy       string `json:"added_by"`
	AddedAt       string `json:"added_at"`
}

// ExportOptions says what to export and how.
type ExportOptions struct {
	DB         *sqlite.DB
	Dossier    *sqlite.Dossier
	Identities []age.Identity // desk identities that open the frozen items
	Signer     *crypto.SigningKey
	K          int // small-cell threshold (default 5)
	Generator  string
	Now        time.Time
	TempDir    string // for the encrypted spill (default os.TempDir())
}

// Stats is what an export counted.
type Stats struct {
	Reports     int
	Attachments int
}

type aggregates struct {
	gcm, category, country, month map[string]int
	// cells for small-cell suppression: place, place x month, area,
	// area x month
	place, placeMonth, area, areaMonth map[string]int
}

func newAggregates() *aggregates {
	return &aggregates{gcm: map[string]int{}, category: map[string]int{}, country: map[string]int{}, month: map[string]int{},
		place: map[string]int{}, placeMonth: map[string]int{}, area: map[string]int{}, areaMonth: map[string]int{}}
}

// Export writes the dossier as an age-encrypted ZIP to out, for the review
// body's recipients. Items are decrypted once, into a spill file
// age-encrypted to a key held only in memory, so memory stays flat.
func Export(ctx context.Context, o ExportOptions, out io.Writer) (*Stats, error) {
	if o.K <= 0 {
		o.K = 5
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	bodyKS, err := crypto.NewKeySet(o.Dossier.Recipients...)
	if err != nil {
		return nil, fmt.Errorf("the review body's recipients: %w", err)
	}
	spillID, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	spill, err := os.CreateTemp(o.TempDir, "corridor-spill-*.age")
	if err != nil {
		return nil, errors.New("cannot create the spill file")
	}
	defer os.Remove(spill.Name())
	defer spill.Close()

	// Pass 1: open every item once; spill it encrypted; count.
	agg := newAggregates()
	m := &Manifest{Format: Format, Dossier: o.Dossier.Name, Body: o.Dossier.Body, Country: o.Dossier.Country,
		Publishable: o.Dossier.Publishable, Generated: o.Now.UTC().Format(time.RFC3339), Generator: o.Generator,
		TaxonomyVersion: taxonomyVersion(), SigningKey: o.Signer.PublicText(), K: o.K}
	bw := bufio.NewWriterSize(spill, 1<<16)
	sw, err := age.Encrypt(bw, spillID.Recipient())
	if err != nil {
		return nil, err
	}
	stats := &Stats{}
	reports := &custody{intern: map[string]string{}}
	// Items are opened in small batches on every core, then handled in
	// order; a batch bounds the memory.
	const batchSize = 64
	var batch []*sqlite.DossierItem
	flush := func() error {
		type opened struct {
			item  *Item
			plain []byte
			err   error
		}
		res := make([]opened, len(batch))
		var wg sync.WaitGroup
		workers := runtime.GOMAXPROCS(0)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; i < len(batch); i += workers {
					res[i].item, res[i].plain, res[i].err = openItem(o.Identities, o.Dossier.Name, batch[i], batch[i].DeskBlob)
				}
			}(w)
		}
		wg.Wait()
		for i, r := range res {
			if r.err != nil {
				return r.err
			}
			if _, err := sw.Write(append(r.plain, '\n')); err != nil {
				return err
			}
			agg.add(r.item)
			stats.Reports++
			stats.Attachments += len(r.item.Attachments)
			di := batch[i]
			reports.add(r.item.ReportID, di.SHA256, r.item.VersionSHA256, di.AddedBy, di.AddedAt)
		}
		batch = batch[:0]
		return nil
	}
	err = o.DB.DossierItems(ctx, o.Dossier.Name, func(di *sqlite.DossierItem) error {
		batch = append(batch, di)
		if len(batch) == batchSize {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return nil, err
	}
	if err := sw.Close(); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}

	// Pass 2: the bundle, one ZIP entry at a time, each hashed as written.
	aw, err := age.Encrypt(out, bodyKS.Recipients...)
	if err != nil {
		return nil, err
	}
	zw := zip.NewWriter(aw)
	each := func(fn func(*Item) error) error {
		if _, err := spill.Seek(0, io.SeekStart); err != nil {
			return err
		}
		r, err := age.Decrypt(bufio.NewReaderSize(spill, 1<<16), spillID)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(r)
		for {
			var it Item
			if err := dec.Decode(&it); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			// Small cells leave no trace of place, in any file (R9).
			agg.suppress(&it, o.K)
			if err := fn(&it); err != nil {
				return err
			}
		}
	}
	entry := func(path string, fn func(w io.Writer) error) error {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: path, Method: zip.Deflate, Modified: o.Now.UTC()})
		if err != nil {
			return err
		}
		h := sha256.New()
		cw := &countWriter{w: io.MultiWriter(f, h)}
		if err := fn(cw); err != nil {
			return err
		}
		m.Files = append(m.Files, ManifestFile{Path: path, SHA256: hex.EncodeToString(h.Sum(nil)), Size: cw.n})
		return nil
	}
	if err := entry("reports.jsonl", func(w io.Writer) error {
		enc := json.NewEncoder(w)
		return each(func(it *Item) error {
			line := *it
			line.Attachments = nil
			return enc.Encode(struct {
				Item
				AttachmentFiles []string `json:"attachment_files,omitempty"`
			}{line, attachmentPaths(it)})
		})
	}); err != nil {
		return nil, err
	}
	if err := entry("reports.csv", func(w io.Writer) error { return writeCSV(w, each, agg, o.K) }); err != nil {
		return nil, err
	}
	if err := entry("summary.html", func(w io.Writer) error { return writeSummary(w, m, stats.Reports, agg, each) }); err != nil {
		return nil, err
	}
	if err := each(func(it *Item) error {
		for i, a := range it.Attachments {
			if a.Data == nil {
				continue
			}
			if err := entry(attachmentPaths(it)[i], func(w io.Writer) error { _, err := w.Write(a.Data); return err }); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	mj, err := reports.manifestJSON(m)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"manifest.json", mj}, {"manifest.sig", []byte(base64.StdEncoding.EncodeToString(ed25519.Sign(o.Signer.PrivateKey, mj)) + "\n")}} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: o.Now.UTC()})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return stats, aw.Close()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func attachmentPaths(it *Item) []string {
	var out []string
	for i, a := range it.Attachments {
		ext := ".bin"
		switch a.ContentType {
		case "image/jpeg":
			ext = ".jpg"
		case "image/png":
			ext = ".png"
		case "application/pdf":
			ext = ".pdf"
		case "audio/mpeg":
			ext = ".mp3"
		case "audio/ogg", "application/ogg":
			ext = ".ogg"
		}
		out = append(out, fmt.Sprintf("attachments/%s-%d%s", it.ReportID, i+1, ext))
	}
	return out
}

func taxonomyVersion() string {
	h := sha256.New()
	for _, c := range intake.Taxonomy() {
		fmt.Fprintf(h, "%s|%s|%s|%s\n", c.Code, c.Parent, c.Label, strings.Join(c.GCMObjectives, ";"))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}

var categories = func() map[string]intake.Category {
	m := map[string]intake.Category{}
	for _, c := range intake.Taxonomy() {
		m[c.Code] = c
	}
	return m
}()

func topOf(code string) string {
	if c, ok := categories[code]; ok && c.Parent != "" {
		return c.Parent
	}
	return code
}

func (a *aggregates) add(it *Item) {
	for _, g := range it.GCM {
		a.gcm[g]++
	}
	seen := map[string]bool{}
	for _, t := range it.Tags {
		if top := topOf(t); !seen[top] {
			seen[top] = true
			a.category[top]++
		}
	}
	a.country[orDash(it.Country)]++
	month := it.Incident
	if len(month) != 7 {
		month = it.Reported
		if len(month) >= 7 {
			month = month[:7]
		}
	}
	a.month[month]++
	area := it.Country + "\x00" + strings.ToLower(strings.TrimSpace(it.Area))
	a.place[it.Country]++
	a.placeMonth[it.Country+"\x00"+it.Incident]++
	a.area[area]++
	a.areaMonth[area+"\x00"+it.Incident]++
}

// suppress blanks the place of a report whose place, or place and month,
// fewer than k reports share (R9: no rare place x date combination).
func (a *aggregates) suppress(it *Item, k int) {
	area := it.Country + "\x00" + strings.ToLower(strings.TrimSpace(it.Area))
	if a.area[area] < k || a.areaMonth[area+"\x00"+it.Incident] < k {
		it.Area = ""
		delete(it.Answers, "where.detail")
	}
	if a.place[it.Country] < k || a.placeMonth[it.Country+"\x00"+it.Incident] < k {
		it.Country, it.Area = "", ""
		delete(it.Answers, "where")
		delete(it.Answers, "where.detail")
		if it.Facets != nil {
			delete(it.Facets, "country")
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// neutral keeps a spreadsheet from running a cell as a formula.
func neutral(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func hxlColumns() ([]string, []string) {
	rows, err := csv.NewReader(strings.NewReader(hxlCSV)).ReadAll()
	if err != nil {
		panic("embedded HXL columns are invalid")
	}
	var head, tags []string
	for _, r := range rows[1:] {
		head = append(head, r[0])
		tags = append(tags, r[1])
	}
	return head, tags
}

func writeCSV(w io.Writer, each func(func(*Item) error) error, agg *aggregates, k int) error {
	cw := csv.NewWriter(w)
	head, tags := hxlColumns()
	if err := cw.Write(head); err != nil {
		return err
	}
	if err := cw.Write(tags); err != nil {
		return err
	}
	err := each(func(it *Item) error {
		country, area := it.Country, it.Area
		labels := make([]string, 0, len(it.Tags))
		for _, t := range it.Tags {
			labels = append(labels, categories[t].Label)
		}
		v := map[string]string{
			"Report ID": it.ReportID, "Intake channel": it.Channel, "Date reported": it.Reported, "Incident date": it.Incident,
			"Country of incident": country, "Admin1 of incident": area, "Incident category": strings.Join(it.Tags, ";"),
			"Incident category label": strings.Join(labels, ";"), "GCM objectives": strings.Join(it.GCM, ";"),
			"Perpetrator type": it.Facets["perpetrator"], "Severity": it.Facets["severity"], "Verification status": it.Facets["verification"],
			"Testimony language": it.Language, "Integrity hash": it.VersionSHA256,
		}
		row := make([]string, len(head))
		for i, h := range head {
			row[i] = neutral(v[h])
		}
		return cw.Write(row)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

type count struct {
	Key   string
	Label string
	N     int
}

func sorted(m map[string]int, label func(string) string) []count {
	var out []count
	for k, n := range m {
		out = append(out, count{k, label(k), n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].N != out[j].N {
			return out[i].N > out[j].N
		}
		return out[i].Key < out[j].Key
	})
	return out
}

var gcmTitles = func() map[string]string {
	m := map[string]string{}
	for _, o := range intake.GCMObjectives() {
		m[o.Num] = o.Title
	}
	return m
}()

var summaryHead = template.Must(template.New("h").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.M.Dossier}} — {{.M.Body}}</title>
<style>
body{font-family:"Noto Sans","Noto Sans Arabic",system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#111}
h1{font-size:1.5rem}h2{font-size:1.2rem;border-bottom:1px solid #999;margin-top:2rem}
table{border-collapse:collapse;margin:0.5rem 0}td,th{border:1px solid #bbb;padding:0.2rem 0.6rem;text-align:start}
article{border-top:1px solid #ccc;padding-top:0.6rem;margin-top:1rem;break-inside:avoid}
.meta{color:#444;font-size:0.9rem}.testimony{white-space:pre-wrap}
@media print{body{margin:0;max-width:none}article{page-break-inside:avoid}}
</style></head><body>
<h1>{{.M.Dossier}}</h1>
<p class="meta">Review body: {{.M.Body}} · State: {{.M.Country}} · {{.N}} reports · generated {{.M.Generated}} by {{.M.Generator}}<br>
Signed with {{.M.SigningKey}}; check with <code>corridor dossier verify</code>.</p>
<h2>By Global Compact objective</h2><table>{{range .GCM}}<tr><td>{{.Key}}</td><td>{{.Label}}</td><td>{{.N}}</td></tr>{{end}}</table>
<h2>By category</h2><table>{{range .Category}}<tr><td>{{.Key}}</td><td>{{.Label}}</td><td>{{.N}}</td></tr>{{end}}</table>
<h2>By country</h2><table>{{range .Country}}<tr><td>{{.Key}}</td><td>{{.N}}</td></tr>{{end}}</table>
<h2>By month</h2><table>{{range .Month}}<tr><td>{{.Key}}</td><td>{{.N}}</td></tr>{{end}}</table>
<h2>Reports</h2>
`))

var summaryItem = template.Must(template.New("i").Parse(`<article id="r-{{.ReportID}}"><p class="meta"><strong>{{.ReportID}}</strong> · {{.Reported}} · incident {{.Incident}} · {{.Country}} · {{range .Tags}}{{.}} {{end}}</p>
<p class="testimony" dir="auto" lang="{{.Language}}">{{.Testimony}}</p></article>
`))

func writeSummary(w io.Writer, m *Manifest, n int, agg *aggregates, each func(func(*Item) error) error) error {
	data := map[string]any{
		"M":        m,
		"N":        n,
		"GCM":      sorted(agg.gcm, func(k string) string { return gcmTitles[k] }),
		"Category": sorted(agg.category, func(k string) string { return categories[k].Label }),
		"Country":  sorted(agg.country, func(string) string { return "" }),
		"Month":    sorted(agg.month, func(string) string { return "" }),
	}
	if err := summaryHead.Execute(w, data); err != nil {
		return err
	}
	if err := each(func(it *Item) error { return summaryItem.Execute(w, it) }); err != nil {
		return err
	}
	_, err := io.WriteString(w, "</body></html>\n")
	return err
}

// custody keeps the manifest's report list compactly (hashes as bytes,
// repeated names and times shared), since it is the one thing an export
// holds for every report until the end.
type custody struct {
	rows   []custodyRow
	intern map[string]string
}

type custodyRow struct {
	id           string
	sha, version [32]byte
	by, at       string
}

func (c *custody) str(s string) string {
	if v, ok := c.intern[s]; ok {
		return v
	}
	c.intern[s] = s
	return s
}

func (c *custody) add(id, sha, version, by, at string) {
	var r custodyRow
	r.id, r.by, r.at = id, c.str(by), c.str(at)
	hex.Decode(r.sha[:], []byte(sha))
	hex.Decode(r.version[:], []byte(version))
	c.rows = append(c.rows, r)
}

// manifestJSON writes m with the report list, one report at a time.
func (c *custody) manifestJSON(m *Manifest) ([]byte, error) {
	m.Reports = nil
	head, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(len(head) + len(c.rows)*230)
	// {"format":...,"reports":null} -> {"format":...,"reports":[...]}
	b.Write(head[:bytes.LastIndex(head, []byte("null}"))])
	b.WriteByte('[')
	for i, r := range c.rows {
		if i > 0 {
			b.WriteByte(',')
		}
		row, err := json.Marshal(ManifestItem{ReportID: r.id, SHA256: hex.EncodeToString(r.sha[:]), VersionSHA256: hex.EncodeToString(r.version[:]),
			AddedBy: r.by, AddedAt: r.at})
		if err != nil {
			return nil, err
		}
		b.Write(row)
	}
	b.WriteString("]}")
	c.rows = nil
	return b.Bytes(), nil
}
