package isolation_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/fakearch"
	"bulkhead/isolation/internal/plant"
)

// gen draws call arguments biased towards the interesting: mostly valid,
// sometimes just wrong, sometimes wild.
type gen struct{ r *rand.Rand }

// ipaBases are three IPA regions in different level-1 entries, so that the
// tables of SmallPoolTables always suffice.
var ipaBases = []uint64{0, 0x8000_0000, 1<<40 - 8*page}

func (g gen) vmid() uint64    { return []uint64{1, 1, 2, 2, 0, 3, 1 << 40}[g.r.IntN(7)] }
func (g gen) guestID() uint64 { return []uint64{1, 1, 2, 2, 3, 255}[g.r.IntN(6)] }
func (g gen) small() uint64   { return uint64(g.r.IntN(3)) }
func (g gen) count() uint64 {
	return []uint64{1, 1, 1, 2, 2, 3, 4, 0, 16, 1 << 62}[g.r.IntN(10)]
}
func (g gen) pa() uint64 {
	switch g.r.IntN(12) {
	case 0:
		return pg(g.r.IntN(16)) + 8
	case 1:
		return g.r.Uint64()
	case 2:
		return pg(npage)
	}
	return pg(g.r.IntN(16))
}
func (g gen) ipa() uint64 {
	switch g.r.IntN(12) {
	case 0:
		return uint64(g.r.IntN(8))*page + 4
	case 1:
		return g.r.Uint64()
	}
	return ipaBases[g.r.IntN(3)] + uint64(g.r.IntN(8))*page
}
func (g gen) perms() uint64 { return []uint64{1, 3, 3, 7, 5, 2, 0, 8}[g.r.IntN(8)] }

// prop runs a random trace against the engine and the model.
type prop struct {
	g      gen
	e      *isolation.Engine
	a      *fakearch.Arch
	m      *model
	before isolation.Abstract
	calls  int
	// noMemory counts the calls that ran out of tables.
	noMemory int
}

// runProperty runs n random calls from seed and returns the first failure:
// a status or state that differs from the model, a broken invariant, a
// ghost-check error, or a panic.
//
// tables is the size of the table pool. Below isolation.SmallPoolTables
// calls run out of tables, which the model does not describe: a call the
// engine refuses with NO_MEMORY where the model would not must leave the
// engine's abstract state unchanged, and the model then forgets the call.
func runProperty(seed uint64, n, tables int) (err error) {
	_, err = runPropertyCount(seed, n, tables)
	return err
}

// runPropertyCount is runProperty that also returns how many calls ran out
// of tables.
func runPropertyCount(seed uint64, n, tables int) (noMemory int, err error) {
	a := fakearch.New()
	a.Record = false
	e, err := isolation.New(isolation.SmallConfig(), a, isolation.NewPool(tables, isolation.SmallPoolBase))
	if err != nil {
		return 0, err
	}
	p := &prop{g: gen{rand.New(rand.NewPCG(seed, 0x5eed))}, e: e, a: a, m: newModel()}
	defer func() { noMemory = p.noMemory }()
	p.before = e.Snapshot()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("seed %d call %d: panic: %v", seed, p.calls, r)
		}
	}()
	for p.calls = 0; p.calls < n; p.calls++ {
		if err := p.step(); err != nil {
			return 0, fmt.Errorf("seed %d call %d: %w", seed, p.calls, err)
		}
	}
	return 0, nil
}

// step makes one call and checks everything after it.
func (p *prop) step() error {
	saved := p.m.clone()
	desc, got, want := p.call()
	if got == abi.NoMemory && want != abi.NoMemory {
		// Out of tables: nothing may have changed.
		if s := p.e.Snapshot(); !reflect.DeepEqual(s, p.before) {
			return fmt.Errorf("%s: NO_MEMORY changed the state", desc)
		}
		p.m = saved
		p.noMemory++
		return nil
	}
	if got != want {
		return fmt.Errorf("%s: status %v, model %v", desc, got, want)
	}
	if err := p.e.Check(); err != nil {
		return fmt.Errorf("%s: %w", desc, err)
	}
	s := p.e.Snapshot()
	if err := p.m.compare(s); err != nil {
		return fmt.Errorf("%s: %w", desc, err)
	}
	if err := invariants(p.before, s); err != nil {
		return fmt.Errorf("%s: %w", desc, err)
	}
	p.before = s
	return nil
}

// host dispatches a host call and returns its status and results.
func (p *prop) host(id uint32, args ...uint64) (abi.Status, [8]uint64) {
	out, _ := p.e.Dispatch(isolation.HostCaller(), regs(id, args...))
	return abi.StatusOf(out[0]), out
}

