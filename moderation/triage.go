package moderation

import (
	"fmt"
	"slices"

	"github.com/corridor-gateway/corridor/intake"
)

// transitions lists the states a report may move to from each state.
// Any state may move to archived.
var transitions = map[string][]string{
	intake.StateIncomplete:    {intake.StateInReview},
	intake.StateNew:           {intake.StateInReview},
	intake.StateInReview:      {intake.StateAccepted, intake.StateNeedsFollowUp, intake.StateRejected},
	intake.StateNeedsFollowUp: {intake.StateInReview},
	intake.StateAccepted:      {intake.StateForwarded},
}

// States lists every report state.
var States = []string{intake.StateIncomplete, intake.StateNew, intake.StateInReview, intake.StateAccepted,
	intake.StateNeedsFollowUp, intake.StateRejected, intake.StateForwarded, intake.StateArchived}

// IllegalTransition is a state change the triage rules refuse.
type IllegalTransition struct{ From, To string }

func (e *IllegalTransition) Error() string {
	return fmt.Sprintf("a report cannot move from %s to %s", e.From, e.To)
}

// CheckTransition says whether a report may move from one state to another.
func CheckTransition(from, to string) error {
	if !slices.Contains(States, to) {
		return fmt.Errorf("%q is not a report state (one of %v)", to, States)
	}
	if to == intake.StateArchived && from != intake.StateArchived {
		return nil
	}
	if slices.Contains(transitions[from], to) {
		return nil
	}
	return &IllegalTransition{From: from, To: to}
}

// Taxonomy codes, for tagging.
var taxonomy = func() map[string]intake.Category {
	m := map[string]intake.Category{}
	for _, c := range intake.Taxonomy() {
		m[c.Code] = c
	}
	return m
}()

// CheckTags refuses codes outside the protection taxonomy.
func CheckTags(codes []string) error {
	if len(codes) == 0 {
		return fmt.Errorf("give at least one taxonomy code")
	}
	for _, c := range codes {
		if _, ok := taxonomy[c]; !ok {
			return fmt.Errorf("%q is not a code of the protection taxonomy", c)
		}
	}
	return nil
}

// GCMObjectives derives the Global Compact objectives of a set of codes.
func GCMObjectives(codes []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range codes {
		for _, o := range taxonomy[c].GCMObjectives {
			if !seen[o] {
				seen[o] = true
				out = append(out, o)
			}
		}
	}
	slices.Sort(out)
	return out
}
