package telegram_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestMain runs the package's tests, then sweeps every log line any
// deployment wrote (P1): no chat id, name, username, testimony canary, bot
// token or webhook secret, and every line is JSON.
func TestMain(m *testing.M) {
	code := m.Run()
	logs := allLogs.String()
	if bad := hits([]byte(logs), canaryList()); len(bad) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: P1 log sweep: %d canaries in the logs: %v\n", len(bad), bad)
		code = 1
	}
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if !json.Valid(sc.Bytes()) {
			fmt.Fprintf(os.Stderr, "FAIL: a log line is not JSON: %q\n", sc.Text())
			code = 1
			break
		}
	}
	os.Exit(code)
}

// TestLogSweepSeesCanaries makes sure the sweep would catch a leak.
func TestLogSweepSeesCanaries(t *testing.T) {
	c := newCanary()
	if len(hits([]byte(`{"msg":"x","v":"`+c+`"}`), canaryList())) != 1 {
		t.Fatal("the canary sweep does not see a canary")
	}
}
