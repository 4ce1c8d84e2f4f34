// Package console is the moderation console at /moderate/: login with a
// password and TOTP, unlocking desk keys with the moderator's own age
// identity (held in memory for that session only), the queue, reading,
// redacting, tagging and triage of reports, and the audit log.
//
// Every route has an explicit access policy (routes.go); every state change
// is a POST with a per-session token; a report outside the moderator's
// desks is answered as not found. This package must never write an
// unlocked desk key or decrypted text anywhere but the HTTP response, never
// render testimony as HTML, and never be served by the edge role.
package console
