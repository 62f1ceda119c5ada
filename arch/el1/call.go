//go:build tamago && arm64

package el1

import "bulkhead/arch/arm64"

// Call issues an engine call: x[0] is the function id, x[1..7] the
// arguments; on return x holds x0..x7 as the engine left them.
func Call(x *[8]uint64) {
	arm64.HVC(x)
}
