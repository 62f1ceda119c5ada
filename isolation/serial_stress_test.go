package isolation_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/fakearch"
)

// TestSerialStress stands several goroutines for host CPUs calling one
// Serial at once: each makes stressCalls host calls, drawn from its own
// generator seeded with (-stress.seed, its index) and independent of the
// results, so that the calls each goroutine makes are the same in every
// run (their interleaving is not). The calls hammer MEM_DONATE, MEM_SHARE,
// MEM_UNSHARE and MEM_RECLAIM on overlapping ranges, VM_CREATE and
// VM_DESTROY, VCPU_INIT, VCPU_IRQ and VCPU_RUN of vCPUs whose scripted
// guests make guest memory and PSCI calls while other goroutines call in.
// The ghost check runs after every host call and, inside a run, before
// each entry after the first (after the guest call the previous trap
// made). Under go test -race (make race) the race detector also checks
// that nothing the core or Serial shares is touched without the lock.
func TestSerialStress(t *testing.T) {
	a := fakearch.New()
	a.Record = false
	s, err := isolation.NewSerial(stressConfig(), a, isolation.NewPool(128, isolation.SmallPoolBase))
	require.NoError(t, err)
	var failed atomic.Bool
	guests := newStressGuests()
	workers := make([]*stressWorker, stressWorkers)
	var wg sync.WaitGroup
	for i := range workers {
		w := &stressWorker{t: t, s: s, a: a, g: newStressGen(*stressSeed, uint64(i)), guests: guests, failed: &failed,
			counts: map[string]int{}}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < stressCalls && !failed.Load(); n++ {
				w.do(w.g.next())
			}
		}()
	}
	wg.Wait()
	require.NoError(t, s.Check())
	counts := map[string]int{}
	guests.add(counts)
	for _, w := range workers {
		for k, n := range w.counts {
			counts[k] += n
		}
	}
	t.Logf("seed %d: %s", *stressSeed, summary(counts))
	for _, k := range []string{"MEM_DONATE/SUCCESS", "MEM_SHARE/SUCCESS", "MEM_UNSHARE/SUCCESS",
		"MEM_RECLAIM/SUCCESS", "VM_CREATE/SUCCESS", "VM_DESTROY/SUCCESS", "VCPU_RUN/SUCCESS",
		"VCPU_IRQ/SUCCESS", "guest GUEST_SHARE/SUCCESS", "guest GUEST_RELINQUISH/SUCCESS"} {
		require.NotZero(t, counts[k], "no %s: the test does not exercise it", k)
	}
	require.NotZero(t, counts["VCPU_RUN/BUSY"]+counts["VM_DESTROY/BUSY"],
		"no call met a vCPU in the guest: the goroutines did not interleave with runs")
}

// TestSerialStressCallsAreReproducible: a worker's calls depend on the
// seed and its index only.
func TestSerialStressCallsAreReproducible(t *testing.T) {
	g1, g2, g3 := newStressGen(7, 1), newStressGen(7, 1), newStressGen(7, 2)
	differ := false
	for i := 0; i < 500; i++ {
		c1, c2, c3 := g1.next(), g2.next(), g3.next()
		require.Equal(t, c1, c2)
		differ = differ || fmt.Sprint(c1) != fmt.Sprint(c3)
	}
	require.True(t, differ, "two workers make the same calls")
}

var stressSeed = flag.Uint64("stress.seed", 1, "seed of TestSerialStress: worker i draws its calls from PCG(seed, i)")

const (
	stressWorkers = 4
	stressCalls   = 5_000
	stressPages   = 48          // RAM pages; page 0 is the engine's
	stressIPA     = 0x8000_0000 // guest IPAs are drawn from stressIPAs pages here
	stressIPAs    = 24
	stressVMs     = 3
	stressVCPUs   = 2
	forwardedCall = 0xC600_0100 // a vendor-hypervisor id the engine forwards
)

func stressConfig() isolation.Config {
	return isolation.Config{
		RAM:       isolation.Range{Base: uint64(ram0), Size: stressPages * page},
		Engine:    []isolation.Range{{Base: uint64(ram0), Size: page}},
		HostMMIO:  []isolation.Range{{Base: 0x0900_0000, Size: page}},
		GuestMMIO: []isolation.Range{{Base: 0, Size: 0x4000_0000}},
		MaxVMs:    stressVMs,
		MaxVCPUs:  stressVCPUs,
	}
}

// stressCall is one host call and, for VCPU_RUN, the script of guest calls
// its vCPU makes: x0..x5 of each HVC, or a zero id for an IRQ exit.
type stressCall struct {
	x     [8]uint64
	guest [][6]uint64
}

// stressGen draws calls from a seeded generator.
type stressGen struct{ r *rand.Rand }

