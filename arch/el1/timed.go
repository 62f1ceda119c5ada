//go:build tamago && arm64

package el1

// TimedCalls issues the engine call in x n times (x0..x7 loaded afresh each
// time, results discarded) and returns how many virtual counter ticks the n
// calls took; ISBs keep the counter reads from moving across the calls
// (Arm ARM D11.2.2).
//
// defined in timed_arm64.s
func TimedCalls(x *[8]uint64, n uint64) (ticks uint64)

// VirtualCount reads CNTVCT_EL0.
func VirtualCount() uint64
