package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runDemo starts `corridor demo`, waits for the printed URLs, fetches the
// form, and stops it. It returns what demo printed.
func runDemo(t *testing.T, dir string) string {
	t.Helper()
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	m := &Main{Stdout: &out, Stderr: &out, Log: io.Discard, Getenv: func(string) string { return "" }}
	go func() { done <- m.Run(ctx, []string{"demo", "--data", dir, "--listen", "127.0.0.1:0"}) }()
	re := regexp.MustCompile(`Web form \(kiosk\):\s+(http://\S+)`)
	deadline := time.Now().Add(20 * time.Second)
	var url string
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if url == "" {
		cancel()
		t.Fatalf("demo printed no URL: %s", out.String())
	}
	resp, err := http.Get(url)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the demo form does not answer: %v", err)
	}
	resp.Body.Close()
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("demo exited %d: %s", code, out.String())
	}
	return out.String()
}

func TestDemoTwiceReusesItsDeployment(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "corridor-demo")
	first := runDemo(t, dir)
	key1, _ := os.ReadFile(filepath.Join(dir, "demo-moderator-identity.txt"))
	cust1, _ := os.ReadFile(filepath.Join(dir, "custodian-identity.txt"))
	second := runDemo(t, dir)
	key2, _ := os.ReadFile(filepath.Join(dir, "demo-moderator-identity.txt"))
	cust2, _ := os.ReadFile(filepath.Join(dir, "custodian-identity.txt"))
	if string(key1) != string(key2) || string(cust1) != string(cust2) || len(key1) == 0 {
		t.Fatal("the second demo run made new keys instead of reusing the first run's")
	}
	if !strings.Contains(first, "Created a demo deployment") || strings.Contains(second, "Created a demo deployment") {
		t.Errorf("first run:\n%s\nsecond run:\n%s", first, second)
	}
	if !strings.Contains(second, "report list --data "+dir+" --identity ") {
		t.Errorf("demo does not print how to read the reports:\n%s", second)
	}
}

func TestOperatorEndpoints(t *testing.T) {
	d := newDeployment(t, deployOpts{})
	c := d.client()
	d.receipt(c, d.post(c, map[string]string{"token": d.formToken(c, "en"), "consent.read": "yes", "testimony": "x " + canary(t)}, nil))
	get := func(path string) (int, string) {
		resp, err := http.Get(d.url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("healthz %d", code)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("readyz %d", code)
	}
	code, body := get("/metrics")
	if code != 200 || !strings.Contains(body, `corridor_intake_total{channel="web",outcome="stored"} 1`) ||
		!strings.Contains(body, "corridor_seal_seconds_count 1") || !strings.Contains(body, "corridor_commit_seconds_count 1") {
		t.Errorf("metrics: %d\n%s", code, body)
	}
	if strings.Contains(body, "CANARY") {
		t.Error("content in metrics")
	}
	if _, _, code := d.run("health", "--url", d.url+"/readyz"); code != 0 {
		t.Errorf("corridor health: exit %d", code)
	}
	if _, _, code := d.run("health", "--url", d.url+"/nothing-here"); code != 1 {
		t.Errorf("corridor health on a 404: exit %d, want 1", code)
	}
}
