package isolation

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/plant"
)

// sysRegTrap builds an EC 0x18 syndrome for MDSCR_EL1 (op0 2, op1 0, CRn 0,
// CRm 2, op2 2) with register rt, read or write.
func sysRegTrap(rt uint64, read bool) Trap {
	iss := uint64(2)<<20 | 2<<17 | 0<<14 | 0<<10 | rt<<5 | 2<<1
	if read {
		iss |= 1
	}
	return Trap{Kind: TrapSync, ESR: ecSysReg<<esrECShift | 1<<25 | iss}
}

func TestTrappedSystemRegisterReadsAsZero(t *testing.T) {
	var x [31]uint64
	for i := range x {
		x[i] = 0xfeed
	}
	d := FilterTrap(sysRegTrap(7, true), &x, nil)
	assert.Equal(t, DispResume, d.Disp)
	assert.Equal(t, uint64(insnBytes), d.PCAdvance)
	assert.Zero(t, x[7])
	assert.Equal(t, uint64(0xfeed), x[6], "only the destination register changes")
}

func TestTrappedSystemRegisterWriteIsIgnored(t *testing.T) {
	var x [31]uint64
	x[3] = 0x1234
	before := x
	d := FilterTrap(sysRegTrap(3, false), &x, nil)
	assert.Equal(t, DispResume, d.Disp)
	assert.Equal(t, before, x)
	d = FilterTrap(sysRegTrap(xzr, true), &x, nil)
	assert.Equal(t, before, x, "a read into XZR changes nothing")
}

func TestSGIRequestBecomesAnExit(t *testing.T) {
	var x [31]uint64
	x[4] = 0x0001_0000_0300_0002 // INTID 3, target list 0b10, IRM 0
	esr := uint64(ecSysReg)<<esrECShift | 1<<25 | sgi1rWrite | 4<<sysRegIssRtShift
	d := FilterTrap(Trap{ESR: esr}, &x, nil)
	assert.Equal(t, DispExit, d.Disp)
	assert.Equal(t, [7]uint64{uint64(abi.ExitSGI), x[4]}, d.Exit)
	assert.Equal(t, uint64(insnBytes), d.PCAdvance)
	x[4] = ^uint64(0)
	d = FilterTrap(Trap{ESR: esr}, &x, nil)
	assert.Equal(t, [7]uint64{uint64(abi.ExitSGI), 0x00ff_f1ff_0fff_ffff}, d.Exit,
		"only the fields of ICC_SGI1R_EL1 leave, not its RES0 bits")
	d = FilterTrap(Trap{ESR: esr&^(sysRegIssRtMask<<sysRegIssRtShift) | xzr<<sysRegIssRtShift}, &x, nil)
	assert.Equal(t, [7]uint64{uint64(abi.ExitSGI), 0}, d.Exit, "XZR writes zero")
	d = FilterTrap(Trap{ESR: esr | 1}, &x, nil)
	assert.Equal(t, DispResume, d.Disp, "reading ICC_SGI1R_EL1 is not a request")
}

// TestSGIRequestCatchesPlantedBug shows that the check of the fields fails
// when the exit carries the whole register.
func TestSGIRequestCatchesPlantedBug(t *testing.T) {
	plant.SGIExitWholeRegister = true
	defer func() { plant.SGIExitWholeRegister = false }()
	x := [31]uint64{4: ^uint64(0)}
	esr := uint64(ecSysReg)<<esrECShift | 1<<25 | sgi1rWrite | 4<<sysRegIssRtShift
	d := FilterTrap(Trap{ESR: esr}, &x, nil)
	assert.NotEqual(t, uint64(0x00ff_f1ff_0fff_ffff), d.Exit[1], "the planted bug lets the RES0 bits out")
}
