package telegram_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/corridor-gateway/corridor/intake/sqlite"
)

// Found while writing these tests (subtest names with '#' or '%' end up in
// t.TempDir()): the store builds its DSN as "file:" + path without
// escaping, so a data dir with '#' or '%' in its name opens another file.
func TestStoreDataDirWithHash(t *testing.T) {
	for _, name := range []string{"data#2", "data%41"} {
		base := t.TempDir()
		dir := filepath.Join(base, name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "corridor.db")
		db, err := sqlite.Open(path)
		if err != nil {
			t.Errorf("BUG: sqlite.Open(%q): %v (the DSN does not escape the path)", filepath.Join(name, "corridor.db"), err)
			continue
		}
		db.Close()
		if _, err := os.Stat(path); err != nil {
			ents, _ := os.ReadDir(base)
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Errorf("BUG: sqlite.Open(%q) did not create that file; the data dir's parent holds %q (the DSN does not escape the path)",
				filepath.Join(name, "corridor.db"), names)
		}
	}
}
