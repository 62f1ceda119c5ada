//go:build tamago && arm64 && !(bulkhead_bench && bulkhead_profile)

package main

// Only a profiling engine keeps a profile (profile_on.go); the benchmark
// engine's residency probe calls these, which do nothing, so that the hot
// paths it times pay nothing for it.
var prof noProfile

type noProfile struct{}

// Principals, as profile_on.go numbers them.
const (
	fromHost = iota
	fromGuest
)

func (noProfile) enter(who int, esr, x0, vector uint64) {}
func (noProfile) leave()                                {}

func profileExit(x [8]uint64, out [8]uint64) {}

func profileReport() {}
