// Package metrics keeps Corridor's operational counters and latency
// histograms and writes them in the Prometheus text format.
//
// Labels are drawn from closed sets (channel, outcome): this package must
// never be given a sender address, a pseudonym, an id or anything a sender
// wrote as a label.
package metrics

import (
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// Buckets for latency histograms, in seconds.
var Buckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

type histogram struct {
	counts []uint64
	sum    float64
	n      uint64
}

// Registry holds the figures. The zero value is not usable; use New.
type Registry struct {
	mu     sync.Mutex
	intake map[[2]string]uint64
	hists  map[string]*histogram
	deliv  map[string]uint64
	help   map[string]string
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{
		intake: map[[2]string]uint64{},
		hists:  map[string]*histogram{},
		deliv:  map[string]uint64{},
		help: map[string]string{
			"corridor_seal_seconds":   "Time to seal one submission with age.",
			"corridor_commit_seconds": "Time from queueing a submission to its durable commit.",
		},
	}
}

var knownChannels = map[string]bool{"sms": true, "whatsapp": true, "telegram": true, "web": true}

// Intake counts one inbound by channel and outcome.
func (r *Registry) Intake(channel, outcome string) {
	if !knownChannels[channel] {
		channel = "other"
	}
	r.mu.Lock()
	r.intake[[2]string{channel, outcome}]++
	r.mu.Unlock()
}

// Delivery counts one provider delivery outcome (a closed set of words).
func (r *Registry) Delivery(status string) {
	r.mu.Lock()
	r.deliv[status]++
	r.mu.Unlock()
}

// Seal records the time to seal one submission.
func (r *Registry) Seal(d time.Duration) { r.observe("corridor_seal_seconds", d) }

// Commit records the time to commit one submission.
func (r *Registry) Commit(d time.Duration) { r.observe("corridor_commit_seconds", d) }

func (r *Registry) observe(name string, d time.Duration) {
	s := d.Seconds()
	r.mu.Lock()
	h := r.hists[name]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(Buckets))}
		r.hists[name] = h
	}
	for i, b := range Buckets {
		if s <= b {
			h.counts[i]++
		}
	}
	h.sum += s
	h.n++
	r.mu.Unlock()
}

// WriteTo writes every figure in the Prometheus text format.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cw := &countWriter{w: w}
	fmt.Fprintf(cw, "# HELP corridor_intake_total Inbound submissions by channel and outcome.\n# TYPE corridor_intake_total counter\n")
	keys := make([][2]string, 0, len(r.intake))
	for k := range r.intake {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
	for _, k := range keys {
		fmt.Fprintf(cw, "corridor_intake_total{channel=%q,outcome=%q} %d\n", k[0], k[1], r.intake[k])
	}
	fmt.Fprintf(cw, "# HELP corridor_delivery_total Outcomes of our replies reported by providers.\n# TYPE corridor_delivery_total counter\n")
	dk := make([]string, 0, len(r.deliv))
	for k := range r.deliv {
		dk = append(dk, k)
	}
	sort.Strings(dk)
	for _, k := range dk {
		fmt.Fprintf(cw, "corridor_delivery_total{status=%q} %d\n", k, r.deliv[k])
	}
	for _, name := range []string{"corridor_seal_seconds", "corridor_commit_seconds"} {
		fmt.Fprintf(cw, "# HELP %s %s\n# TYPE %s histogram\n", name, r.help[name], name)
		h := r.hists[name]
		if h == nil {
			h = &histogram{counts: make([]uint64, len(Buckets))}
		}
		for i, b := range Buckets {
			fmt.Fprintf(cw, "%s_bucket{le=\"%g\"} %d\n", name, b, h.counts[i])
		}
		fmt.Fprintf(cw, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %g\n%s_count %d\n", name, h.n, name, h.sum, name, h.n)
	}
	return cw.n, cw.err
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
