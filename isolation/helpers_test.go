package isolation

import (
	"testing"

	"github.com/stretchr/testify/require"

	"bulkhead/boot/virt"
)

// tlbLog is a minimal Platform for the package's internal tests (the full
// fake, isolation/internal/fakearch, imports this package, so only external
// tests can use it). It records invalidations and, when e is set, checks
// break-before-make: when an IPA is invalidated, the entry must already be
// invalid.
type tlbLog struct {
	t      testing.TB
	e      *Engine
	invals []IPA
	all    int
}

func (l *tlbLog) InvalidateIPA(vmid VMID, ipa IPA) {
	l.invals = append(l.invals, ipa)
	if l.e != nil {
		s := l.e.stage2Of(vmid)
		require.NotNil(l.t, s)
		_, ok := l.e.translate(s, ipa)
		require.False(l.t, ok, "TLB invalidated for %#x while its entry is still valid", ipa)
	}
}
func (l *tlbLog) InvalidateVMID(VMID)              { l.all++ }
func (l *tlbLog) ZeroPages(PA, uint64)             {}
func (l *tlbLog) CleanToPoC(PA, uint64)            {}
func (l *tlbLog) EnterGuest(uint64, *Context) Trap { return Trap{Kind: TrapIRQ} }
func (l *tlbLog) PageIsZero(PA) bool               { return true }
func (l *tlbLog) CopyFile(uint64, PA) bool         { return false }

// virtConfig is the engine configuration of the QEMU virt board as boot/virt
// describes it.
func virtConfig() Config {
	c := Config{
		RAM:       Range{virt.RAM.Base, virt.RAM.Size},
		Engine:    []Range{{virt.Engine.Base, virt.Engine.Size}},
		GuestMMIO: []Range{{virt.Device.Base, virt.Device.Size}},
		MaxVMs:    4,
		MaxVCPUs:  4,
	}
	for _, r := range virt.HostMMIO() {
		c.HostMMIO = append(c.HostMMIO, Range{r.Base, r.Size})
	}
	return c
}

// virtPoolBase is a fake physical address for test pools of the virt
// configuration: inside the engine region, as on the target.
var virtPoolBase = PA(virt.Engine.Base + 0x200_0000)

// newLogged returns an engine over cfg with a pool of n tables at base and a
// break-before-make checking tlbLog.
func newLogged(t testing.TB, cfg Config, n int, base PA) (*Engine, *tlbLog) {
	t.Helper()
	l := &tlbLog{t: t}
	e, err := New(cfg, l, NewPool(n, base))
	require.NoError(t, err)
	l.e = e
	return e, l
}