func newStressGen(seed, worker uint64) *stressGen {
	return &stressGen{rand.New(rand.NewPCG(seed, worker))}
}

func (g *stressGen) n(k int) uint64 { return uint64(g.r.IntN(k)) }

// vm is a VM id, now and then one that is never valid.
func (g *stressGen) vm() uint64 {
	if g.n(16) == 0 {
		return []uint64{0, stressVMs + 1}[g.n(2)]
	}
	return 1 + g.n(stressVMs)
}

func (g *stressGen) pa() uint64 { return pg(1 + int(g.n(stressPages))) } // may run past RAM

func (g *stressGen) ipa() uint64 { return stressIPA + g.n(stressIPAs)*page }

func (g *stressGen) pages() uint64 { return 1 + g.n(4) }

func (g *stressGen) perms() uint64 {
	return []uint64{abi.PermR | abi.PermW, abi.PermR, abi.PermR | abi.PermW | abi.PermX}[g.n(3)]
}

// intid is an SGI, a PPI, an SPI or, now and then, no line at all.
func (g *stressGen) intid() uint64 {
	switch g.n(8) {
	case 0, 1, 2:
		return g.n(16)
	case 3:
		return 16 + g.n(16)
	case 4:
		return isolation.IRQLines + g.n(4)
	}
	return 32 + g.n(isolation.IRQLines-32)
}

func (g *stressGen) next() stressCall {
	var c stressCall
	set := func(id uint32, args ...uint64) { c.x = regs(id, args...) }
	switch k := g.n(100); {
	case k < 15:
		set(abi.MemDonate, g.vm(), g.pa(), g.ipa(), g.pages(), g.perms())
	case k < 27:
		set(abi.MemShare, g.vm(), g.pa(), g.ipa(), g.pages(), g.perms())
	case k < 37:
		set(abi.MemUnshare, g.vm(), g.ipa(), g.pages())
	case k < 48:
		set(abi.MemReclaim, g.pa(), g.pages())
	case k < 52:
		set(abi.VMCreate, stressVCPUs-g.n(4)/3, g.n(4)/3) // a quarter with one vCPU, a quarter protected
	case k < 55:
		set(abi.VMDestroy, g.vm())
	case k < 62:
		set(abi.VCPUInit, g.vm(), g.n(stressVCPUs+1), 0x4000_0000, g.n(1<<16))
	case k < 85:
		set(abi.VCPURun, g.vm(), g.n(stressVCPUs), g.n(1<<16))
		c.guest = make([][6]uint64, 1+g.n(4))
		for i := range c.guest {
			c.guest[i] = g.guestCall()
		}
	case k < 97:
		set(abi.VCPUIRQ, g.vm(), g.n(stressVCPUs), g.intid(), g.n(20)/19+g.n(2)) // now and then level 2
	default:
		set(abi.MemInfo, g.pa())
	}
	return c
}

// guestCall is x0..x5 of one guest HVC.
func (g *stressGen) guestCall() [6]uint64 {
	switch k := g.n(100); {
	case k < 25:
		return [6]uint64{uint64(abi.GuestShare), g.ipa(), g.pages()}
	case k < 45:
		return [6]uint64{uint64(abi.GuestUnshare), g.ipa(), g.pages()}
	case k < 60:
		return [6]uint64{uint64(abi.GuestRelinquish), g.ipa(), g.pages()}
	case k < 66:
		return [6]uint64{uint64(abi.GuestMemState), g.ipa(), g.pages()}
	case k < 76:
		return [6]uint64{uint64(abi.PSCICPUOn64), g.n(stressVCPUs), 0x4000_0000, g.n(1 << 16)}
	case k < 79:
		return [6]uint64{uint64(abi.PSCICPUOff)}
	case k < 84:
		return [6]uint64{uint64(abi.PSCIAffinityInfo64), g.n(stressVCPUs), 0}
	case k < 86:
		return [6]uint64{uint64([]uint32{abi.PSCISystemOff, abi.PSCISystemReset}[g.n(2)])}
	case k < 92:
		return [6]uint64{forwardedCall, g.n(1 << 16)}
	}
	return [6]uint64{} // an IRQ exit
}

// stressWorker is one goroutine standing for a host CPU.
type stressWorker struct {
	t      *testing.T
	s      *isolation.Serial
	a      *fakearch.Arch
	g      *stressGen
	guests *stressGuests // shared by the workers
	failed *atomic.Bool
	counts map[string]int // "call/status", this worker's only
}

// fail reports a violation and stops every worker.
func (w *stressWorker) fail(format string, args ...any) {
	w.t.Errorf(format, args...)
	w.failed.Store(true)
}