// call makes one random call, returning a description, the engine's
// status and the model's.
func (p *prop) call() (string, abi.Status, abi.Status) {
	g := p.g
	switch g.r.IntN(20) {
	case 0:
		n := g.small() + uint64(g.r.IntN(2))
		flags := []uint64{0, abi.VMProtected, 2, 1<<63 | abi.VMProtected}[g.r.IntN(4)]
		st, out := p.host(abi.VMCreate, n, flags)
		want, id := p.m.create(n, flags)
		if st == abi.Success && out[1] != id {
			return fmt.Sprintf("VM_CREATE(%d,%#x) id %d, model %d", n, flags, out[1], id), st, abi.Busy
		}
		return fmt.Sprintf("VM_CREATE(%d,%#x)", n, flags), st, want
	case 1:
		if g.r.IntN(4) != 0 {
			return p.call()
		}
		id := g.vmid()
		st, _ := p.host(abi.VMDestroy, id)
		return fmt.Sprintf("VM_DESTROY(%d)", id), st, p.m.destroy(id)
	case 2:
		id, v, entry := g.vmid(), g.small(), 0x4000_0000+uint64(g.r.IntN(3))*2
		st, _ := p.host(abi.VCPUInit, id, v, entry, 0)
		return fmt.Sprintf("VCPU_INIT(%d,%d,%#x)", id, v, entry), st, p.m.init(id, v, entry)
	case 3, 4:
		return p.run()
	case 5:
		id, v, intid, level := g.vmid(), g.small(), []uint64{27, 33, 1019, 1020}[g.r.IntN(4)], g.small()
		st, _ := p.host(abi.VCPUIRQ, id, v, intid, level)
		return fmt.Sprintf("VCPU_IRQ(%d,%d,%d,%d)", id, v, intid, level), st, p.m.irq(id, v, intid, level)
	case 6, 7, 8:
		call, donate := abi.MemShare, false
		if g.r.IntN(3) != 0 {
			call, donate = abi.MemDonate, true
		}
		id, pa, ipa, n, perms := g.vmid(), g.pa(), g.ipa(), g.count(), g.perms()
		st, _ := p.host(call, id, pa, ipa, n, perms)
		return fmt.Sprintf("MEM_%#x(%d,%#x,%#x,%d,%d)", call, id, pa, ipa, n, perms), st, p.m.transfer(donate, id, pa, ipa, n, perms)
	case 9:
		id, ipa, n := g.vmid(), g.ipa(), g.count()
		st, _ := p.host(abi.MemUnshare, id, ipa, n)
		return fmt.Sprintf("MEM_UNSHARE(%d,%#x,%d)", id, ipa, n), st, p.m.unshare(id, ipa, n)
	case 10, 11:
		pa, n := g.pa(), g.count()
		st, _ := p.host(abi.MemReclaim, pa, n)
		return fmt.Sprintf("MEM_RECLAIM(%#x,%d)", pa, n), st, p.m.reclaim(pa, n)
	case 12:
		pa := g.pa() + uint64(g.r.IntN(page))
		st, out := p.host(abi.MemInfo, pa)
		want, info := p.m.info(pa)
		if st == abi.Success && [4]uint64(out[1:5]) != info {
			return fmt.Sprintf("MEM_INFO(%#x) = %v, model %v", pa, out[1:5], info), st, abi.Busy
		}
		return fmt.Sprintf("MEM_INFO(%#x)", pa), st, want
	case 13, 14, 15:
		return p.guestMem()
	case 16:
		return p.guestPSCI()
	case 17, 18:
		p.write()
		return "write", abi.Success, abi.Success
	case 19:
		return p.memState()
	}
	panic("unreachable")
}

// guestMem makes a GUEST_SHARE, GUEST_UNSHARE or GUEST_RELINQUISH call.
func (p *prop) guestMem() (string, abi.Status, abi.Status) {
	g := p.g
	call := []uint32{abi.GuestShare, abi.GuestUnshare, abi.GuestRelinquish}[g.r.IntN(3)]
	id, v, ipa, n := g.guestID(), g.small(), g.ipa(), g.count()
	if g.r.IntN(8) == 0 {
		n = abi.GuestMaxPages + uint64(g.r.IntN(2)) // the edges of ABI v1.1's limit
	}
	out, _ := p.e.Dispatch(isolation.GuestCaller(isolation.VMID(id), uint16(v)), regs(call, ipa, n))
	desc := fmt.Sprintf("GUEST_%#x from %d/%d (%#x,%d)", call, id, v, ipa, n)
	if p.m.vcpu(id, v) == nil {
		return desc, abi.StatusOf(out[0]), abi.NotSupported
	}
	return desc, abi.StatusOf(out[0]), p.m.guestMem(call, isolation.VMID(id), ipa, n)
}

