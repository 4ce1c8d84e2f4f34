package intake

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/language"
)

// Step kinds.
const (
	KindLanguage = "language"
	KindConsent  = "consent"
	KindText     = "text"
	KindPeriod   = "period"
	KindCountry  = "country"
	KindChoice   = "choice"
	KindContact  = "contact"
	KindConfirm  = "confirm"
)

// Option is one choice of a menu step.
type Option struct {
	ID    string `json:"id"`
	Label string `json:"label"` // i18n message id
}

// Scope is one consent item.
type Scope struct {
	ID       string `json:"id"`
	Label    string `json:"label"`
	Required bool   `json:"required,omitempty"`
}

// Step is one question of the flow. Prompt, Text, Detail and labels are
// i18n message ids, never text.
type Step struct {
	ID          string   `json:"id"`
	Kind        string   `json:"kind"`
	Prompt      string   `json:"prompt"`
	Text        []string `json:"text,omitempty"`
	Detail      string   `json:"detail,omitempty"`      // id of the optional second field (month, area, how)
	Attachments string   `json:"attachments,omitempty"` // label id when files may be added
	Required    bool     `json:"required,omitempty"`
	Redact      bool     `json:"redact,omitempty"`
	Routes      bool     `json:"routes,omitempty"` // the answer is the routing topic
	Options     []Option `json:"options,omitempty"`
	Scopes      []Scope  `json:"scopes,omitempty"`
}

// Flow is the conversation as data: the same for every channel.
type Flow struct {
	Version        int    `json:"version"`
	ConsentVersion string `json:"consent_version"`
	Steps          []Step `json:"steps"`
}

//go:embed flow.json
var defaultFlow []byte

// DefaultFlow is the embedded flow.
func DefaultFlow() *Flow {
	f, err := ParseFlow(defaultFlow)
	if err != nil {
		panic("embedded flow is invalid: " + err.Error())
	}
	return f
}

// LoadFlow reads a flow override from path, or returns the embedded flow
// when path does not exist.
func LoadFlow(path string) (*Flow, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return DefaultFlow(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the flow file %s", path)
	}
	f, err := ParseFlow(data)
	if err != nil {
		return nil, fmt.Errorf("the flow file %s is invalid: %v", path, err)
	}
	return f, nil
}

// ParseFlow parses and checks a flow definition.
func ParseFlow(data []byte) (*Flow, error) {
	var f Flow
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var hasConsent, hasText bool
	for i, s := range f.Steps {
		if s.ID == "" || strings.ContainsAny(s.ID, ". \n") {
			return nil, fmt.Errorf("step %d has a bad id", i+1)
		}
		if seen[s.ID] {
			return nil, fmt.Errorf("step id %q is used twice", s.ID)
		}
		seen[s.ID] = true
		if s.Prompt == "" {
			return nil, fmt.Errorf("step %q has no prompt", s.ID)
		}
		switch s.Kind {
		case KindConsent:
			hasConsent = true
			req := false
			for _, sc := range s.Scopes {
				req = req || (sc.ID == ScopeRead && sc.Required)
			}
			if !req {
				return nil, errors.New("the consent step must require the read scope")
			}
		case KindText:
			hasText = true
		case KindChoice, KindPeriod, KindContact:
			if len(s.Options) == 0 {
				return nil, fmt.Errorf("step %q has no options", s.ID)
			}
		case KindLanguage, KindCountry, KindConfirm:
		default:
			return nil, fmt.Errorf("step %q has unknown kind %q", s.ID, s.Kind)
		}
		if hasText && !hasConsent {
			return nil, errors.New("consent must come before any free text")
		}
	}
	if !hasConsent || !hasText {
		return nil, errors.New("a flow needs a consent step and a text step")
	}
	return &f, nil
}

// Step returns the step with id.
func (f *Flow) Step(id string) (Step, bool) {
	for _, s := range f.Steps {
		if s.ID == id {
			return s, true
		}
	}
	return Step{}, false
}

// ConsentStep returns the consent step.
func (f *Flow) ConsentStep() Step {
	for _, s := range f.Steps {
		if s.Kind == KindConsent {
			return s
		}
	}
	return Step{}
}

// FieldError is a validation problem with one answer. Msg is an i18n id.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return "field " + e.Field + ": " + e.Msg }

// MaxAnswer bounds one free-text answer (bytes).
const MaxAnswer = 64 << 10

var monthRE = regexp.MustCompile(`^(19|20)\d\d-(0[1-9]|1[0-2])$`)

// Option returns the option of step with the given id.
func (s Step) Option(id string) (Option, bool) {
	for _, o := range s.Options {
		if o.ID == id {
			return o, true
		}
	}
	return Option{}, false
}

// Normalize checks raw answers against the flow and returns the cleaned set
// (field id -> value). Field ids are the step id, plus "<step>.detail" for a
// step's second field. Free text is kept byte for byte.
func (f *Flow) Normalize(raw map[string]string) (map[string]string, *FieldError) {
	out := map[string]string{}
	for _, s := range f.Steps {
		v := raw[s.ID]
		d := raw[s.ID+".detail"]
		switch s.Kind {
		case KindText:
			if len(v) > MaxAnswer {
				return nil, &FieldError{s.ID, "error.too_large"}
			}
			if s.Required && strings.TrimSpace(v) == "" {
				return nil, &FieldError{s.ID, "error.testimony_required"}
			}
			if v != "" {
				out[s.ID] = v
			}
		case KindPeriod:
			d = strings.TrimSpace(d)
			if d != "" {
				if !monthRE.MatchString(d) {
					return nil, &FieldError{s.ID, "error.bad_month"}
				}
				out[s.ID] = d
				continue
			}
			if v != "" {
				if _, ok := s.Option(v); !ok {
					return nil, &FieldError{s.ID, "error.bad_choice"}
				}
				out[s.ID] = v
			}
		case KindCountry:
			if v != "" {
				if _, ok := s.Option(v); ok {
					out[s.ID] = v
				} else if iso3, ok := CountryISO3(v); ok {
					out[s.ID] = iso3
				} else {
					return nil, &FieldError{s.ID, "error.bad_choice"}
				}
			}
			if len(d) > MaxAnswer {
				return nil, &FieldError{s.ID, "error.too_large"}
			}
			if strings.TrimSpace(d) != "" {
				out[s.ID+".detail"] = d
			}
		case KindChoice, KindContact:
			if v != "" {
				if _, ok := s.Option(v); !ok {
					return nil, &FieldError{s.ID, "error.bad_choice"}
				}
				out[s.ID] = v
			}
			if s.Kind == KindContact && v == "yes" && strings.TrimSpace(d) != "" {
				if len(d) > MaxAnswer {
					return nil, &FieldError{s.ID, "error.too_large"}
				}
				out[s.ID+".detail"] = d
			}
		}
	}
	return out, nil
}

// CountryISO3 accepts an ISO 3166-1 alpha-2 or alpha-3 code and returns the
// alpha-3 code of a country.
func CountryISO3(code string) (string, bool) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if !utf8.ValidString(code) || (len(code) != 2 && len(code) != 3) {
		return "", false
	}
	r, err := language.ParseRegion(code)
	if err != nil || !r.IsCountry() {
		return "", false
	}
	return r.ISO3(), true
}

// Countries lists ISO 3166-1 alpha-2 codes of every country x/text knows.
func Countries() []string {
	var out []string
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			c := string([]rune{a, b})
			r, err := language.ParseRegion(c)
			if err != nil || !r.IsCountry() || r.String() != c {
				continue
			}
			out = append(out, c)
		}
	}
	return out
}
