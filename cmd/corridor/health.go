package main

import (
	"fmt"
	"net/http"
	"time"
)

// cmdHealth checks a running gateway; it exists for container health
// checks, where there is no curl.
func (m *Main) cmdHealth(args []string) error {
	f := m.newFlags("health")
	u := f.String("url", "http://127.0.0.1:8080/readyz", "the readiness URL")
	if _, err := f.parse(args); err != nil {
		return err
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(*u)
	if err != nil {
		return fmt.Errorf("the gateway does not answer at %s", *u)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the gateway is not ready (status %d)", resp.StatusCode)
	}
	fmt.Fprintln(m.Stdout, "ready")
	return nil
}
