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
// An Engine is not safe for concurrent use. The engine runs on one physical
// CPU, and the arch code serialises calls into Dispatch (there is one lock,
// taken and released by the arch's single entry path). The transition code
// keeps to a verifiable subset of Go: no goroutines, closures, maps, defer
// or interfaces other than the Platform seam, and no allocation on any
// hypercall path.
package isolation
