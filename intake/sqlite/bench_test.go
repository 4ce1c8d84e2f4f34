package sqlite_test

import (
	"context"
	"testing"
)

// BenchmarkCreateReport commits one report (two sealed-size entries) per
// call, sequentially: each call waits for its own durable FULL commit.
func BenchmarkCreateReport(b *testing.B) {
	db, _ := newDB(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		r := newReport(b, nil)
		b.StartTimer()
		if _, err := db.CreateReport(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateReportParallel lets callers share commits (group commit).
func BenchmarkCreateReportParallel(b *testing.B) {
	db, _ := newDB(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := db.CreateReport(ctx, newReport(b, nil)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
}
