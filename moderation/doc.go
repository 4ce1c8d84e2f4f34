// Package moderation is the reading side of Corridor: it unlocks desk keys
// with a moderator's own age identity, opens and decrypts reports for that
// moderator, and manages desk keys (create, add member, rotate).
//
// Unlocked desk identities live only in memory, for as long as the caller
// holds the Keyring. This package must never write a desk identity or a
// decrypted report to disk or to a log, and must never show part of a record
// whose envelope fails to open.
package moderation
