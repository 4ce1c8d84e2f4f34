package dossier

import (
	"archive/zip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"

	"github.com/corridor-gateway/corridor/crypto"
)

// Verified is what Verify found.
type Verified struct {
	Manifest *Manifest
	Files    int
}

// ErrTampered says the bundle is not what was signed.
type ErrTampered struct{ Why string }

func (e *ErrTampered) Error() string { return "the dossier was changed or is damaged: " + e.Why }

// Verify decrypts a bundle with ids, checks the manifest's signature (with
// the key in the manifest, and with want when given) and every file's
// SHA-256, and that no file is missing or extra.
func Verify(src io.ReaderAt, size int64, ids []age.Identity, want string) (*Verified, error) {
	ra, n, err := age.DecryptReaderAt(src, size, ids...)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, errors.New("this identity cannot open the dossier")
		}
		return nil, &ErrTampered{"it does not decrypt"}
	}
	zr, err := zip.NewReader(ra, n)
	if err != nil {
		return nil, &ErrTampered{"it is not a readable ZIP"}
	}
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		if _, dup := files[f.Name]; dup {
			return nil, &ErrTampered{"a file appears twice: " + f.Name}
		}
		files[f.Name] = f
	}
	read := func(name string, limit int64) ([]byte, error) {
		f, ok := files[name]
		if !ok {
			return nil, &ErrTampered{name + " is missing"}
		}
		rc, err := f.Open()
		if err != nil {
			return nil, &ErrTampered{name + " does not open"}
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, limit))
		if err != nil {
			return nil, &ErrTampered{name + " is damaged"}
		}
		return b, nil
	}
	mj, err := read("manifest.json", 256<<20)
	if err != nil {
		return nil, err
	}
	sig, err := read("manifest.sig", 1024)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(mj, &m); err != nil || m.Format != Format {
		return nil, &ErrTampered{"manifest.json is not a Corridor manifest"}
	}
	pub, err := crypto.ParseSigningPublic(m.SigningKey)
	if err != nil {
		return nil, &ErrTampered{"the manifest names no valid signing key"}
	}
	if want != "" {
		wp, err := crypto.ParseSigningPublic(want)
		if err != nil {
			return nil, fmt.Errorf("the expected signing key is not an ed25519 public key")
		}
		if !wp.Equal(pub) {
			return nil, &ErrTampered{"it was signed with another key than the one expected"}
		}
	}
	s, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sig)))
	if err != nil || !ed25519.Verify(pub, mj, s) {
		return nil, &ErrTampered{"the manifest's signature does not verify"}
	}
	listed := map[string]bool{"manifest.json": true, "manifest.sig": true}
	for _, mf := range m.Files {
		listed[mf.Path] = true
		f, ok := files[mf.Path]
		if !ok {
			return nil, &ErrTampered{mf.Path + " is missing"}
		}
		rc, err := f.Open()
		if err != nil {
			return nil, &ErrTampered{mf.Path + " does not open"}
		}
		h := sha256.New()
		nn, err := io.Copy(h, rc)
		rc.Close()
		if err != nil || nn != mf.Size || hex.EncodeToString(h.Sum(nil)) != mf.SHA256 {
			return nil, &ErrTampered{mf.Path + " does not match its hash in the manifest"}
		}
	}
	for name := range files {
		if !listed[name] {
			return nil, &ErrTampered{name + " is not listed in the manifest"}
		}
	}
	return &Verified{Manifest: &m, Files: len(m.Files)}, nil
}
