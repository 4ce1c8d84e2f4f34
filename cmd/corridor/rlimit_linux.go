package main

import "syscall"

// disableCoreDumps keeps decrypted testimony and unlocked keys out of core
// files (SECURITY-CASES P4).
func disableCoreDumps() {
	_ = syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{Cur: 0, Max: 0})
}
