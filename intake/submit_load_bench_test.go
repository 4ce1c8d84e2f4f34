package intake_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/corridor-gateway/corridor/crypto"
	"github.com/corridor-gateway/corridor/intake"
)

// BenchmarkSubmitManySenders is issue 2's throughput figure: many senders
// at once (as a busy kiosk network or webhook burst), so the group-commit
// writer batches.
func BenchmarkSubmitManySenders(b *testing.B) {
	for _, par := range []int{8, 32} {
		b.Run(fmt.Sprintf("senders=%d", par*2), func(b *testing.B) {
			e := newEnv(b, crypto.X25519)
			text := strings.Repeat("They held us at the port for three days without water. ", 19)[:1000]
			var n atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(par)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					_, err := e.svc.Submit(context.Background(), &intake.Submission{Channel: "web", ProviderID: fmt.Sprintf("bench-%d", i),
						Language: "en", Answers: map[string]string{"testimony": text, "topic": "DET"},
						Consent: intake.Consent{Scopes: []string{intake.ScopeRead}, TextVersion: "v", Method: "form"}})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "submissions/s")
		})
	}
}
