package isolation_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/fakearch"
)

// The emulated device window of the small configuration lies below RAM;
// these are a PL011's FR and DR in it.
const (
	uartFR = 0x0900_0018
	uartDR = 0x0900_0000
)

func TestMMIOShadowArguments(t *testing.T) {
	r := newRig(t)
	vm := uint64(r.vm(1))
	cases := []struct {
		name          string
		id, ipa, mode uint64
		want          abi.Status
	}{
		{"bad vmid", 9, uartFR, abi.ShadowRead, abi.InvalidParameters},
		{"unaligned", vm, uartFR + 2, abi.ShadowRead, abi.InvalidParameters},
		{"guest RAM, not a device", vm, 0x4000_0000, abi.ShadowRead, abi.InvalidParameters},
		{"unknown mode", vm, uartFR, 3, abi.InvalidParameters},
		{"unmark what is not marked", vm, uartFR, abi.ShadowOff, abi.Success},
		{"mark", vm, uartFR, abi.ShadowRead, abi.Success},
		{"update", vm, uartFR, abi.ShadowRead, abi.Success},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, r.hostSt(abi.MMIOShadow, c.id, c.ipa, c.mode, 0x90), c.name)
	}
	for i := uint64(1); i < abi.ShadowSlots; i++ {
		require.Equal(t, abi.Success, r.hostSt(abi.MMIOShadow, vm, uartFR+4*i, abi.ShadowRead, 0))
	}
	assert.Equal(t, abi.NoMemory, r.hostSt(abi.MMIOShadow, vm, 0x0900_0100, abi.ShadowRead, 0), "every slot taken")
	assert.Equal(t, abi.InvalidParameters, r.hostSt(abi.MMIOLogRead, 9))
}

// TestShadowedAccessesDoNotExit: a guest polls FR, writes three bytes to
// DR and reads an unmarked register; only the last access reaches the host,
// and the host then finds the three bytes, in order, in the log.
func TestShadowedAccessesDoNotExit(t *testing.T) {
	r := newRig(t)
	vm := r.vm(1)
	require.Equal(t, abi.Success, r.hostSt(abi.MMIOShadow, uint64(vm), uartFR, abi.ShadowRead, 0x90))
	require.Equal(t, abi.Success, r.hostSt(abi.MMIOShadow, uint64(vm), uartDR, abi.ShadowLog, 0))
	var fr uint64
	write := func(b byte) fakearch.Step {
		return fakearch.Step{Before: func(c *isolation.Context) { c.X[4] = uint64(b) }, Trap: dabt(uartDR, 0, 4, isv|wnr|dfscTransL3)}
	}
	r.script(
		fakearch.Step{Trap: dabt(uartFR, 2, 5, isv|dfscTransL3)},
		write('h'), write('i'), write('\n'),
		fakearch.Step{Before: func(c *isolation.Context) { fr = c.X[5] }, Trap: dabt(0x0900_0030, 2, 6, isv|dfscTransL3)},
	)
	st, ex := r.run(vm, 0, 0)
	require.Equal(t, abi.Success, st)
	assert.Equal(t, uint64(0x90), fr, "FR answered from the shadow")
	assert.Equal(t, uint64(abi.ExitMMIO), ex[1])
	assert.Equal(t, uint64(0x0900_0030), ex[2], "the unmarked register exits")
	out := r.host(abi.MMIOLogRead, uint64(vm))
	assert.Equal(t, uint64(3), out[1])
	assert.Equal(t, uint64('h'|'i'<<8|'\n'<<16), out[2])
	out = r.host(abi.MMIOLogRead, uint64(vm))
	assert.Zero(t, out[1], "drained")
}

// TestFullLogFallsBackToAnExit fills the log; the next byte exits as an
// ordinary MMIO write, after the logged ones. One VCPU_RUN enters the guest
// a bounded number of times, so the host sees IRQ exits on the way.
func TestFullLogFallsBackToAnExit(t *testing.T) {
	r := newRig(t)
	vm := r.vm(1)
	require.Equal(t, abi.Success, r.hostSt(abi.MMIOShadow, uint64(vm), uartDR, abi.ShadowLog, 0))
	for i := 0; i <= abi.ShadowLogBytes; i++ {
		b := byte(i)
		r.script(fakearch.Step{Before: func(c *isolation.Context) { c.X[4] = uint64(b) }, Trap: dabt(uartDR, 0, 4, isv|wnr|dfscTransL3)})
	}
	var ex [8]uint64
	for runs := 0; ex[1] != uint64(abi.ExitMMIO); runs++ {
		require.Less(t, runs, abi.ShadowLogBytes, "VCPU_RUN must reach the MMIO exit")
		var st abi.Status
		st, ex = r.run(vm, 0, 0)
		require.Equal(t, abi.Success, st)
		require.Contains(t, []uint64{uint64(abi.ExitIRQ), uint64(abi.ExitMMIO)}, ex[1])
	}
	assert.Equal(t, uint64(abi.ShadowLogBytes%256), ex[4], "the byte that did not fit")
	total := 0
	for {
		out := r.host(abi.MMIOLogRead, uint64(vm))
		if out[1] == 0 {
			break
		}
		assert.Equal(t, uint64(byte(total)), out[2]&0xff, "oldest byte first")
		total += int(out[1])
	}
	assert.Equal(t, abi.ShadowLogBytes, total)
}

// TestNewVMStartsWithoutShadows: marks and log belong to one VM's life.
func TestNewVMStartsWithoutShadows(t *testing.T) {
	r := newRig(t)
	vm := r.vm(1)
	require.Equal(t, abi.Success, r.hostSt(abi.MMIOShadow, uint64(vm), uartFR, abi.ShadowRead, 0x90))
	require.Equal(t, abi.Success, r.hostSt(abi.VMDestroy, uint64(vm)))
	vm = r.vm(1)
	r.script(fakearch.Step{Trap: dabt(uartFR, 2, 5, isv|dfscTransL3)})
	_, ex := r.run(vm, 0, 0)
	assert.Equal(t, uint64(abi.ExitMMIO), ex[1], "the old mark is gone")
}
