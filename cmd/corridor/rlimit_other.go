//go:build !linux

package main

func disableCoreDumps() {}
