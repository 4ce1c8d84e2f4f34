package intake

// DefaultDesk receives everything no rule routes elsewhere.
const DefaultDesk = "default"

// Rule routes reports matching every non-empty field to Desk.
type Rule struct {
	Language string `toml:"language"`
	Topic    string `toml:"topic"`
	Channel  string `toml:"channel"`
	Desk     string `toml:"desk"`
}

// Route picks the desk for a report: the first matching rule, else the
// default desk.
func Route(rules []Rule, language, topic, channel string) string {
	for _, r := range rules {
		if r.Desk == "" {
			continue
		}
		if (r.Language == "" || r.Language == language) &&
			(r.Topic == "" || r.Topic == topic) &&
			(r.Channel == "" || r.Channel == channel) {
			return r.Desk
		}
	}
	return DefaultDesk
}
