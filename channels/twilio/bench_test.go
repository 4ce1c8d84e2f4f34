package twilio_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/corridor-gateway/corridor/channels/twilio"
)

// benchTestimony is a ~300-byte testimony message.
var benchTestimony = strings.TrimSpace(strings.Repeat("We were held in a warehouse near the port for nine days without water. ", 5))[:300]

// BenchmarkWebhook is a signed webhook carrying a testimony message, end to
// end through the HTTP handler: signature check, conversation step, two
// age seals, group commit (SQLite, synchronous=FULL), TwiML. One sender per
// parallel goroutine, each already at the testimony step; every iteration
// is a new MessageSid.
func BenchmarkWebhook(b *testing.B) {
	for _, p := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("senders=%dxGOMAXPROCS", p), func(b *testing.B) { benchWebhook(b, p) })
	}
}

func benchWebhook(b *testing.B, parallelism int) {
	e := newEnv(b, nil)
	// The handler's log goes nowhere, as in production at info level.
	h, err := twilio.New(e.cfg, e.runner, e.db, e.secret, nil, slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	senders := make([]string, parallelism*runtime.GOMAXPROCS(0))
	for i := range senders {
		senders[i] = e.newNumber()
		e.toTestimony(senders[i])
	}
	var next atomic.Int64
	var failed atomic.Int64
	b.SetBytes(int64(len(benchTestimony)))
	b.ReportAllocs()
	b.SetParallelism(parallelism)
	s0, sn0, c0, cn0 := e.obs.seals.Load(), e.obs.sealNs.Load(), e.obs.commits.Load(), e.obs.commitNs.Load()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		from := senders[int(next.Add(1)-1)%len(senders)]
		for pb.Next() {
			form := smsForm(from, e.newSID(), benchTestimony)
			r := request(hookPath, form.Encode(), sign(testAuthToken, testPublicURL+hookPath, form))
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, r)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Received") {
				failed.Add(1)
			}
		}
	})
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d webhooks failed", n)
	}
	if s, c := e.obs.seals.Load()-s0, e.obs.commits.Load()-c0; s > 0 && c > 0 {
		b.ReportMetric(float64(e.obs.sealNs.Load()-sn0)/float64(s)/1e3, "µs/seal")
		b.ReportMetric(float64(e.obs.commitNs.Load()-cn0)/float64(c)/1e6, "ms/commit-wait")
	}
	if b.Elapsed() > 0 {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
	}
}
