package vmm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/boot/fdt"
	"bulkhead/hypervisor/vmachine"
	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

// The test machine: 64 MiB of RAM at the board's RAM base, the first page
// the engine's, the pool above 8 MiB.
const (
	ramBase   = 0x4000_0000
	ramSize   = 64 << 20
	poolBase  = ramBase + 8<<20
	poolPages = (ramSize - 8<<20) / 4096
	tableBase = 0x1_0000_0000
)

// step is one scripted guest action: it may change the vCPU's registers and
// returns the trap that ends it.
type step func(c *isolation.Context) isolation.Trap

// rig is the real isolation core on a platform whose guests follow a script
// and whose memory is a byte slice; the hypervisor reaches both through the
// same interfaces it uses on the target.
type rig struct {
	mem     []byte
	script  map[isolation.VMID][]step
	core    *isolation.Engine
	out     bytes.Buffer
	hv      *Hypervisor
	leakOne bool // a broken engine: leave one byte unscrubbed on reclaim
	ticks   int
	armed   []int64                 // each Arm's duration, in ns
	spin    map[isolation.VMID]bool // guests that only ever take interrupts
	lastIRQ map[isolation.VMID][16]uint64
	// runs counts the VCPU_RUN and VCPU_RUN_ALONE calls; an engine
	// without the second (noAlone) answers it NOT_SUPPORTED.
	runs    map[uint32]int
	noAlone bool
}

func newRig(t *testing.T) *rig {
	r := &rig{mem: make([]byte, ramSize), script: map[isolation.VMID][]step{}, spin: map[isolation.VMID]bool{},
		lastIRQ: map[isolation.VMID][16]uint64{}}
	cfg := isolation.Config{
		RAM:    isolation.Range{Base: ramBase, Size: ramSize},
		Engine: []isolation.Range{{Base: ramBase, Size: 4096}},
		GuestMMIO: []isolation.Range{{Base: vmachine.UART.Base, Size: vmachine.UART.Size},
			{Base: vmachine.GICD.Base, Size: vmachine.GICD.Size},
			{Base: vmachine.ExitStatus.Base, Size: vmachine.ExitStatus.Size}},
		MaxVMs: 4, MaxVCPUs: 2,
	}
	core, err := isolation.New(cfg, r, isolation.NewPool(512, tableBase))
	require.NoError(t, err)
	r.core = core
	r.hv = &Hypervisor{Engine: r, Memory: r, Ticker: r, Pool: NewPool(poolBase, poolPages), Out: &r.out}
	return r
}

// Call is the engine: VCPU_RUN_ALONE reaches the core as a VCPU_RUN, as
// the machine layer passes it on (the trap controls are not modelled here).
func (r *rig) Call(x *[8]uint64) {
	id := uint32(x[0])
	if id == abi.VCPURun || id == abi.VCPURunAlone {
		if r.runs == nil {
			r.runs = map[uint32]int{}
		}
		r.runs[id]++
	}
	if id == abi.VCPURunAlone {
		if r.noAlone {
			x[0] = abi.NotSupported.Reg()
			return
		}
		x[0] = uint64(abi.VCPURun)
	}
	*x, _ = r.core.Dispatch(isolation.HostCaller(), *x)
}
func (r *rig) Bytes(pa, size uint64) []byte {
	return r.mem[pa-ramBase : pa-ramBase+size]
}
func (r *rig) Arm(ns int64) { r.ticks++; r.armed = append(r.armed, ns) }
func (r *rig) Disarm()      {}

