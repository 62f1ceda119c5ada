package vmm

import (
	"fmt"

	"bulkhead/isolation/abi"
)

// Engine is the engine ABI as the hypervisor reaches it: x0 the function
// id, x1..x7 the arguments; on return x0..x7 as the engine left them.
type Engine interface {
	Call(x *[8]uint64)
}

// Memory reaches the host's physical memory. Bytes returns a view of
// [pa, pa+size); the host may only touch memory the ledger gives it, and a
// view of anything else is a bug of the caller.
type Memory interface {
	Bytes(pa, size uint64) []byte
}

// Ticker bounds how long a vCPU keeps the CPU: Arm schedules a physical
// interrupt after ns nanoseconds, which makes a running guest exit with
// IRQ; Disarm cancels it.
type Ticker interface {
	Arm(ns int64)
	Disarm()
}

// StatusError is an engine call that did not succeed.
type StatusError struct {
	Call   string
	Status abi.Status
}

func (e *StatusError) Error() string { return fmt.Sprintf("%s: %s", e.Call, e.Status) }

// call issues id with args and returns the result registers, or a
// *StatusError when x0 is not SUCCESS.
func call(eng Engine, name string, id uint32, args ...uint64) ([8]uint64, error) {
	x := [8]uint64{uint64(id)}
	copy(x[1:], args)
	eng.Call(&x)
	if st := abi.StatusOf(x[0]); st != abi.Success {
		return x, &StatusError{name, st}
	}
	return x, nil
}
