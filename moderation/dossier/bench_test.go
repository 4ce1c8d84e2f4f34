package dossier_test

// Issue 7's benchmark: export of 100,000 stored reports; targets < 30 s and
// < 100 MB peak on the 2-core machine. Every report is real: submitted
// through intake.Service (sealed to desk and custodian), moved to accepted
// in two checked steps, and forwarded with dossier.Forward (frozen, sealed
// twice). The build runs in parallel goroutines and is not timed; nothing
// is cached between runs. Run once:
//
//	go test ./moderation/dossier -run XXX -bench 'Export10k$' -benchtime 1x
//	go test ./moderation/dossier -run XXX -bench 'Export100k$' -benchtime 1x -timeout 25m
//
// Metrics: export-s (wall time of Export), peak-heap-MB (max HeapInuse
// sampled every 50 ms during Export), peak-rss-MB (VmHWM after resetting
// it before Export; includes SQLite's C-side memory), out-MB, build-s.
// CORRIDOR_BENCH_PROFILE=DIR writes DIR/cpu.pprof (Export only) and
// DIR/heap-peak.pprof (in-use heap near the peak).

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corridor-gateway/corridor/intake"
	"github.com/corridor-gateway/corridor/intake/sqlite"
	"github.com/corridor-gateway/corridor/moderation"
	"github.com/corridor-gateway/corridor/moderation/dossier"
)

func BenchmarkExport10k(b *testing.B)  { benchExport(b, 10_000) }
func BenchmarkExport100k(b *testing.B) { benchExport(b, 100_000) }

var benchCountries = []string{"LY", "TN", "DZ", "MA", "NE", "SD", "ML", "EG"}
var benchTopics = []string{"DET", "EXPL", "BORDER", "VIOL", "LIFE", "PROC"}

const benchTestimony = "We left the town at night with eleven others. At the checkpoint the men in uniform took our phones and " +
	"money, and kept us in a warehouse for many days with little water. They beat the ones who asked for a lawyer. " +
	"A woman from our group was sick and nobody came. After the warehouse they drove us to the border and left us there. "

// buildDossier stores n real reports and forwards them all into d, with
// workers goroutines sharing the store's group commit.
func buildDossier(b *testing.B, e *env, d *sqlite.Dossier, n, workers int) {
	ctx := context.Background()
	var next atomic.Int64
	var done atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	stop := make(chan struct{})
	go func() { // progress, for the long run
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				fmt.Fprintf(os.Stderr, "  built %d/%d reports\n", done.Load(), n)
			}
		}
	}()
	defer close(stop)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := buildOne(ctx, e, d, i); err != nil {
					errc <- fmt.Errorf("report %d: %w", i, err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
}

func buildOne(ctx context.Context, e *env, d *sqlite.Dossier, i int) error {
	ans := map[string]string{
		"testimony":    fmt.Sprintf("Report %d. %s", i, benchTestimony),
		"topic":        benchTopics[i%len(benchTopics)],
		"where":        benchCountries[i%len(benchCountries)],
		"where.detail": "district " + strconv.Itoa(i%300),
		"when.detail":  fmt.Sprintf("%d-%02d", 2024+(i/12)%2, 1+i%12),
	}
	rc, err := e.svc.Submit(ctx, &intake.Submission{Channel: intake.ChannelWeb, ProviderID: "bench-" + strconv.Itoa(i), Language: "en",
		Answers: ans, Consent: intake.Consent{Scopes: []string{intake.ScopeRead, intake.ScopeShare}, TextVersion: "bench", Method: "form"}})
	if err != nil {
		return err
	}
	for _, s := range []string{intake.StateInReview, intake.StateAccepted} {
		if err := e.db.SetState(ctx, rc.ReportID, s, "mod", moderation.CheckTransition); err != nil {
			return err
		}
	}
	_, err = dossier.Forward(ctx, e.db, e.kr, d, rc.ReportID, "mod")
	return err
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// vmHWM reads the process's peak RSS (kB).
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}

func benchExport(b *testing.B, n int) {
	e := newEnv(b)
	d := e.dossier("bench", dossierOpts{country: "LBY"})
	t0 := time.Now()
	buildDossier(b, e, d, n, 4*runtime.GOMAXPROCS(0)*8)
	build := time.Since(t0)
	if got := e.itemCount(d.Name); got != n {
		b.Fatalf("%d items, want %d", got, n)
	}
	profDir := os.Getenv("CORRIDOR_BENCH_PROFILE")
	var peakMB, wallS, outMB, rssMB float64
	for b.Loop() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		baseMB := float64(ms.HeapInuse) / (1 << 20)
		os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // reset VmHWM (best effort)
		var peak atomic.Uint64
		peak.Store(ms.HeapInuse)
		stop, sampled := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(sampled)
			t := time.NewTicker(50 * time.Millisecond)
			defer t.Stop()
			var lastProf uint64
			for {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				if profDir != "" && ms.HeapInuse > lastProf+8<<20 {
					lastProf = ms.HeapInuse
					if f, err := os.Create(filepath.Join(profDir, "heap-peak.pprof")); err == nil {
						pprof.Lookup("heap").WriteTo(f, 0)
						f.Close()
					}
				}
			}
		}()
		if profDir != "" {
			f, err := os.Create(filepath.Join(profDir, "cpu.pprof"))
			if err != nil {
				b.Fatal(err)
			}
			pprof.StartCPUProfile(f)
			defer f.Close()
		}
		cw := &countingWriter{}
		start := time.Now()
		st, err := dossier.Export(e.ctx, e.exportOpts(d, 5), cw)
		wall := time.Since(start)
		if profDir != "" {
			pprof.StopCPUProfile()
		}
		close(stop)
		<-sampled
		if err != nil {
			b.Fatal(err)
		}
		if st.Reports != n {
			b.Fatalf("exported %d reports, want %d", st.Reports, n)
		}
		peakMB = max(peakMB, float64(peak.Load())/(1<<20))
		wallS = max(wallS, wall.Seconds())
		outMB = float64(cw.n) / (1 << 20)
		rssMB = max(rssMB, float64(vmHWM())/1024)
		b.Logf("n=%d build %.1fs; export %.2fs, %.1f MB out; heap in use %.1f MB before, peak %.1f MB; peak RSS %.0f MB",
			n, build.Seconds(), wall.Seconds(), outMB, baseMB, peakMB, rssMB)
	}
	b.ReportMetric(peakMB, "peak-heap-MB")
	b.ReportMetric(wallS, "export-s")
	b.ReportMetric(rssMB, "peak-rss-MB")
	b.ReportMetric(outMB, "out-MB")
	b.ReportMetric(build.Seconds(), "build-s")
	if wallS > 30 || peakMB > 100 {
		b.Logf("targets missed (< 30 s, < 100 MB): export %.1f s, peak heap %.1f MB", wallS, peakMB)
	}
}