func (r *rig) InvalidateIPA(isolation.VMID, isolation.IPA) {}
func (r *rig) InvalidateVMID(isolation.VMID)               {}
func (r *rig) CleanToPoC(isolation.PA, uint64)             {}
func (r *rig) CopyFile(uint64, isolation.PA) bool          { return false }
func (r *rig) ZeroPages(pa isolation.PA, n uint64) {
	clear(r.Bytes(uint64(pa), n*4096))
	if r.leakOne {
		r.mem[uint64(pa)-ramBase] = 0x5a
	}
}
func (r *rig) PageIsZero(pa isolation.PA) bool {
	return !bytes.ContainsFunc(r.Bytes(uint64(pa), 4096), func(c rune) bool { return c != 0 })
}
func (r *rig) EnterGuest(_ uint64, c *isolation.Context) isolation.Trap {
	r.lastIRQ[c.VMID] = c.IRQ
	if r.spin[c.VMID] {
		return isolation.Trap{Kind: isolation.TrapIRQ}
	}
	s := r.script[c.VMID]
	if len(s) == 0 {
		return hvcTrap(c, abi.PSCISystemOff)
	}
	r.script[c.VMID] = s[1:]
	return s[0](c)
}

// Trap encodings (Arm ARM D17.2.37): HVC #0, and a data abort with a valid
// instruction syndrome (ISV) for a byte store from register rt.
func hvcTrap(c *isolation.Context, fid uint32) isolation.Trap {
	c.X[0] = uint64(fid)
	return isolation.Trap{ESR: 0x16<<26 | 1<<25}
}

// store32 is a 32-bit store of v to ipa (ISS.SAS = 2).
func store32(ipa, v uint64) step {
	return func(c *isolation.Context) isolation.Trap {
		const rt = 4
		c.X[rt] = v
		return isolation.Trap{ESR: 0x24<<26 | 1<<25 | 1<<24 | 2<<22 | rt<<16 | 1<<6 | 0x07, FAR: ipa, HPFAR: ipa >> 12 << 4}
	}
}

func putc(ch byte) step {
	return func(c *isolation.Context) isolation.Trap {
		const rt = 3
		c.X[rt] = uint64(ch)
		ipa := vmachine.UART.Base
		return isolation.Trap{ESR: 0x24<<26 | 1<<25 | 1<<24 | rt<<16 | 1<<6 | 0x07, FAR: ipa, HPFAR: ipa >> 12 << 4}
	}
}

func prints(s string) []step {
	var out []step
	for i := range s {
		out = append(out, putc(s[i]))
	}
	return out
}

var flatImage = []byte{0x00, 0x00, 0x00, 0x14} // b .

