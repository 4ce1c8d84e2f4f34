// Package crypto seals testimony with age, manages the keys of a Corridor
// deployment, and derives the keyed pseudonyms and receipt codes that stand in
// for senders.
//
// Everything that leaves this package towards storage is ciphertext (age),
// a keyed hash, or a public recipient. Each sealed envelope carries the id of
// the record it belongs to inside the encrypted plaintext, and Open checks it,
// so a ciphertext moved to another record, truncated, or altered is an error,
// never partial text.
//
// This package must never log, never write plaintext anywhere, never accept a
// key set that mixes post-quantum and classic recipients (that would silently
// downgrade), and never hold an identity longer than its caller does.
package crypto
