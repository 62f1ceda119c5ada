// Package hosttests is the engine ABI conformance suite as the host sees
// it, written as ordinary Go tests: its test binary is an EL1 image the
// engine boots in place of the hypervisor (bulkhead test -host), which
// makes every host call with good and bad arguments, runs tiny VMs it
// writes in memory instruction by instruction, creates and tears down VMs
// in a row without losing a page, and checks that CPU state stays with its
// owner (TestState).
//
//	bulkhead test -host -v ./tests/hosttests
//
// The image owns the pool region of the memory layout (virt.Pool) and takes
// its pages from there, above the part that staged the image at boot.
package hosttests
