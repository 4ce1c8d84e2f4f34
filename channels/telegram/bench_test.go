package telegram_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
)

// BenchmarkWebhook: a testimony message, end to end through the handler
// (secret check, decode, runner step, seal, group commit, sendMessage to
// the fake Bot API), from parallel senders, one chat each, every chat
// brought to the testimony step first and every update a fresh update_id.
// p1 is one sender per CPU; p16 is sixteen per CPU, closer to Telegram's
// webhook concurrency (up to 40 connections).
func BenchmarkWebhook(b *testing.B) {
	for _, par := range []int{1, 16} {
		b.Run(fmt.Sprintf("p%d", par), func(b *testing.B) {
			e := newEnvOpts(b, envOpts{logTo: io.Discard, noSweep: true})
			n := par * runtime.GOMAXPROCS(0)
			type sender struct{ prefix []byte }
			pool := make(chan sender, n)
			for range n {
				c := e.newChat("en")
				e.toTestimony(c)
				// The update's keys are sorted: update_id comes last.
				tmpl := textUpdate(0, c, "They took us to a camp near the border and kept us there for weeks without food or a lawyer.")
				prefix, ok := bytes.CutSuffix(tmpl, []byte(`"update_id":0}`))
				if !ok {
					b.Fatalf("unexpected template %s", tmpl)
				}
				pool <- sender{prefix: append(prefix, `"update_id":`...)}
			}
			b.SetParallelism(par)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				s := <-pool
				defer func() { pool <- s }()
				body := make([]byte, 0, len(s.prefix)+24)
				for pb.Next() {
					body = strconv.AppendInt(append(body[:0], s.prefix...), e.nextID.Add(1), 10)
					body = append(body, '}')
					req := httptest.NewRequest(http.MethodPost, "/channels/telegram", bytes.NewReader(body))
					req.Header.Set(secretHeader, webhookSecret)
					rec := httptest.NewRecorder()
					e.mux.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Errorf("status %d", rec.Code)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
		})
	}
}
