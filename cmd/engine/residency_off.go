//go:build tamago && arm64 && !bulkhead_bench

package main

// stay measures nothing in a real engine; see residency_on.go.
var stay residency

type residency struct{}

func (*residency) enterFromHost(esr, x0, vector uint64)  {}
func (*residency) enterFromGuest(esr, x0, vector uint64) {}
func (*residency) leave()                                {}

func residencyReport() {}