// memState makes a GUEST_MEMSTATE call and compares its results too.
func (p *prop) memState() (string, abi.Status, abi.Status) {
	g := p.g
	id, v, ipa, n := g.guestID(), g.small(), g.ipa(), []uint64{1, 3, 16, 0, 64, 65, 1 << 62}[g.r.IntN(7)]
	if vm := p.m.vcpu(id, v); vm != nil && len(vm.m) > 0 && g.r.IntN(4) != 0 {
		// Mostly ask about a page the VM maps: unmapped IPAs are the
		// common case otherwise.
		mapped := slices.Sorted(maps.Keys(vm.m))
		ipa = mapped[g.r.IntN(len(mapped))] * page
	}
	out, _ := p.e.Dispatch(isolation.GuestCaller(isolation.VMID(id), uint16(v)), regs(abi.GuestMemState, ipa, n))
	desc := fmt.Sprintf("GUEST_MEMSTATE from %d/%d (%#x,%d)", id, v, ipa, n)
	if p.m.vcpu(id, v) == nil {
		return desc, abi.StatusOf(out[0]), abi.NotSupported
	}
	want, state, run := p.m.memState(isolation.VMID(id), ipa, n)
	if want == abi.Success && (out[1] != state || out[2] != run) {
		return fmt.Sprintf("%s = %d x%d, model %d x%d", desc, out[1], out[2], state, run), abi.StatusOf(out[0]), abi.Busy
	}
	return desc, abi.StatusOf(out[0]), want
}

// guestPSCI makes a PSCI call from a guest.
func (p *prop) guestPSCI() (string, abi.Status, abi.Status) {
	g := p.g
	id, v, target := g.guestID(), g.small(), g.small()
	call := []uint32{abi.PSCICPUOn64, abi.PSCICPUOff, abi.PSCIAffinityInfo64, abi.PSCISystemOff}[g.r.IntN(4)]
	x2 := uint64(0x4000_0000) // CPU_ON's entry point
	if call == abi.PSCIAffinityInfo64 {
		x2 = 0 // AFFINITY_INFO's lowest affinity level
	}
	out, eff := p.e.Dispatch(isolation.GuestCaller(isolation.VMID(id), uint16(v)), regs(call, target, x2, 0))
	desc := fmt.Sprintf("PSCI %#x from %d/%d (%d)", call, id, v, target)
	vm := p.m.vcpu(id, v)
	if vm == nil {
		return desc, abi.StatusOf(out[0]), abi.NotSupported
	}
	want := int64(0)
	switch call {
	case abi.PSCICPUOn64:
		switch {
		case target >= uint64(vm.n):
			want = -2
		case vm.vcpu[target] != isolation.VCPUOff:
			want = -4
		default:
			vm.vcpu[target] = isolation.VCPUOn
		}
	case abi.PSCICPUOff:
		vm.vcpu[v] = isolation.VCPUOff
		out[0] = 0 // CPU_OFF does not return to its caller
	case abi.PSCIAffinityInfo64:
		switch {
		case target >= uint64(vm.n):
			want = -2
		case vm.vcpu[target] == isolation.VCPUOff:
			want = 1
		}
	default:
		vm.vcpu = [2]isolation.VCPUState{}
		out[0] = 0
		if eff.Kind != isolation.EffectShutdown {
			return desc + " no shutdown", abi.Busy, abi.Success
		}
	}
	return desc, abi.Status(int64(out[0])), abi.Status(want)
}

