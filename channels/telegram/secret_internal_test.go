package telegram

import (
	"crypto/sha256"
	"log/slog"
	"strings"
	"testing"
)

// W5, the timing half, without timing anything: the comparison must not
// depend on how long a prefix matches. secretOK hashes both sides before a
// constant-time compare, so every prefix, from one character to all but
// one, is refused the same way, and the stored side is the hash itself.
func TestSecretOKHashesBothSides(t *testing.T) {
	const secret = "0123456789abcdefghijklmnopqrstuv" // 32 characters
	h, err := New(Config{Token: "123:ABC", WebhookSecret: secret, APIURL: "http://127.0.0.1:1"}, nil, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if h.secretSum != sha256.Sum256([]byte(secret)) {
		t.Fatal("the configured secret is not kept as its SHA-256: the comparison is not over fixed-length hashes")
	}
	if h.secretOK(secret[:1]) || h.secretOK(secret[:31]) {
		t.Fatal("a 1-character or a 31-character prefix was accepted")
	}
	for n := 0; n < len(secret); n++ {
		if h.secretOK(secret[:n]) {
			t.Fatalf("the %d-character prefix was accepted", n)
		}
	}
	for _, bad := range []string{secret + "w", secret[:31] + "w", strings.ToUpper(secret), " " + secret, secret + "\x00",
		strings.Repeat("x", 1<<20), "123:ABC"} {
		if h.secretOK(bad) {
			t.Errorf("%.40q accepted", bad)
		}
	}
	if !h.secretOK(secret) {
		t.Fatal("the secret itself was refused")
	}

	// No secret configured: nothing is accepted, not even an empty header.
	h2, err := New(Config{Token: "123:ABC", APIURL: "http://127.0.0.1:1"}, nil, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range []string{"", "x", secret} {
		if h2.secretOK(got) {
			t.Errorf("with no secret configured, %q was accepted", got)
		}
	}
}
