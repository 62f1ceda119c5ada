//go:build tamago && arm64 && bulkhead_bench && bulkhead_profile

package main

import (
	"fmt"
	"strings"

	"bulkhead/arch/arm64"
	"bulkhead/arch/el2"
	"bulkhead/isolation/abi"
)

// prof is the profile a profiling engine (tags bulkhead_bench and
// bulkhead_profile, which bulkhead bench -profile builds) keeps of a whole
// boot and prints when the host powers the machine off: entries
// to EL2 by who trapped and why, exits to the host by reason, and where
// the time went.
//
// Time is counted in CNTPCT_EL0 ticks between the transitions the engine
// sees (an entry to EL2 from the host or a guest, a return to EL1). Under
// QEMU's -icount shift=0 every instruction is one nanosecond of virtual
// time, so a tick of the 62.5 MHz counter is 16 instructions: each
// transition rounds to a tick, and the three totals add up to the boot's
// virtual time exactly. Virtual time is instructions except while the
// CPU waits in WFI, when QEMU advances it to the next timer event: only
// the host waits so (a guest's WFI traps), so the host's share includes
// its idle time. The EL2 share includes the residency probe's and this
// profile's own work (some 100 instructions a stay).
var prof profile

// Principals an entry to EL2 comes from, and a time slot for EL2 itself.
const (
	fromHost = iota
	fromGuest
	atEL2
)

// profCalls is how many distinct call ids the profile tells apart per
// principal; further ids are counted together.
const profCalls = 32

type profile struct {
	last  uint64    // counter at the latest transition
	ticks [3]uint64 // host, guest, EL2
	// byVector counts asynchronous entries (IRQ, FIQ, SError) and byEC
	// synchronous ones by exception class (Arm ARM D17.2.37); calls, the
	// HVCs and SMCs by function id. Each also sums the EL2 time of the
	// stays its entries began.
	byVector   [2][4]count
	byEC       [2][64]count
	calls      [2][profCalls]callCount
	otherCalls [2]count
	exits      [abi.ExitSGI + 2]uint64 // by VCPU_RUN exit reason; the last counts unknown ones
	// stay are the counts whose EL2 time the current stay adds to.
	stay [2]*count
}

// count is how many entries to EL2 had one cause, and the EL2 ticks of
// the stays they began.
type count struct{ n, el2 uint64 }

type callCount struct {
	id uint32
	count
}

// enter records an entry to EL2 from principal who (fromHost, fromGuest),
// which was running since the last transition.
func (p *profile) enter(who int, esr, x0, vector uint64) {
	now := arm64.Counter()
	if p.last != 0 {
		p.ticks[who] += now - p.last
	}
	p.last = now
	p.stay = [2]*count{}
	if vector != el2.VectorSync {
		p.begin(0, &p.byVector[who][vector&3])
		return
	}
	ec := el2.EC(esr)
	p.begin(0, &p.byEC[who][ec&63])
	if ec == el2.ECHVC64 || ec == el2.ECSMC64 {
		p.begin(1, p.call(who, uint32(x0)))
	}
}

// begin counts an entry of cause c, whose stay's EL2 time goes to c too.
func (p *profile) begin(slot int, c *count) {
	c.n++
	p.stay[slot] = c
}

// call returns the count of function id for principal who.
func (p *profile) call(who int, id uint32) *count {
	for i := range p.calls[who] {
		c := &p.calls[who][i]
		if c.id == id || c.n == 0 {
			c.id = id
			return &c.count
		}
	}
	return &p.otherCalls[who]
}

// leave records a return to EL1.
func (p *profile) leave() {
	now := arm64.Counter()
	if p.last != 0 {
		d := now - p.last
		p.ticks[atEL2] += d
		for _, c := range p.stay {
			if c != nil {
				c.el2 += d
			}
		}
	}
	p.last = now
	p.stay = [2]*count{}
}

// profileExit counts the exit reason of a VCPU_RUN the host made.
func profileExit(x [8]uint64, out [8]uint64) {
	if uint32(x[0]) != abi.VCPURun || abi.StatusOf(out[0]) != abi.Success {
		return
	}
	prof.exits[min(out[1], uint64(len(prof.exits)-1))]++
}

// profileReport prints the profile; bulkhead bench -profile reads the
// lines that begin with "engine: profile:".
func profileReport() {
	p, f := &prof, arm64.CounterFrequency()
	insns := func(t uint64) uint64 { return t * 1_000_000_000 / f }
	fmt.Printf("engine: profile: instructions (counter ticks at %d Hz x 10^9/Hz under -icount shift=0; the host's include its WFI idle time): host %d, guest %d, EL2 %d\n",
		f, insns(p.ticks[fromHost]), insns(p.ticks[fromGuest]), insns(p.ticks[atEL2]))
	for who, name := range []string{"host", "guest"} {
		fmt.Printf("engine: profile: %s entries to EL2, with the EL2 instructions of the stays they began: %s\n", name, p.entries(who, insns))
	}
	var exits []string
	for r, n := range p.exits {
		if n != 0 {
			exits = append(exits, fmt.Sprintf("%s %d", abi.Exit(r), n))
		}
	}
	fmt.Printf("engine: profile: exits to the host: %s\n", strings.Join(exits, ", "))
	var fast []string
	for _, a := range el2.FastAnswers() {
		if a.Hits != 0 {
			fast = append(fast, fmt.Sprintf("%s call %#x %d", []string{"", "host", "guest"}[a.Key>>32&3], uint32(a.Key), a.Hits))
		}
	}
	fmt.Printf("engine: profile: calls the vector answered in place (not in the entries above): %s\n", strings.Join(fast, ", "))
	fmt.Printf("engine: profile: guest timer interrupts presented at EL2 without an exit: %d\n", el2.TimerCounts.Delivered)
	fmt.Printf("engine: profile: world switches: %d full (host to guest or back), %d re-entries of a loaded vCPU, VTTBR_EL2 changed %d times\n",
		el2.Switches.Full, el2.Switches.Fast, el2.Switches.VTTBRChanges)
}

// entries lists principal who's entries to EL2 by vector, exception class
// and call id, each with the EL2 instructions of the stays they began.
func (p *profile) entries(who int, insns func(uint64) uint64) string {
	var out []string
	add := func(name string, c count) {
		if c.n != 0 {
			out = append(out, fmt.Sprintf("%s %d (EL2 %d)", name, c.n, insns(c.el2)))
		}
	}
	for v, c := range p.byVector[who] {
		add([]string{"sync", "IRQ", "FIQ", "SError"}[v], c)
	}
	for ec, c := range p.byEC[who] {
		add(ecName(uint64(ec)), c)
	}
	for _, c := range p.calls[who] {
		add(fmt.Sprintf("call %#x", c.id), c.count)
	}
	add("other calls", p.otherCalls[who])
	return strings.Join(out, ", ")
}

// ecName names the exception classes a profile usually shows (Arm ARM
// D17.2.37).
func ecName(ec uint64) string {
	switch ec {
	case 0x01:
		return "WFx"
	case el2.ECHVC64:
		return "HVC64"
	case el2.ECSMC64:
		return "SMC64"
	case el2.ECSysReg:
		return "sysreg"
	case el2.ECInstAbortLow:
		return "IABT"
	case el2.ECDataAbortLow:
		return "DABT"
	}
	return fmt.Sprintf("EC %#x", ec)
}
