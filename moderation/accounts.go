package moderation

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/argon2"
)

// Roles of console accounts.
const (
	RoleModerator = "moderator" // reads and works on the reports of their own desks
	RoleLead      = "lead"      // also assigns and manages desk members
	RoleAdmin     = "admin"     // accounts, desks, keys; reads nothing unless also a desk member
)

// argon2id parameters (RFC 9106's second recommended option, lighter on
// memory for a small server): 3 passes, 64 MiB, 2 lanes.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 2
	argonKeyLen  = 32
)

// HashPassword returns an encoded argon2id hash with its parameters and salt.
func HashPassword(password string) (string, error) {
	if len(password) < 12 {
		return "", errors.New("a password must have at least 12 characters")
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// dummyHash is checked against when a login does not exist, so an unknown
// login costs the same time as a wrong password (SECURITY-CASES A4).
var dummyHash, _ = HashPassword("corridor-dummy-password")

// CheckPassword compares a password with an encoded hash in constant time.
// An empty hash (unknown login) is checked against a dummy and fails.
func CheckPassword(encoded, password string) bool {
	known := encoded != ""
	if !known {
		encoded = dummyHash
	}
	var m, t uint32
	var p uint8
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || m > 1<<20 || t > 10 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1 && known
}

// NewTOTP makes a TOTP key for an account; its URL (otpauth://...) is what
// an authenticator app enrols.
func NewTOTP(issuer, login string) (*otp.Key, error) {
	return totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: login, Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// CheckTOTP accepts the current code, or the one before or after (clock
// drift of phones).
func CheckTOTP(secret, code string, now time.Time) bool {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return false
	}
	ok, err := totp.ValidateCustom(code, secret, now, totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	return err == nil && ok
}