// do makes one host call and checks the engine afterwards.
func (w *stressWorker) do(c stressCall) {
	if c.x[0] == uint64(abi.VCPURun) {
		w.a.SetScript(isolation.VMID(c.x[1]), uint16(c.x[2]), w.script(c.guest))
	}
	out, eff := w.s.Dispatch(isolation.HostCaller(), c.x)
	st := abi.StatusOf(out[0])
	if eff.Kind != isolation.EffectNone || !knownStatus(st) {
		w.fail("host call %#x%v: effect %v, x0 %#x", c.x[0], c.x[1:6], eff.Kind, out[0])
	}
	w.counts[callName(uint32(c.x[0]))+"/"+st.String()]++
	w.check("host call %#x%v", c.x[0], c.x[1:6])
}

// check runs the ghost check.
func (w *stressWorker) check(format string, args ...any) {
	if err := w.s.Check(); err != nil {
		w.fail("ghost check after "+format+": %v", append(args, err)...)
	}
}

// script turns guest calls into steps. Each step checks the engine (inside
// the run, after the guest call of the trap before it, if any) and yields,
// so that other workers call in while the vCPU is in the guest; then the
// guest counts the result of its last call handled in place and traps
// with its next call, or an IRQ.
func (w *stressWorker) script(calls [][6]uint64) []fakearch.Step {
	steps := make([]fakearch.Step, len(calls))
	for i, x := range calls {
		steps[i] = fakearch.Step{
			During: func() {
				w.check("an entry of a run")
				runtime.Gosched()
			},
			Before: func(c *isolation.Context) {
				w.guests.count(c)
				copy(c.X[:], x[:])
				c.X[lastCallReg] = x[0]
			},
			Trap: isolation.Trap{Kind: isolation.TrapIRQ},
		}
		if x[0] != 0 {
			steps[i].Trap = isolation.Trap{Kind: isolation.TrapSync, ESR: esr(ecHVC, 0)}
		}
	}
	return steps
}

// lastCallReg is where a stress guest keeps the id of its last call, a
// register no call result touches.
const lastCallReg = 10

// stressGuests counts the results of guest calls per vCPU. A vCPU's
// counts are written only by the goroutine running it, inside its run,
// and runs of one vCPU are ordered by the engine lock (a second VCPU_RUN
// is BUSY), so they need no lock of their own, which could hide a race
// from the detector.
type stressGuests struct {
	counts [stressVMs][stressVCPUs]map[string]int
}

func newStressGuests() *stressGuests {
	g := &stressGuests{}
	for i := range g.counts {
		for j := range g.counts[i] {
			g.counts[i][j] = map[string]int{}
		}
	}
	return g
}

// count notes the result of the guest memory call c last trapped with,
// which the engine answered in place before this entry.
func (g *stressGuests) count(c *isolation.Context) {
	switch id := uint32(c.X[lastCallReg]); id {
	case abi.GuestShare, abi.GuestUnshare, abi.GuestRelinquish, abi.GuestMemState:
		g.counts[c.VMID-1][c.VCPU]["guest "+callName(id)+"/"+abi.StatusOf(c.X[0]).String()]++
	}
}

// add adds every vCPU's counts to counts.
func (g *stressGuests) add(counts map[string]int) {
	for i := range g.counts {
		for j := range g.counts[i] {
			for k, n := range g.counts[i][j] {
				counts[k] += n
			}
		}
	}
}

func knownStatus(st abi.Status) bool {
	return st <= abi.Success && st >= abi.Busy
}

// callName names a call id for the counts.
func callName(id uint32) string {
	names := map[uint32]string{
		abi.MemDonate: "MEM_DONATE", abi.MemShare: "MEM_SHARE", abi.MemUnshare: "MEM_UNSHARE",
		abi.MemReclaim: "MEM_RECLAIM", abi.MemInfo: "MEM_INFO", abi.VMCreate: "VM_CREATE",
		abi.VMDestroy: "VM_DESTROY", abi.VCPUInit: "VCPU_INIT", abi.VCPURun: "VCPU_RUN",
		abi.VCPUIRQ: "VCPU_IRQ", abi.GuestShare: "GUEST_SHARE", abi.GuestUnshare: "GUEST_UNSHARE",
		abi.GuestRelinquish: "GUEST_RELINQUISH", abi.GuestMemState: "GUEST_MEMSTATE",
		abi.PSCICPUOn64: "CPU_ON", abi.PSCICPUOff: "CPU_OFF", abi.PSCIAffinityInfo64: "AFFINITY_INFO",
		abi.PSCISystemOff: "SYSTEM_OFF", abi.PSCISystemReset: "SYSTEM_RESET", forwardedCall: "forwarded",
	}
	if n, ok := names[id]; ok {
		return n
	}
	return fmt.Sprintf("%#x", id)
}

// summary prints counts in a stable order.
func summary(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %d, ", k, counts[k])
	}
	return strings.TrimSuffix(b.String(), ", ")
}
