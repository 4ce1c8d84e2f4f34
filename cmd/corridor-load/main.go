// Command corridor-load sends signed Twilio webhooks to a Corridor on this
// machine at a fixed rate and prints latency percentiles. It is a load
// script, not a test: run it by hand (see docs/PERFORMANCE.md).
//
//	corridor-load --url http://127.0.0.1:8080 --public-url https://intake.example.org \
//	    --token $TWILIO_AUTH_TOKEN --rate 1000 --duration 20s --senders 200
//
// It only talks to loopback addresses, and stops by itself.
package main

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func sign(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := fullURL
	for _, k := range keys {
		s += k + form.Get(k)
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

type loader struct {
	target, public, token string
	client                *http.Client
	sid                   atomic.Int64
}

func (l *loader) send(from, body string) (time.Duration, int, error) {
	n := l.sid.Add(1)
	sid := fmt.Sprintf("SM%032d", n)
	form := url.Values{"MessageSid": {sid}, "From": {from}, "To": {"+15005550006"}, "Body": {body}, "NumMedia": {"0"}}
	req, _ := http.NewRequest("POST", l.target+"/channels/twilio", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sign(l.token, l.public+"/channels/twilio", form))
	t0 := time.Now()
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return time.Since(t0), resp.StatusCode, nil
}

func main() {
	target := flag.String("url", "http://127.0.0.1:8080", "the Corridor to load (loopback only)")
	public := flag.String("public-url", "https://intake.example.org", "its CORRIDOR_PUBLIC_URL")
	token := flag.String("token", os.Getenv("TWILIO_AUTH_TOKEN"), "its TWILIO_AUTH_TOKEN")
	rate := flag.Int("rate", 1000, "webhooks per second")
	dur := flag.Duration("duration", 20*time.Second, "how long (at most 5m)")
	senders := flag.Int("senders", 200, "distinct phone numbers")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil {
		fmt.Fprintln(os.Stderr, "corridor-load: --url is not a URL")
		os.Exit(2)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		fmt.Fprintln(os.Stderr, "corridor-load: only loopback targets are allowed")
		os.Exit(2)
	}
	if *dur > 5*time.Minute {
		*dur = 5 * time.Minute
	}
	l := &loader{target: strings.TrimRight(*target, "/"), public: strings.TrimRight(*public, "/"), token: *token,
		client: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512}}}

	// Bring every sender to the testimony step: language, consent, topic.
	phones := make([]string, *senders)
	var wg sync.WaitGroup
	for i := range phones {
		phones[i] = fmt.Sprintf("+4477009%05d", i)
		wg.Add(1)
		go func(p string) {
			defer wg.Done()
			for _, m := range []string{"hi", "1", "1", "4"} {
				if _, code, err := l.send(p, m); err != nil || code != 200 {
					fmt.Fprintf(os.Stderr, "corridor-load: warm-up failed (status %d): %v\n", code, err)
					os.Exit(1)
				}
			}
		}(phones[i])
		if i%50 == 49 {
			wg.Wait()
		}
	}
	wg.Wait()

	body := strings.Repeat("They kept us in a container near the port for days without water. ", 4)
	total := int(float64(*rate) * dur.Seconds())
	lat := make([]time.Duration, total)
	var errs, non200 atomic.Int64
	interval := time.Second / time.Duration(*rate)
	start := time.Now()
	sem := make(chan struct{}, 1024)
	for i := 0; i < total; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			d, code, err := l.send(phones[i%len(phones)], body)
			switch {
			case err != nil:
				errs.Add(1)
				d = 15 * time.Second
			case code != 200:
				non200.Add(1)
			}
			lat[i] = d
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	fmt.Printf("sent %d webhooks in %.1fs (%.0f/s asked %d/s), %d errors, %d non-200\n",
		total, elapsed.Seconds(), float64(total)/elapsed.Seconds(), *rate, errs.Load(), non200.Load())
	fmt.Printf("latency p50 %v  p90 %v  p99 %v  max %v\n", pct(0.50).Round(time.Microsecond), pct(0.90).Round(time.Microsecond),
		pct(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
}
