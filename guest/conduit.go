package guest

import "bulkhead/isolation/abi"

// Conduit issues one SMCCC fast call: x[0] is the function id, x[1..7] the
// arguments; it returns x0..x7 as the callee left them.
type Conduit interface {
	Call(x [8]uint64) [8]uint64
}

// conduit is the engine as this program reaches it: HVC #0 on the target
// (conduit_tamago.go), or whatever a host test installs.
var conduit Conduit = noConduit{}

// SetConduit installs c as the way calls reach the engine and returns the
// previous conduit, so that host tests can substitute a fake engine.
func SetConduit(c Conduit) Conduit {
	prev := conduit
	conduit = c
	return prev
}

// Call issues the raw call x through the conduit: x[0] the function id,
// x[1..7] the arguments. The result is x0..x7 after the call.
func Call(x [8]uint64) [8]uint64 { return conduit.Call(x) }

// noConduit answers every call with NOT_SUPPORTED, leaving x1..x7 as they
// were, which is what an engine that implements nothing would do.
type noConduit struct{}

func (noConduit) Call(x [8]uint64) [8]uint64 {
	x[0] = abi.NotSupported.Reg()
	return x
}
