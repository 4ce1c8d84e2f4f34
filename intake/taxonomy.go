package intake

import (
	_ "embed"
	"encoding/csv"
	"strings"
)

// The domain data is embedded as shipped in shared/domain, not retyped.
var (
	//go:embed domain/taxonomy.csv
	taxonomyCSV string
	//go:embed domain/gcm-objectives.csv
	gcmCSV string
)

// Category is one code of the protection taxonomy.
type Category struct {
	Code          string
	Parent        string
	Label         string
	GCMObjectives []string
}

// Taxonomy returns every category in file order.
func Taxonomy() []Category {
	rows, err := csv.NewReader(strings.NewReader(taxonomyCSV)).ReadAll()
	if err != nil {
		panic("embedded taxonomy is invalid: " + err.Error())
	}
	var out []Category
	for _, r := range rows[1:] {
		c := Category{Code: r[0], Parent: r[1], Label: r[2]}
		if r[3] != "" {
			c.GCMObjectives = strings.Split(r[3], ";")
		}
		out = append(out, c)
	}
	return out
}

// TopCategories returns the categories without a parent.
func TopCategories() []Category {
	var out []Category
	for _, c := range Taxonomy() {
		if c.Parent == "" {
			out = append(out, c)
		}
	}
	return out
}

// GCMObjective is one of the 23 objectives of the Global Compact.
type GCMObjective struct{ Num, Short, Title string }

// GCMObjectives returns the 23 objectives.
func GCMObjectives() []GCMObjective {
	rows, err := csv.NewReader(strings.NewReader(gcmCSV)).ReadAll()
	if err != nil {
		panic("embedded GCM objectives are invalid: " + err.Error())
	}
	var out []GCMObjective
	for _, r := range rows[1:] {
		out = append(out, GCMObjective{r[0], r[1], r[2]})
	}
	return out
}
