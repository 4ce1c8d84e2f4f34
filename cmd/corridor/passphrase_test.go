package main

import (
	"os"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// encryptWithPassphrase writes what `age -p -a` would.
func encryptWithPassphrase(path string, plain []byte, pass string) error {
	r, err := age.NewScryptRecipient(pass)
	if err != nil {
		return err
	}
	r.SetWorkFactor(10)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	aw := armor.NewWriter(f)
	w, err := age.Encrypt(aw, r)
	if err != nil {
		return err
	}
	if _, err := w.Write(plain); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return aw.Close()
}
