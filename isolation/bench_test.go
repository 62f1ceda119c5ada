package isolation_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"bulkhead/boot/virt"
	"bulkhead/isolation"
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/fakearch"
)

// virtRig is an engine over the QEMU virt layout with counting-only fakes,
// one live VM with one vCPU, for benchmarks.
func virtRig(tb testing.TB) (*isolation.Engine, *fakearch.Arch) {
	cfg := isolation.Config{
		RAM:       isolation.Range{Base: virt.RAM.Base, Size: virt.RAM.Size},
		Engine:    []isolation.Range{{Base: virt.Engine.Base, Size: virt.Engine.Size}},
		GuestMMIO: []isolation.Range{{Base: virt.Device.Base, Size: virt.Device.Size}},
		MaxVMs:    4,
		MaxVCPUs:  4,
	}
	for _, r := range virt.HostMMIO() {
		cfg.HostMMIO = append(cfg.HostMMIO, isolation.Range{Base: r.Base, Size: r.Size})
	}
	a := fakearch.New()
	a.Record = false
	e, err := isolation.New(cfg, a, isolation.NewPool(4096, isolation.PA(virt.Engine.Base+0x200_0000)))
	require.NoError(tb, err)
	out, _ := e.Dispatch(isolation.HostCaller(), [8]uint64{uint64(abi.VMCreate), 1})
	require.Equal(tb, abi.Success, abi.StatusOf(out[0]))
	out, _ = e.Dispatch(isolation.HostCaller(), [8]uint64{uint64(abi.VCPUInit), 1, 0, 0x4000_0000, 0})
	require.Equal(tb, abi.Success, abi.StatusOf(out[0]))
	return e, a
}

// donateAndReturn donates n pages at pa to VM 1 at ipa, then gets them back
// (the guest relinquishes, the host reclaims). It reports whether all three
// calls succeeded.
func donateAndReturn(e *isolation.Engine, pa, ipa, n uint64) bool {
	host, guest := isolation.HostCaller(), isolation.GuestCaller(1, 0)
	d, _ := e.Dispatch(host, [8]uint64{uint64(abi.MemDonate), 1, pa, ipa, n, abi.PermR | abi.PermW})
	r := relinquish(e, guest, ipa, n)
	c, _ := e.Dispatch(host, [8]uint64{uint64(abi.MemReclaim), pa, n})
	return d[0]|r|c[0] == 0
}

// relinquish gives up n pages at ipa as guest, in calls of at most
// abi.GuestMaxPages pages (ABI v1.1), and returns the status register of
// the first that failed, else 0.
func relinquish(e *isolation.Engine, guest isolation.Caller, ipa, n uint64) uint64 {
	for done := uint64(0); done < n; done += abi.GuestMaxPages {
		k := min(n-done, abi.GuestMaxPages)
		if r, _ := e.Dispatch(guest, [8]uint64{uint64(abi.GuestRelinquish), ipa + done*isolation.PageSize, k}); r[0] != 0 {
			return r[0]
		}
	}
	return 0
}

func benchDonate(b *testing.B, pa, ipa, n uint64) {
	e, _ := virtRig(b)
	host, guest := isolation.HostCaller(), isolation.GuestCaller(1, 0)
	donate := [8]uint64{uint64(abi.MemDonate), 1, pa, ipa, n, abi.PermR | abi.PermW}
	b.ReportAllocs()
	for b.Loop() {
		out, _ := e.Dispatch(host, donate)
		if out[0] != 0 {
			b.Fatal(abi.StatusOf(out[0]))
		}
		b.StopTimer()
		relinquish(e, guest, ipa, n)
		e.Dispatch(host, [8]uint64{uint64(abi.MemReclaim), pa, n})
		b.StartTimer()
	}
}

func BenchmarkMemDonate1Page(b *testing.B) { benchDonate(b, virt.Pool.Base+0x1000, 0x4000_1000, 1) }

func BenchmarkMemDonate512PagesBlock(b *testing.B) {
	benchDonate(b, virt.Pool.Base+0x20_0000, 0x4020_0000, 512)
}

func BenchmarkVCPURun(b *testing.B) {
	e, _ := virtRig(b)
	run := [8]uint64{uint64(abi.VCPURun), 1, 0, 0}
	b.ReportAllocs()
	for b.Loop() {
		out, _ := e.Dispatch(isolation.HostCaller(), run)
		if out[0] != 0 || abi.Exit(out[1]) != abi.ExitIRQ {
			b.Fatal(out)
		}
	}
}

