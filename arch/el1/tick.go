//go:build tamago && arm64

package el1

import (
	"fmt"

	"bulkhead/arch/arm64"
	"bulkhead/boot/virt"
)

// GICv3 registers for the host's own tick (IHI 0069, chapter 12): the
// distributor's control, the redistributor's wake-up, and the PPI
// configuration in its SGI frame.
const (
	gicdCTLR         = 0x0000
	gicdCTLRARE      = 1 << 4
	gicdCTLRGrp1     = 1 << 1
	gicrWAKER        = 0x0014
	gicrProcSleep    = 1 << 1
	gicrChildAsleep  = 1 << 2
	gicrSGIFrame     = 0x1_0000
	gicrIGROUPR0     = 0x0080
	gicrISENABLER0   = 0x0100
	gicrIPRIORITYR   = 0x0400
	gicdIGROUPR      = 0x0080
	gicdISENABLER    = 0x0100
	gicdIPRIORITYR   = 0x0400
	gicdIROUTER      = 0x6000
	tickPriority     = 0x80
	wakeSpin         = 1 << 20
	physTimerIntID   = virt.TimerPhysPPI
	maintenanceIntID = virt.MaintenancePPI
	cntpCTLEnable    = 1
	cntpCTLDisarmed  = 0
	nanosPerSecond   = 1_000_000_000
	maxTimerInterval = 1<<31 - 1
	maxArmNanos      = 10 * nanosPerSecond
)

// defined in tick_arm64.s
func writeCNTP(tval, ctl uint64)
func enableICC()

// Ticker is the host's preemption tick: the EL1 physical timer (PPI 30)
// routed through the GIC. While a guest runs the interrupt is taken to the
// engine (HCR_EL2.IMO) and ends VCPU_RUN with an IRQ exit; the host itself
// runs with interrupts masked and only disarms the timer afterwards. Each
// CPU has its own timer: Arm and Disarm act on the caller's.
type Ticker struct{}

// InitTicker configures the distributor and the boot CPU's interrupts
// (initRedistributor, enableICC).
func InitTicker() Ticker {
	arm64.Write32(virt.GICD.Base+gicdCTLR, gicdCTLRARE|gicdCTLRGrp1)
	initRedistributor(ThisCPU())
	enableICC()
	return Ticker{}
}

// initRedistributor wakes the redistributor of the CPU whose affinity is
// mpidr and enables, as group 1, its physical timer PPI (the tick), the
// maintenance PPI and KickSGI: the PPIs and SGIs are banked per CPU (IHI
// 0069 2.2.1), and any CPU may program another's frame, which StartCPUs
// does before the CPU starts, so that its first wait for the baton can
// nap on its timer. Each CPU enables its own CPU interface (enableICC).
func initRedistributor(mpidr uint64) {
	rd, ok := virt.Redistributor(mpidr, arm64.Read64)
	if !ok {
		panic(fmt.Sprintf("el1: CPU %#x has no redistributor frame", mpidr))
	}
	arm64.Write32(rd+gicrWAKER, arm64.Read32(rd+gicrWAKER)&^gicrProcSleep)
	for i := 0; i < wakeSpin && arm64.Read32(rd+gicrWAKER)&gicrChildAsleep != 0; i++ {
	}
	sgi := rd + gicrSGIFrame
	// The maintenance interrupt too: the engine asks for it while a vCPU
	// has more interrupts than list registers, and it must end the
	// guest's run like the tick does.
	ints := uint32(1<<physTimerIntID | 1<<maintenanceIntID | 1<<KickSGI)
	arm64.Write32(sgi+gicrIGROUPR0, arm64.Read32(sgi+gicrIGROUPR0)|ints)
	for _, id := range []uint64{physTimerIntID, maintenanceIntID, KickSGI} {
		arm64.Write8(sgi+gicrIPRIORITYR+id, tickPriority)
	}
	arm64.Write32(sgi+gicrISENABLER0, ints)
}

// Arm fires the tick ns nanoseconds from now (at once if ns is not
// positive; at most 10 s ahead).
func (Ticker) Arm(ns int64) {
	// Not positive: at once. Bounded, so that the product cannot wrap.
	ns = min(max(ns, 0), maxArmNanos)
	ticks := uint64(ns) * arm64.CounterFrequency() / nanosPerSecond
	writeCNTP(min(max(ticks, 1), maxTimerInterval), cntpCTLEnable)
}

// Disarm stops the timer, which lowers its interrupt line.
func (Ticker) Disarm() { writeCNTP(0, cntpCTLDisarmed) }

// RouteSPIHere makes the shared peripheral interrupt intid (32 and up) a
// host interrupt of the calling CPU: group 1, the tick's priority, routed
// to this CPU (GICD_IROUTER<n>, affinity routing being on: IHI 0069
// 12.9.22) and enabled. Like the tick, it ends a guest's run on that CPU
// with an IRQ exit, and the host, which runs with interrupts masked, does
// not take it: it removes the cause (and so lowers a level-sensitive
// line) or masks the source.
func RouteSPIHere(intid uint64) {
	word, bit := intid/32*4, uint32(1)<<(intid%32)
	arm64.Write32(virt.GICD.Base+gicdIGROUPR+word, arm64.Read32(virt.GICD.Base+gicdIGROUPR+word)|bit)
	arm64.Write8(virt.GICD.Base+gicdIPRIORITYR+intid, tickPriority)
	arm64.Write64(virt.GICD.Base+gicdIROUTER+8*intid, ThisCPU()) // Aff3..Aff0 where MPIDR_EL1 has them, IRM 0
	arm64.Write32(virt.GICD.Base+gicdISENABLER+word, bit)
}
