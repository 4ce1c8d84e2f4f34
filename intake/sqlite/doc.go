// Package sqlite implements intake.Store on an embedded SQLite file
// (modernc.org/sqlite, pure Go): WAL, synchronous=FULL, secure_delete, one
// writer goroutine that group-commits whatever is waiting (each caller waits
// for its own commit), separate readers, and embedded numbered migrations
// each applied in one transaction.
//
// It stores only what intake hands it: age ciphertext, keyed hashes and
// coarse metadata. It must never receive, log or return plaintext testimony
// or sender addresses, and never acknowledge a write before it is durable.
package sqlite