func BenchmarkCheckVirt(b *testing.B) {
	e, _ := virtRig(b)
	require.True(b, donateAndReturn(e, virt.Pool.Base, 0x4000_0000, 1))
	out, _ := e.Dispatch(isolation.HostCaller(), [8]uint64{uint64(abi.MemDonate), 1, virt.Pool.Base, 0x4000_0000, 1024, 3})
	require.Zero(b, out[0])
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Check(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckSmall(b *testing.B) {
	r := newRig(b)
	vm := r.vm(2)
	r.donate(vm, 2, 0x1000, 4)
	b.ReportAllocs()
	for b.Loop() {
		if err := r.e.Check(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHypercallsDoNotAllocate asserts 0 allocations on every hypercall
// path, and in the ghost check.
func TestHypercallsDoNotAllocate(t *testing.T) {
	e, a := virtRig(t)
	host, guest := isolation.HostCaller(), isolation.GuestCaller(1, 0)
	pool := virt.Pool.Base
	call := func(c isolation.Caller, x ...uint64) {
		var r [8]uint64
		copy(r[:], x)
		out, _ := e.Dispatch(c, r)
		if abi.StatusOf(out[0]) < 0 && x[0] != uint64(abi.PSCICPUOn64) && x[0] != 0xC60000FF {
			t.Fatalf("%#x: %v", x[0], abi.StatusOf(out[0]))
		}
	}
	a.Script = make([]fakearch.Step, 0, 4)
	paths := map[string]func(){
		"queries": func() {
			call(host, uint64(abi.Version))
			call(host, uint64(abi.CallUID))
			call(guest, uint64(abi.Revision))
			call(guest, uint64(abi.GuestMemInfo))
			call(host, 0xC60000FF) // NOT_SUPPORTED
		},
		"VM_CREATE/VM_DESTROY": func() {
			call(host, uint64(abi.VMCreate), 2)
			call(host, uint64(abi.VMDestroy), 2)
		},
		"VCPU_INIT/IRQ": func() {
			call(host, uint64(abi.VCPUIRQ), 1, 0, 33, 1)
		},
		"VCPU_RUN": func() {
			a.Script = append(a.Script[:0], fakearch.Step{Trap: isolation.Trap{ESR: esr(ecWFx, 0)}},
				fakearch.Step{Trap: dabt(0x0900_0000, 2, 1, isv|dfscTransL3)})
			call(host, uint64(abi.VCPURun), 1, 0, 0)
			call(host, uint64(abi.VCPURun), 1, 0, 0)
			call(host, uint64(abi.VCPURun), 1, 0, 7)
		},
		"MEM_DONATE/GUEST_RELINQUISH/MEM_RECLAIM 1 page": func() {
			donateAndReturn(e, pool+0x1000, 0x4000_1000, 1)
		},
		"MEM_DONATE/GUEST_RELINQUISH/MEM_RECLAIM 2 MiB": func() {
			donateAndReturn(e, pool+0x20_0000, 0x4020_0000, 512)
		},
		"MEM_SHARE/MEM_UNSHARE/MEM_INFO": func() {
			call(host, uint64(abi.MemShare), 1, pool, 0x1000, 2, 1)
			call(host, uint64(abi.MemInfo), pool)
			call(host, uint64(abi.MemUnshare), 1, 0x1000, 2)
		},
		"GUEST_SHARE/GUEST_UNSHARE": func() {
			call(host, uint64(abi.MemDonate), 1, pool+0x4000, 0x9000, 1, 3)
			call(guest, uint64(abi.GuestShare), 0x9000, 1)
			call(guest, uint64(abi.GuestUnshare), 0x9000, 1)
			call(guest, uint64(abi.GuestRelinquish), 0x9000, 1)
			call(host, uint64(abi.MemReclaim), pool+0x4000, 1)
		},
		"PSCI": func() {
			call(guest, uint64(abi.PSCIVersion))
			call(guest, uint64(abi.PSCIAffinityInfo64), 0, 0)
			call(guest, uint64(abi.PSCICPUOn64), 0, 0x4000_0000, 0)
			call(host, uint64(abi.PSCIFeatures), uint64(abi.PSCISystemOff))
		},
		"MMIO_SHADOW/MMIO_LOG_READ": func() {
			call(host, uint64(abi.MMIOShadow), 1, 0x0900_0018, abi.ShadowRead, 0x90)
			call(host, uint64(abi.MMIOShadow), 1, 0x0900_0018, abi.ShadowOff, 0)
			call(host, uint64(abi.MMIOLogRead), 1)
		},
		"ghost check": func() {
			if err := e.Check(); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, f := range paths {
		f() // warm up
		require.Zero(t, testing.AllocsPerRun(20, f), name)
	}
}
