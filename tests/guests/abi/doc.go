// Package abi is the engine ABI conformance suite as a guest sees it,
// written as ordinary Go tests that run inside a VM (bulkhead test): every
// guest call with valid and invalid arguments, host-only and unknown ids,
// and guest PSCI including CPU_ON of a second vCPU. Its VM needs two vCPUs
// and 66 MiB of RAM or more: the RAM above the runtime's 62 MiB gives the
// tests pages the Go heap never touches.
//
//	bulkhead test -vcpus 2 -v ./tests/guests/abi
//
// TestBrokenControl fails by design and runs only with -broken, to show
// that a failure reaches the host's report.
package abi
