// Package isolation is the portable core of the bulkhead isolation engine:
// the page-ownership ledger, the stage-2 translation tables, the hypercall
// dispatcher, VM and vCPU bookkeeping, guest PSCI and exit filtering.
//
// The package is pure Go. It touches no hardware: every effect that needs
// the machine (TLB maintenance, zeroing and cleaning memory, entering a
// guest) goes through the Platform interface, which the arch code implements
// once per image and isolation/internal/fakearch implements for tests. The
// translation tables themselves are ordinary Go memory (a Pool of Tables),
// which on the target the arch code lays over real physical memory.
//
// # Transitions
//
// Every call that changes state has three phases, in the manner of pKVM's
// mem_protect.c:
//
//  1. validate the untrusted arguments (alignment, overflow, bounds, ids);
//  2. check every page of the range on every side against the ledger, and
//     reserve the worst-case number of table pages;
//  3. commit.
//
// Phases 1 and 2 change nothing; phase 3 cannot fail. A failure inside a
// commit means an invariant was already broken and is a panic. So a call
// either happens whole or leaves no trace.
//
// # Concurrency
//
// An Engine is not safe for concurrent use: its calls assume that they run
// one at a time, each whole, as the specification's actions do (in
// specs/Spec.v every host call, guest call, guest step and trap is one
// atomic step of a trace, in any interleaving of the host and the running
// vCPUs). Serial makes that true on several CPUs: one engine lock held by
// every call from start to end and released only while a vCPU is inside
// Platform.EnterGuest, with the rules, in serial.go and specs/ABI.md
// ("Several CPUs"), for the calls that meet a vCPU in the guest. The engine
// image still runs on one CPU and calls the Engine from its single entry
// path. The transition code keeps to a verifiable subset of Go: no
// goroutines, closures, maps, defer or interfaces other than the Platform
// seam, and no allocation on any hypercall path (Serial, which locks, is
// outside the translated subset).
package isolation
