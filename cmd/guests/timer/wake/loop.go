//go:build tamago && arm64

package wake

// defined in loop_arm64.s
func loop(n int, delta, limit uint64, wfi bool, lat, iar *uint64)

// Run waits for the virtual timer len(lat) times, each delta counter ticks
// after arming it, polling ISR_EL1 or in WFI, and stores each wake-up's
// latency (counter at the wake-up minus the compare value) and the INTID
// it acknowledged. A wait longer than limit ticks past the compare value
// is abandoned and recorded as TimedOut. Interrupts stay masked at the
// CPU (PSTATE.I) throughout: ISR_EL1.I shows the pending interrupt, and
// WFI wakes on it regardless (Arm ARM D1.16.2).
func Run(delta, limit uint64, wfi bool, lat, iar []uint64) {
	if len(lat) == 0 || len(iar) < len(lat) {
		return
	}
	loop(len(lat), delta, limit, wfi, &lat[0], &iar[0])
}
