package dossier_test

// Shared fixture for the dossier tests: a real SQLite store in a temp dir,
// real age keys (a desk wrapped to one moderator, a custodian, a review
// body), reports submitted through intake.Service, triaged with
// db.SetState, forwarded with dossier.Forward and exported with
// dossier.Export.

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"image"
	"image/gif"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/intake"
	"github.com/corridor-gateway/corridor/intake/sqlite"
	"github.com/corridor-gateway/corridor/moderation"
	"github.com/corridor-gateway/corridor/moderation/dossier"
)

// fixedNow is the intake clock: reports arrive on 2026-03-02.
var fixedNow = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

type env struct {
	tb     testing.TB
	ctx    context.Context
	db     *sqlite.DB
	svc    *intake.Service
	secret *crypto.Secret
	mod    *crypto.Identity // moderator on the default desk
	cust   *crypto.Identity // custodian
	body   *crypto.Identity // the review body
	kr     *moderation.Keyring
	signer *crypto.SigningKey
	n      int
}

func newIdentity(tb testing.TB) *crypto.Identity {
	tb.Helper()
	id, err := crypto.Generate(crypto.X25519)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(tb.TempDir(), "corridor.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	e := &env{tb: tb, ctx: ctx, db: db, mod: newIdentity(tb), cust: newIdentity(tb), body: newIdentity(tb)}
	keyID, rcpt, wraps, err := moderation.NewDeskKey(crypto.X25519, []string{e.mod.Recipient})
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.AddDesk(ctx, intake.DefaultDesk, keyID, rcpt, wraps, "admin"); err != nil {
		tb.Fatal(err)
	}
	ks, err := crypto.NewKeySet(e.cust.Recipient)
	if err != nil {
		tb.Fatal(err)
	}
	e.secret = crypto.SecretFromBytes(bytes.Repeat([]byte{0x42}, 32))
	e.svc = &intake.Service{Flow: intake.DefaultFlow(), Store: db, Secret: e.secret, Custodian: ks, Now: func() time.Time { return fixedNow }}
	if e.kr, err = moderation.Unlock(ctx, db, []*crypto.Identity{e.mod}); err != nil {
		tb.Fatal(err)
	}
	if e.signer, _, err = crypto.LoadOrCreateSigningKey(filepath.Join(tb.TempDir(), "signing.key")); err != nil {
		tb.Fatal(err)
	}
	return e
}

// sub describes one submission; zero values get sensible defaults.
type sub struct {
	channel, address, provider, language string
	testimony, topic                     string
	where, whereDetail                   string
	when, whenDetail                     string
	contact, contactDetail               string
	tag                                  string
	noShare                              bool
	attachments                          []intake.Attachment
}

// submit sends one report through the intake service and returns its id.
func (e *env) submit(s sub) string {
	e.tb.Helper()
	e.n++
	if s.channel == "" {
		s.channel = intake.ChannelWeb
	}
	if s.provider == "" {
		s.provider = fmt.Sprintf("form-%d", e.n)
	}
	if s.language == "" {
		s.language = "en"
	}
	if s.testimony == "" {
		s.testimony = fmt.Sprintf("We were held for weeks at the port, report %d.", e.n)
	}
	if s.topic == "" {
		s.topic = "DET"
	}
	scopes := []string{intake.ScopeRead, intake.ScopeShare}
	if s.noShare {
		scopes = []string{intake.ScopeRead}
	}
	ans := map[string]string{"testimony": s.testimony, "topic": s.topic}
	for k, v := range map[string]string{"where": s.where, "where.detail": s.whereDetail, "when": s.when, "when.detail": s.whenDetail,
		"contact": s.contact, "contact.detail": s.contactDetail} {
		if v != "" {
			ans[k] = v
		}
	}
	rc, err := e.svc.Submit(e.ctx, &intake.Submission{Channel: s.channel, Address: s.address, ProviderID: s.provider, Language: s.language,
		Answers: ans, Attachments: s.attachments, Tag: s.tag,
		Consent: intake.Consent{Scopes: scopes, TextVersion: "2026-11/test", Method: "form"}})
	if err != nil {
		e.tb.Fatalf("Submit: %v", err)
	}
	return rc.ReportID
}

// state moves a report through the given states (each step checked).
func (e *env) state(id string, to ...string) {
	e.tb.Helper()
	for _, s := range to {
		if err := e.db.SetState(e.ctx, id, s, "mod", moderation.CheckTransition); err != nil {
			e.tb.Fatalf("SetState %s -> %s: %v", id, s, err)
		}
	}
}

// accept moves a new report to accepted in two steps.
func (e *env) accept(id string) {
	e.tb.Helper()
	e.state(id, intake.StateInReview, intake.StateAccepted)
}

func (e *env) tag(id string, codes ...string) {
	e.tb.Helper()
	if err := e.db.AddTags(e.ctx, id, codes, "mod"); err != nil {
		e.tb.Fatal(err)
	}
}

func (e *env) meta(id string) intake.ReportMeta {
	e.tb.Helper()
	m, err := e.db.Report(e.ctx, id)
	if err != nil {
		e.tb.Fatal(err)
	}
	return m
}

type dossierOpts struct {
	body, country string
	wordLimit     int
}

func (e *env) dossier(name string, o dossierOpts) *sqlite.Dossier {
	e.tb.Helper()
	if o.body == "" {
		o.body = "UN Committee on Migrant Workers"
	}
	if err := e.db.CreateDossier(e.ctx, &sqlite.Dossier{Name: name, Body: o.body, Country: o.country, Recipients: []string{e.body.Recipient},
		WordLimit: o.wordLimit}, "mod"); err != nil {
		e.tb.Fatal(err)
	}
	d, err := e.db.Dossier(e.ctx, name)
	if err != nil {
		e.tb.Fatal(err)
	}
	return d
}

// forward forwards a report and returns the custody hash.
func (e *env) forward(d *sqlite.Dossier, id string) string {
	e.tb.Helper()
	h, err := dossier.Forward(e.ctx, e.db, e.kr, d, id, "mod")
	if err != nil {
		e.tb.Fatalf("Forward %s: %v", id, err)
	}
	return h
}

// acceptForward submits-accepted-forwards in one go.
func (e *env) acceptForward(d *sqlite.Dossier, s sub, tags ...string) (id, hash string) {
	e.tb.Helper()
	id = e.submit(s)
	if len(tags) > 0 {
		e.tag(id, tags...)
	}
	e.accept(id)
	return id, e.forward(d, id)
}

func (e *env) deskIdentities() []age.Identity {
	var ids []*crypto.Identity
	for _, kid := range e.kr.KeyIDs() {
		id, _ := e.kr.Identity(kid)
		ids = append(ids, id)
	}
	return crypto.AgeIdentities(ids)
}

func (e *env) exportOpts(d *sqlite.Dossier, k int) dossier.ExportOptions {
	return dossier.ExportOptions{DB: e.db, Dossier: d, Identities: e.deskIdentities(), Signer: e.signer, K: k,
		Generator: "corridor test", Now: fixedNow.Add(24 * time.Hour), TempDir: e.tb.TempDir()}
}

// export writes the dossier's bundle to memory.
func (e *env) export(d *sqlite.Dossier, k int) []byte {
	e.tb.Helper()
	var buf bytes.Buffer
	if _, err := dossier.Export(e.ctx, e.exportOpts(d, k), &buf); err != nil {
		e.tb.Fatalf("Export: %v", err)
	}
	return buf.Bytes()
}

func (e *env) itemCount(name string) int {
	e.tb.Helper()
	n := 0
	if err := e.db.DossierItems(e.ctx, name, func(*sqlite.DossierItem) error { n++; return nil }); err != nil {
		e.tb.Fatal(err)
	}
	return n
}

// bundle is a decrypted bundle: the ZIP bytes and its files in order.
type bundle struct {
	zip   []byte
	names []string
	files map[string][]byte
}

// open decrypts a bundle with the review body's identity (the age library,
// as a review body would) and reads every ZIP entry.
func open(tb testing.TB, enc []byte, id age.Identity) *bundle {
	tb.Helper()
	r, err := age.Decrypt(bytes.NewReader(enc), id)
	if err != nil {
		tb.Fatalf("age.Decrypt: %v", err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		tb.Fatalf("age.Decrypt: %v", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(plain), int64(len(plain)))
	if err != nil {
		tb.Fatalf("zip: %v", err)
	}
	b := &bundle{zip: plain, files: map[string][]byte{}}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			tb.Fatalf("zip %s: %v", f.Name, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatalf("zip %s: %v", f.Name, err)
		}
		if _, dup := b.files[f.Name]; dup {
			tb.Fatalf("zip: %s twice", f.Name)
		}
		b.names = append(b.names, f.Name)
		b.files[f.Name] = data
	}
	return b
}

// rezip writes names (in order) with the given contents as a new ZIP and
// encrypts it to recipient, as anyone holding the review body's public
// recipient could.
func rezip(tb testing.TB, names []string, files map[string][]byte, recipient string) []byte {
	tb.Helper()
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate, Modified: fixedNow})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write(files[n]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return encryptTo(tb, z.Bytes(), recipient)
}

func encryptTo(tb testing.TB, plain []byte, recipient string) []byte {
	tb.Helper()
	r, err := age.ParseX25519Recipient(recipient)
	if err != nil {
		tb.Fatal(err)
	}
	var out bytes.Buffer
	w, err := age.Encrypt(&out, r)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

func gifEncode(w io.Writer, img image.Image) error { return gif.Encode(w, img, nil) }

// sniff is how the web form labels an upload.
func sniff(b []byte) string { return http.DetectContentType(b) }

type zipW struct{ w *zip.Writer }

func newZip(w io.Writer) *zipW { return &zipW{zip.NewWriter(w)} }

func (z *zipW) add(tb testing.TB, name string, data []byte) {
	tb.Helper()
	f, err := z.w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: fixedNow})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		tb.Fatal(err)
	}
}

func (z *zipW) close(tb testing.TB) {
	tb.Helper()
	if err := z.w.Close(); err != nil {
		tb.Fatal(err)
	}
}