func TestVMLifecycleEndToEndOnTheIsolationCore(t *testing.T) {
	r := newRig(t)
	before := r.hv.Pool.FreePages()
	vm, err := r.hv.Create(Spec{Name: "vm0", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	r.script[isolation.VMID(vm.ID)] = prints("hi from vm0\n")

	// The pages are the VM's now: the ledger says so.
	x := [8]uint64{uint64(abi.MemInfo), vm.RAM.PA}
	r.Call(&x)
	assert.Equal(t, uint64(abi.OwnerVM), x[1])

	// The VM is protected: the engine lends it no host page, and its RAM
	// is private to it.
	assert.True(t, vm.Protected)
	assert.True(t, r.core.Snapshot().VMs[0].Protected)
	x = [8]uint64{uint64(abi.MemShare), vm.ID, poolBase + (poolPages-1)*4096, 0x1000_0000, 1, abi.PermR}
	r.Call(&x)
	assert.Equal(t, abi.Denied, abi.StatusOf(x[0]), "MEM_SHARE into a protected VM")
	x = [8]uint64{uint64(abi.GuestMemState), vmachine.RAMBase, 1 << 20}
	x, _ = r.core.Dispatch(isolation.GuestCaller(isolation.VMID(vm.ID), 0), x)
	assert.Equal(t, []uint64{0, abi.MemPrivate, abi.MemStateMaxRun}, x[:3])

	require.NoError(t, r.hv.Run())
	out := r.out.String()
	assert.Contains(t, out, "[vm0] hi from vm0")
	assert.Contains(t, out, "hypervisor: vm vm0 (id 1) ended: powered off")
	assert.Contains(t, out, "1024 pages reclaimed, all zero")
	assert.Equal(t, before, r.hv.Pool.FreePages(), "every page back in the pool")
	assert.Empty(t, r.hv.VMs)
	require.NoError(t, r.core.Check())
}

func TestTeardownCatchesAnEngineThatDoesNotScrub(t *testing.T) {
	r := newRig(t)
	r.leakOne = true
	_, err := r.hv.Create(Spec{Name: "leaky", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	err = r.hv.Run()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not zero")
	assert.Contains(t, r.out.String(), "teardown FAILED")
	assert.Empty(t, r.hv.VMs, "the VM leaves the schedule")
}

func TestSpinningGuestDoesNotStarveOthers(t *testing.T) {
	r := newRig(t)
	spinner, err := r.hv.Create(Spec{Name: "spin", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage, Timeout: 100 * time.Millisecond})
	require.NoError(t, err)
	b, err := r.hv.Create(Spec{Name: "b", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	r.spin[isolation.VMID(spinner.ID)] = true
	r.script[isolation.VMID(b.ID)] = prints("bb\n")
	require.NoError(t, r.hv.Run())
	out := r.out.String()
	assert.Contains(t, out, "[b] bb")
	assert.Contains(t, out, "vm spin (id 1) ended: timed out: ran longer than 100ms")
	assert.Less(t, strings.Index(out, "vm b (id 2) ended: powered off"), strings.Index(out, "vm spin (id 1) ended"),
		"the other guest finishes while the spinner runs")
	assert.Greater(t, r.ticks, 2, "every VCPU_RUN is bounded by the ticker")
}

// TestSleepingGuestWakesBesideASpinner: a guest waiting in WFI (for its
// timer, which the hypervisor cannot read) is entered again within about
// IdleWait although the only CPU never rests, a spinner keeping it busy.
func TestSleepingGuestWakesBesideASpinner(t *testing.T) {
	for _, cpus := range []int{1, 2} {
		t.Run(fmt.Sprint(cpus, " CPUs"), func(t *testing.T) {
			r := newRig(t)
			var spinners []*VM
			for i := range cpus {
				vm, err := r.hv.Create(Spec{Name: fmt.Sprint("spin", i), VCPUs: 1, RAMSize: 4 << 20, Image: flatImage,
					Timeout: 500 * time.Millisecond})
				require.NoError(t, err)
				r.spin[isolation.VMID(vm.ID)] = true
				spinners = append(spinners, vm)
			}
			sleeper, err := r.hv.Create(Spec{Name: "sleeper", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
			require.NoError(t, err)
			wfi := func(c *isolation.Context) isolation.Trap { return isolation.Trap{ESR: 0x01<<26 | 1<<25} }
			r.script[isolation.VMID(sleeper.ID)] = append([]step{wfi}, prints("awake\n")...)
			if cpus > 1 {
				r.hv.Host = newFakeHost(t, r, cpus, 7)
			}
			require.NoError(t, r.hv.Run())
			out := r.out.String()
			assert.Contains(t, out, "[sleeper] awake")
			woke := strings.Index(out, "vm sleeper (id 3) ended: powered off")
			if cpus == 1 {
				woke = strings.Index(out, "vm sleeper (id 2) ended: powered off")
			}
			require.GreaterOrEqual(t, woke, 0, out)
			for _, s := range spinners {
				assert.Less(t, woke, strings.Index(out, fmt.Sprintf("vm %s (id %d) ended: timed out", s.Name, s.ID)),
					"the sleeper ends while the spinners still run")
			}
		})
	}
}

func TestAbortEndsOnlyThatVM(t *testing.T) {
	r := newRig(t)
	bad, err := r.hv.Create(Spec{Name: "bad", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	good, err := r.hv.Create(Spec{Name: "good", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	r.script[isolation.VMID(bad.ID)] = []step{func(c *isolation.Context) isolation.Trap {
		return isolation.Trap{ESR: 0x00 << 26} // an exception class nobody emulates
	}}
	r.script[isolation.VMID(good.ID)] = prints("ok\n")
	require.NoError(t, r.hv.Run())
	out := r.out.String()
	assert.Contains(t, out, "vm bad (id 1) ended: aborted")
	assert.Contains(t, out, "[good] ok")
	assert.Contains(t, out, "vm good (id 2) ended: powered off")
}

func TestCreateRejectsBadSpecsAndLeavesNothingBehind(t *testing.T) {
	r := newRig(t)
	before := r.hv.Pool.FreePages()
	for _, s := range []Spec{
		{Name: "no cpus", VCPUs: 0, RAMSize: 4 << 20, Image: flatImage},
		{Name: "odd ram", VCPUs: 1, RAMSize: 4<<20 + 4096, Image: flatImage},
		{Name: "tiny ram", VCPUs: 1, RAMSize: 2 << 20, Image: flatImage},
		{Name: "too many cpus", VCPUs: 3, RAMSize: 4 << 20, Image: flatImage},
		{Name: "bad elf", VCPUs: 1, RAMSize: 4 << 20, Image: []byte("\x7fELF junk")},
		{Name: "too big", VCPUs: 1, RAMSize: 128 << 20, Image: flatImage},
	} {
		_, err := r.hv.Create(s)
		assert.Error(t, err, s.Name)
	}
	assert.Equal(t, before, r.hv.Pool.FreePages())
	assert.Empty(t, r.hv.VMs)
	snap := r.core.Snapshot()
	for _, v := range snap.VMs {
		assert.False(t, v.Live, "no VM left in the engine")
	}
}

// linuxImage is a minimal arm64 Image header (booting.rst): text_offset 0,
// image_size 64 KiB, the magic at 0x38.
func linuxImage() []byte {
	img := make([]byte, 0x10000)
	img[0] = 0x14 // a branch, as a real Image starts with
	binary.LittleEndian.PutUint64(img[0x10:], 0x10000)
	copy(img[0x38:], "ARM\x64")
	return img
}

func TestLinuxGuestGetsItsInitramfsAndDeviceTree(t *testing.T) {
	r := newRig(t)
	initrd := bytes.Repeat([]byte{0xa5}, 5000)
	vm, err := r.hv.Create(Spec{Name: "linux", VCPUs: 1, RAMSize: 8 << 20, Image: linuxImage(), Initrd: initrd, Bootargs: "console=ttyAMA0"})
	require.NoError(t, err)
	// The pages are donated, so read what was placed through the engine's
	// view: the test platform's memory.
	mem := r.Bytes(vm.RAM.PA, vm.RAM.Bytes())
	off := bytes.Index(mem, initrd)
	require.GreaterOrEqual(t, off, 0x10000, "initramfs after the kernel")
	assert.Zero(t, off%4096, "page aligned")
	dtbOff := bytes.Index(mem, []byte{0xd0, 0x0d, 0xfe, 0xed})
	require.Greater(t, dtbOff, off)
	assert.Zero(t, dtbOff%(2<<20), "device tree on its own 2 MiB block")
	tree, err := fdt.Parse(mem[dtbOff:])
	require.NoError(t, err)
	chosen := tree.Lookup("/chosen")
	require.NotNil(t, chosen)
	start, _ := chosen.Property("linux,initrd-start")
	end, _ := chosen.Property("linux,initrd-end")
	require.NotNil(t, start)
	require.NotNil(t, end)
	assert.Equal(t, uint64(vmachine.RAMBase)+uint64(off), beUint(start.Value))
	assert.Equal(t, uint64(vmachine.RAMBase)+uint64(off)+5000, beUint(end.Value))
}

func beUint(b []byte) (v uint64) {
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// mmioStore is a guest's 32-bit store of register rt's value to ipa.
func mmioStore(ipa, value uint64) step {
	return func(c *isolation.Context) isolation.Trap {
		const rt = 4
		c.X[rt] = value
		return isolation.Trap{ESR: 0x24<<26 | 1<<25 | 1<<24 | 2<<22 | rt<<16 | 1<<6 | 0x07, FAR: ipa, HPFAR: ipa >> 12 << 4}
	}
}

// TestTypedInputRaisesTheUARTInterrupt drives the distributor and the PL011
// the way a guest driver does, types a byte on the console, and checks the
// engine is told to raise SPI 1 (INTID 33) once it is enabled, grouped and
// pending.
func TestTypedInputRaisesTheUARTInterrupt(t *testing.T) {
	r := newRig(t)
	vm, err := r.hv.Create(Spec{Name: "irq", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	typed := []byte("x")
	r.hv.Input = inputFrom(&typed)
	gicd := vmachine.GICD.Base
	r.script[isolation.VMID(vm.ID)] = []step{
		mmioStore(gicd+0x0000, 1<<4|1<<1),             // GICD_CTLR: ARE, EnableGrp1
		mmioStore(gicd+0x0084, 1<<1),                  // GICD_IGROUPR1: SPI 1 in group 1
		mmioStore(gicd+0x0104, 1<<1),                  // GICD_ISENABLER1: enable SPI 1
		mmioStore(vmachine.UART.Base+0x38, 1<<4|1<<6), // UARTIMSC: receive and receive timeout
		func(c *isolation.Context) isolation.Trap { return isolation.Trap{Kind: isolation.TrapIRQ} },
	}
	require.NoError(t, r.hv.Run())
	assert.NotZero(t, r.lastIRQ[isolation.VMID(vm.ID)][0]&(1<<33), "INTID 33 raised for the guest")
}

func TestSecretWatch(t *testing.T) {
	const secret = 0x5ec2_e7c0_ffee_1234
	r := newRig(t)
	vm, err := r.hv.Create(Spec{Name: "quiet", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage, Secret: secret})
	require.NoError(t, err)
	r.script[isolation.VMID(vm.ID)] = prints("ok\n")
	require.NoError(t, r.hv.Run())
	assert.Regexp(t, `hypervisor: vm quiet: secret not seen in \d+ exits, 1024 pages`, r.out.String())

	r = newRig(t)
	vm, err = r.hv.Create(Spec{Name: "leaky", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage, Secret: secret})
	require.NoError(t, err)
	// A store to a register that exits (UARTIMSC) carries the value in the
	// exit record.
	r.script[isolation.VMID(vm.ID)] = []step{mmioStore(vmachine.UART.Base+0x38, secret)}
	require.NoError(t, r.hv.Run())
	assert.Contains(t, r.out.String(), "hypervisor: vm leaky: SECRET SEEN in x4 of exit record 1")
}

// TestIdleGuestsLetTheHypervisorWait: a guest that only waits (WFI) makes
// Run call Idle between its runs instead of spinning.
func TestIdleGuestsLetTheHypervisorWait(t *testing.T) {
	r := newRig(t)
	vm, err := r.hv.Create(Spec{Name: "idle", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	wfi := func(c *isolation.Context) isolation.Trap { return isolation.Trap{ESR: 0x01<<26 | 1<<25} }
	r.script[isolation.VMID(vm.ID)] = []step{wfi, wfi, wfi}
	var waits []time.Duration
	r.hv.Idle = func(d time.Duration) { waits = append(waits, d) }
	require.NoError(t, r.hv.Run())
	assert.Equal(t, []time.Duration{IdleWait, IdleWait, IdleWait}, waits)
}

// TestConsoleFastPath: the guest's polled console writes reach the console
// through the engine's byte log, not through exits, in order.
func TestConsoleFastPath(t *testing.T) {
	r := newRig(t)
	vm, err := r.hv.Create(Spec{Name: "fast", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	fr := func(c *isolation.Context) isolation.Trap {
		const rt = 5
		ipa := vmachine.UART.Base + uartFR
		return isolation.Trap{ESR: 0x24<<26 | 1<<25 | 1<<24 | 2<<22 | rt<<16 | 0x07, FAR: ipa, HPFAR: ipa >> 12 << 4}
	}
	var steps []step
	for _, c := range []byte("fast path\n") {
		steps = append(steps, fr, putc(c))
	}
	r.script[isolation.VMID(vm.ID)] = steps
	require.NoError(t, r.hv.Run())
	assert.Contains(t, r.out.String(), "[fast] fast path")
	assert.Contains(t, r.out.String(), "hypervisor: vm fast exits: SHUTDOWN 1", "no console access exited")
}

// TestWFEYieldsWithoutIdling: a vCPU executing WFE (a spinning lock) gives
// the CPU to others but stays runnable, so the hypervisor does not wait.
func TestWFEYieldsWithoutIdling(t *testing.T) {
	r := newRig(t)
	vm, err := r.hv.Create(Spec{Name: "wfe", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	wfe := func(c *isolation.Context) isolation.Trap { return isolation.Trap{ESR: 0x01<<26 | 1<<25 | 1} }
	r.script[isolation.VMID(vm.ID)] = []step{wfe, wfe, wfe}
	idles := 0
	r.hv.Idle = func(time.Duration) { idles++ }
	require.NoError(t, r.hv.Run())
	assert.Zero(t, idles)
	assert.Contains(t, r.out.String(), "exits: WFI 3")
}

func TestGuestChoosesItsExitStatus(t *testing.T) {
	r := newRig(t)
	three, err := r.hv.Create(Spec{Name: "three", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	big, err := r.hv.Create(Spec{Name: "big", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	reset, err := r.hv.Create(Spec{Name: "reset", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	r.script[isolation.VMID(three.ID)] = []step{store32(vmachine.ExitStatus.Base, 3)}
	r.script[isolation.VMID(big.ID)] = []step{store32(vmachine.ExitStatus.Base, 64)}
	r.script[isolation.VMID(reset.ID)] = []step{store32(vmachine.ExitStatus.Base, 5),
		func(c *isolation.Context) isolation.Trap { return hvcTrap(c, abi.PSCISystemReset) }}
	require.NoError(t, r.hv.Run())
	out := r.out.String()
	assert.Contains(t, out, "hypervisor: vm three (id 1) ended: powered off, status 3\n")
	assert.Contains(t, out, "hypervisor: vm big: status 64 taken as 63")
	assert.Contains(t, out, "hypervisor: vm big (id 2) ended: powered off, status 63\n")
	assert.Contains(t, out, "hypervisor: vm reset (id 3) ended: reset\n", "a reset wins over the chosen status")
}

// TestLoneVCPUKeepsTheCPU: a vCPU that runs alone is not preempted every
// Slice (its ticker is armed for LoneSlice, or up to its VM's timeout);
// once another vCPU could run, the ticker bounds it to Slice again.
func TestLoneVCPUKeepsTheCPU(t *testing.T) {
	r := newRig(t)
	a, err := r.hv.Create(Spec{Name: "a", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	r.spin[isolation.VMID(a.ID)] = true
	lastArm := func() time.Duration { require.NotEmpty(t, r.armed); return time.Duration(r.armed[len(r.armed)-1]) }
	host := soloHost{r.hv}
	r.hv.trips = make([]trip, 1)
	runOnce := func(vm *VM) {
		r.hv.runTrip(host, 0, vm, 0, time.Now().Add(r.hv.slice(vm, 0)), r.hv.alone(vm, 0))
		r.hv.arrive(host, 0)
	}

	runOnce(a)
	assert.Greater(t, lastArm(), Slice, "alone: no Slice preemption")
	assert.LessOrEqual(t, lastArm(), LoneSlice)

	b, err := r.hv.Create(Spec{Name: "b", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage, Timeout: time.Hour})
	require.NoError(t, err)
	r.spin[isolation.VMID(b.ID)] = true
	runOnce(a)
	assert.LessOrEqual(t, lastArm(), Slice, "with a neighbour: Slice")

	a.vcpus[0] = vcpuOff
	b.spec.Timeout = 30 * time.Millisecond
	runOnce(b)
	assert.LessOrEqual(t, lastArm(), 30*time.Millisecond, "never past the VM's timeout")
	assert.Greater(t, lastArm(), Slice)
}

// soloTrips gives the rig's hypervisor one CPU and returns a function that
// sends it on its next trip and handles what the trip brought back.
func (r *rig) soloTrips() func() {
	host := soloHost{r.hv}
	r.hv.trips = make([]trip, 1)
	return func() {
		r.hv.depart(host, 0)
		r.hv.arrive(host, 0)
	}
}

// TestLoneVCPURunsAlone: a vCPU nothing else wants the CPU beside runs
// with VCPU_RUN_ALONE, and with VCPU_RUN once another vCPU could run.
func TestLoneVCPURunsAlone(t *testing.T) {
	r := newRig(t)
	a, err := r.hv.Create(Spec{Name: "a", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	r.spin[isolation.VMID(a.ID)] = true
	depart := r.soloTrips()
	depart()
	assert.Equal(t, map[uint32]int{abi.VCPURunAlone: 1}, r.runs, "alone")

	b, err := r.hv.Create(Spec{Name: "b", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	r.spin[isolation.VMID(b.ID)] = true
	r.runs = nil
	depart()
	depart()
	assert.Equal(t, map[uint32]int{abi.VCPURun: 2}, r.runs, "two VMs take turns: neither is alone")
}

// TestRunAloneFallsBackToVCPURun: on an engine that answers
// VCPU_RUN_ALONE with NOT_SUPPORTED the vCPU is not stopped: it runs with
// VCPU_RUN, with the reply it was owed, and the hypervisor does not ask
// again.
func TestRunAloneFallsBackToVCPURun(t *testing.T) {
	r := newRig(t)
	r.noAlone = true
	a, err := r.hv.Create(Spec{Name: "a", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	r.spin[isolation.VMID(a.ID)] = true
	depart := r.soloTrips()
	a.reply[0] = 0x1234
	depart()
	assert.Equal(t, uint64(0x1234), a.reply[0], "the owed reply is kept for the VCPU_RUN")
	depart()
	depart()
	assert.False(t, a.done, "the VM runs on")
	assert.Equal(t, map[uint32]int{abi.VCPURunAlone: 1, abi.VCPURun: 2}, r.runs)
}

// TestQuietRunAloneShowsThePrompt: a guest that runs alone waits in WFI in
// the guest and makes no WFI exit, where a partial line is shown; a run
// that the tick ends without console output shows it instead, and a run
// with output does not cut the line. (The rig's guests write the UART's
// data register through the engine's MMIO log: each step below that
// writes is no exit of its own.)
func TestQuietRunAloneShowsThePrompt(t *testing.T) {
	r := newRig(t)
	a, err := r.hv.Create(Spec{Name: "a", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	irq := func(*isolation.Context) isolation.Trap { return isolation.Trap{Kind: isolation.TrapIRQ} }
	r.script[isolation.VMID(a.ID)] = []step{putc('/'), irq, putc(' '), putc('#'), putc(' '), irq, irq}
	trip := r.soloTrips()
	trip()
	assert.NotContains(t, r.out.String(), "[a] /", "the tick ended a run with output: the line goes on")
	trip()
	assert.NotContains(t, r.out.String(), "[a] /")
	trip()
	assert.Contains(t, r.out.String(), "[a] / # ", "a quiet run shows the prompt")
	assert.Equal(t, map[uint32]int{abi.VCPURunAlone: 3}, r.runs)
}

// TestQuietRunKeepsLinesWholeBesideAnotherVM: with two VMs on one output
// a quiet run does not cut a line short, since the other VM's lines could
// come between its parts.
func TestQuietRunKeepsLinesWholeBesideAnotherVM(t *testing.T) {
	r := newRig(t)
	a, err := r.hv.Create(Spec{Name: "a", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	irqExit := [8]uint64{0, uint64(abi.ExitIRQ)}
	quiet := trip{kind: tripRun, vm: a, alone: true, said: a.console.Count()}
	assert.True(t, r.hv.quietRun(&quiet, a, irqExit), "alone, silent, ended by an interrupt")
	assert.False(t, r.hv.quietRun(&quiet, a, [8]uint64{0, uint64(abi.ExitMMIO)}), "ended by the guest")
	notAlone := quiet
	notAlone.alone = false
	assert.False(t, r.hv.quietRun(&notAlone, a, irqExit), "under VCPU_RUN a waiting guest exits in WFI")
	_, err = r.hv.Create(Spec{Name: "b", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	assert.False(t, r.hv.quietRun(&quiet, a, irqExit), "two VMs")
}

// TestLoneSliceGrowsWhileTheGuestIsSilent: each run alone that an
// interrupt ends without console output doubles the next slice, up to
// MaxLoneSlice, so an idle guest is seldom preempted; a run with output
// brings it back to LoneSlice, so what a guest writes is not held back
// long.
func TestLoneSliceGrowsWhileTheGuestIsSilent(t *testing.T) {
	r := newRig(t)
	a, err := r.hv.Create(Spec{Name: "a", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	irq := func(*isolation.Context) isolation.Trap { return isolation.Trap{Kind: isolation.TrapIRQ} }
	const silent = 7
	var script []step
	for range silent {
		script = append(script, irq)
	}
	r.script[isolation.VMID(a.ID)] = append(script, putc('x'), irq, irq)
	trip := r.soloTrips()
	assert.Equal(t, LoneSlice, r.hv.slice(a, 0), "before its first run")
	want := LoneSlice
	for k := range silent {
		trip()
		want = min(2*want, MaxLoneSlice)
		assert.Equal(t, want, r.hv.slice(a, 0), "after %d silent runs", k+1)
	}
	assert.Equal(t, MaxLoneSlice, want, "the script reaches the bound")
	trip()
	assert.Equal(t, LoneSlice, r.hv.slice(a, 0), "the guest wrote")
	trip()
	assert.Equal(t, 2*LoneSlice, r.hv.slice(a, 0))
	assert.Equal(t, map[uint32]int{abi.VCPURunAlone: silent + 2}, r.runs)
}

// TestInputInterruptOnlyWhileTheUARTHasRoom: the console's receive
// interrupt is on while the first VM's UART can take a byte, off while
// a typed byte waits for room (or every run would end at once), and a VM
// given input gets its short slice back.
func TestInputInterruptOnlyWhileTheUARTHasRoom(t *testing.T) {
	r := newRig(t)
	a, err := r.hv.Create(Spec{Name: "a", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage})
	require.NoError(t, err)
	var typed []byte
	r.hv.Input = inputFrom(&typed)
	var calls []bool
	r.hv.InputInterrupt = func(on bool) { calls = append(calls, on) }
	readDR := func() byte { return byte(a.uart.Read(0, 4)) }

	r.hv.pollInput()
	assert.Equal(t, []bool{true}, calls, "room and nothing typed: on")
	r.hv.pollInput()
	assert.Equal(t, []bool{true}, calls, "no change, no call")

	typed = []byte("ab")
	a.lone = MaxLoneSlice
	r.hv.pollInput()
	require.Zero(t, a.uart.RXSpace(), "the UART's one-byte holding register (FIFO off) is full")
	assert.Equal(t, []bool{true, false}, calls, "a byte waits: off")
	assert.Equal(t, LoneSlice, r.hv.slice(a, 0), "input shortens the slice")

	assert.Equal(t, byte('a'), readDR())
	r.hv.pollInput()
	assert.Equal(t, []bool{true, false}, calls, "b took the room: still off")
	assert.Equal(t, byte('b'), readDR())
	r.hv.pollInput()
	assert.Equal(t, []bool{true, false, true}, calls, "room again: on")

	a.done = true
	r.hv.pollInput()
	assert.Equal(t, []bool{true, false, true, false}, calls, "the VM ended: off")
}

// inputFrom is a console's Input that hands out the bytes in *typed, one
// a call, until there are none.
func inputFrom(typed *[]byte) func() (byte, bool) {
	return func() (byte, bool) {
		if len(*typed) == 0 {
			return 0, false
		}
		c := (*typed)[0]
		*typed = (*typed)[1:]
		return c, true
	}
}