// run makes a VCPU_RUN with a scripted guest exit and checks the exit.
func (p *prop) run() (string, abi.Status, abi.Status) {
	g := p.g
	id, v := g.vmid(), g.small()
	target := g.small()
	steps := []fakearch.Step{
		{Trap: isolation.Trap{ESR: esr(ecWFx, 0)}},
		{Trap: isolation.Trap{Kind: isolation.TrapIRQ}},
		{Trap: dabt(0x0900_0000, 2, uint64(g.r.IntN(32)), isv|dfscTransL3)},
		hvcStep(uint64(abi.PSCICPUOff)),
		hvcStep(uint64(abi.PSCICPUOn64), target, 0x4000_0000, 0),
		hvcStep(uint64(abi.PSCISystemOff)),
	}
	k := g.r.IntN(len(steps))
	p.a.Script = append(p.a.Script[:0], steps[k])
	st, out := p.host(abi.VCPURun, id, v, g.r.Uint64())
	desc := fmt.Sprintf("VCPU_RUN(%d,%d) exit %d", id, v, k)
	vm := p.m.vcpu(id, v)
	switch {
	case vm == nil:
		return desc, st, abi.InvalidParameters
	case vm.vcpu[v] == isolation.VCPUOff:
		return desc, st, abi.Denied
	}
	vm.hasRun = true
	want := []abi.Exit{abi.ExitWFI, abi.ExitIRQ, abi.ExitMMIO, abi.ExitVCPUState, abi.ExitVCPUState, abi.ExitShutdown}[k]
	switch k {
	case 3:
		vm.vcpu[v] = isolation.VCPUOff
	case 4:
		if target >= uint64(vm.n) || vm.vcpu[target] != isolation.VCPUOff {
			want = abi.ExitIRQ // the guest got an error and ran on until the timer
		} else {
			vm.vcpu[target] = isolation.VCPUOn
		}
	case 5:
		vm.vcpu = [2]isolation.VCPUState{}
	}
	if st == abi.Success && abi.Exit(out[1]) != want {
		return fmt.Sprintf("%s: exit %v, model %v", desc, abi.Exit(out[1]), want), st, abi.Busy
	}
	return desc, st, abi.Success
}

// write stores a nonzero byte in a page someone can write: the host in one
// of its pages, or a VM in one it maps writable.
func (p *prop) write() {
	g := p.g
	if g.r.IntN(2) == 0 {
		vis := p.m.hostVisible()
		if len(vis) > 0 {
			pfn := vis[g.r.IntN(len(vis))]
			p.a.Write(isolation.PA(pfn<<12+uint64(g.r.IntN(page))), byte(1+g.r.IntN(255)))
			p.m.pages[pfn-pfn0].zero = false
		}
		return
	}
	// The mappings in IPA order, not the map's: a run must depend on its
	// seed alone to be reproducible.
	v := &p.m.vms[g.r.IntN(2)]
	for _, ipa := range slices.Sorted(maps.Keys(v.m)) {
		if mp := v.m[ipa]; mp.perms&isolation.PermW != 0 {
			p.a.Write(isolation.PA(mp.pfn<<12), 0xff)
			p.m.pages[mp.pfn-pfn0].zero = false
			return
		}
	}
}

// propertyCalls is how many calls TestProperty makes in all.
const propertyCalls = 100_000

func TestProperty(t *testing.T) {
	start := time.Now()
	total := propertyCalls
	if testing.Short() {
		total = 10_000
	}
	const seeds = 20
	t.Cleanup(func() { t.Logf("%d calls over %d seeds in %v", total, seeds, time.Since(start)) })
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel() // each seed has its own engine; no planted bug is on
			require.NoError(t, runProperty(seed, total/seeds, isolation.SmallPoolTables))
		})
	}
}

// TestPropertySmallPools runs the property test with pools of 8 to 13
// tables, so that calls run out of tables at every point of the stage-2
// code; a NO_MEMORY must leave the state unchanged (runProperty), and some
// must happen.
func TestPropertySmallPools(t *testing.T) {
	noMemory := 0
	for tables := 8; tables <= 13; tables++ {
		n, err := runPropertyCount(uint64(100+tables), 5_000, tables)
		require.NoError(t, err, "pool of %d tables", tables)
		noMemory += n
	}
	t.Logf("%d calls ran out of tables", noMemory)
	require.NotZero(t, noMemory, "no call ran out of tables: the pools are not small")
}

// TestPropertyCatchesPlantedBugs shows that the property test fails for each
// planted bug.
func TestPropertyCatchesPlantedBugs(t *testing.T) {
	bugs := map[string]*bool{
		"SkipZeroOnReclaim":       &plant.SkipZeroOnReclaim,
		"KeepHostMappingOnDonate": &plant.KeepHostMappingOnDonate,
		"SkipOwnerCheckOnDonate":  &plant.SkipOwnerCheckOnDonate,
		"ReclaimLiveVMIsDenied":   &plant.ReclaimLiveVMIsDenied,
		"ShareIntoProtectedVM":    &plant.ShareIntoProtectedVM,
		"MemStateIgnoresShare":    &plant.MemStateIgnoresShare,
	}
	for name, sw := range bugs {
		t.Run(name, func(t *testing.T) {
			*sw = true
			defer func() { *sw = false }()
			err := runProperty(1, 20_000, isolation.SmallPoolTables)
			require.Error(t, err)
			t.Log(err)
		})
	}
}
