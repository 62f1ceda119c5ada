// Package guest is the SDK for programs that talk to bulkhead's isolation
// engine: test guests running in a VM, and test images running in place of
// the hypervisor. It has three parts:
//
//   - Wrappers for every call of engine ABI version 1 (DESIGN.md section 3)
//     and the PSCI 1.1 subset the engine implements, over a raw Call that
//     issues HVC #0 (SMCCC 1.2, section 2.5).
//   - A test framework: Test registers a named test, T records failures,
//     and Main runs the tests selected by the run=<regexp> word of
//     /chosen/bootargs, reports them on the console and powers off.
//   - The console line protocol the host turns back into Go subtests
//     (protocol.go).
//
// Everything but the conduit to the engine, the console and power-off is
// portable Go and runs under go test on any host; the TamaGo Arm64 build
// (files with the tamago build tag) supplies the hardware.
package guest
