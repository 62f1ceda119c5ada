package refinement

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/bits"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/fakearch"
	"bulkhead/isolation/internal/plant"
)

// The machine of the traces: isolation.SmallConfig with traceFiles,
// except while withMachine runs a test on another.
var (
	small   = withFiles(isolation.SmallConfig())
	ram0    = small.RAM.Base
	npages  = int(small.RAM.Size / isolation.PageSize)
	pageLen = uint64(isolation.PageSize)
)

// withMachine makes c, with traceFiles, the machine of the traces until
// the test ends.
func withMachine(t testing.TB, c isolation.Config) {
	old := small
	small, ram0, npages = withFiles(c), c.RAM.Base, int(c.RAM.Size/isolation.PageSize)
	t.Cleanup(func() { small, ram0, npages = old, old.RAM.Base, int(old.RAM.Size/isolation.PageSize) })
}

// traceFiles are the boot files of the traces' machines: one page, two
// (the second in part), three, and an empty file.
var traceFiles = []isolation.BootFile{
	{Size: isolation.PageSize, Name: packName("Image")},
	{Size: isolation.PageSize + 904, Name: packName("initramfs.cpio")},
	{Size: 3 * isolation.PageSize, Name: packName(strings.Repeat("long-name.", 6))},
	{Size: 0, Name: packName("empty.args")},
}

func withFiles(c isolation.Config) isolation.Config {
	c.Files = traceFiles
	return c
}

// packName packs a name as FILE_INFO returns it: its first 48 bytes,
// little-endian, zero padded.
func packName(s string) (w [6]uint64) {
	for i := 0; i < len(s) && i < abi.FileNameBytes; i++ {
		w[i/8] |= uint64(s[i]) << (8 * (i % 8))
	}
	return w
}

// fileValue is the model's value of page k of boot file i: the first 8
// bytes of the page, little-endian (pageValue); the rest of the page's
// part of the file is zero, so that a copy's whole effect is what the
// model keeps of a page. Every file's last page holds at least 8 bytes.
func fileValue(i, k int) uint64 { return 0xf11e_0000_0000 | uint64(i)<<16 | uint64(k+1) }

// fileContents are the bytes of the boot files of c.
func fileContents(c isolation.Config) [][]byte {
	out := make([][]byte, len(c.Files))
	for i, f := range c.Files {
		out[i] = make([]byte, f.Size)
		for k := 0; uint64(k)*pageLen < f.Size; k++ {
			binary.LittleEndian.PutUint64(out[i][uint64(k)*pageLen:], fileValue(i, k))
		}
	}
	return out
}

// configLine is the oracle's description of SmallConfig.
func configLine() string {
	w := abi.UIDWords()
	eng := small.Engine[0]
	l := fmt.Sprintf("config %#x %d %#x %d %d %d %d %d %d %d", ram0, npages, eng.Base,
		eng.Size/pageLen, small.MaxVMs, small.MaxVCPUs, w[0], w[1], w[2], w[3])
	for _, r := range small.GuestMMIO {
		l += fmt.Sprintf(" %#x %#x", r.Base, r.Size)
	}
	for i, f := range small.Files {
		l += fmt.Sprintf(" file %d", f.Size)
		for _, w := range f.Name {
			l += fmt.Sprintf(" %#x", w)
		}
		for k := 0; uint64(k)*pageLen < f.Size; k++ {
			l += fmt.Sprintf(" %#x", fileValue(i, k))
		}
	}
	return l
}

// goRun is the Go side of a trace: a fresh engine over SmallConfig.
type goRun struct {
	e *isolation.Engine
	a *fakearch.Arch
	// nested: the register lines of host calls made during a run.
	nested []string
}

// spare is a table pool whose engine is no longer used: the next goRun
// clears and reuses its memory instead of allocating 64 tables per trace.
// So only the latest goRun of a test may be used.
var spare *isolation.Pool

func newGoRun(t testing.TB) *goRun {
	return newGoRunPool(t, isolation.SmallPoolTables)
}

// newGoRunPool is newGoRun with a pool of n tables.
func newGoRunPool(t testing.TB, n int) *goRun {
	a := fakearch.New()
	a.Record = false
	a.Files = fileContents(small)
	var p isolation.Pool
	if spare != nil && len(spare.Tables) == n {
		p = *spare
		clear(p.Tables)
	} else {
		p = isolation.NewPool(n, isolation.SmallPoolBase)
	}
	spare = &p
	e, err := isolation.New(small, a, p)
	if err != nil {
		t.Fatal(err)
	}
	return &goRun{e: e, a: a}
}

func parseWords(toks []string) ([8]uint64, error) {
	var x [8]uint64
	for i, s := range toks {
		if i >= 8 {
			break
		}
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			return x, err
		}
		x[i] = v
	}
	return x, nil
}

func regsLine(r [8]uint64) string {
	s := make([]string, 8)
	for i, v := range r {
		s[i] = strconv.FormatUint(v, 16)
	}
	return "x " + strings.Join(s, " ")
}

// do runs one op and returns the lines the oracle prints for it.
func (g *goRun) do(op string) ([]string, error) {
	f := strings.Fields(op)
	switch f[0] {
	case "host":
		x, err := parseWords(f[1:])
		if err != nil {
			return nil, err
		}
		r, _ := g.e.Dispatch(isolation.HostCaller(), x)
		return []string{regsLine(r), stateLine(g)}, nil
	case "guest":
		vm, err1 := strconv.ParseUint(f[1], 0, 16)
		vc, err2 := strconv.ParseUint(f[2], 0, 16)
		x, err3 := parseWords(f[3:])
		if err1 != nil || err2 != nil || err3 != nil || vm == 0 {
			return nil, fmt.Errorf("bad op %q (VM 0 is the host)", op)
		}
		r, _ := g.e.Dispatch(isolation.GuestCaller(isolation.VMID(vm), uint16(vc)), x)
		return []string{regsLine(r), stateLine(g)}, nil
	case "run":
		r, err := g.run(op)
		if err != nil {
			return nil, err
		}
		return append(append([]string(nil), g.nested...), regsLine(r), stateLine(g)), nil
	case "write":
		pa, err1 := strconv.ParseUint(f[1], 0, 64)
		v, err2 := strconv.ParseUint(f[2], 0, 8)
		if err1 != nil || err2 != nil || v == 0 {
			return nil, fmt.Errorf("bad op %q", op)
		}
		if _, ok := g.e.Translate(isolation.HostVMID, isolation.IPA(pa)); ok && pa >= ram0 && pa < ram0+small.RAM.Size {
			setPageValue(g.a, isolation.PA(pa&^(pageLen-1)), v)
		}
		return []string{stateLine(g)}, nil
	}
	return nil, fmt.Errorf("bad op %q", op)
}

// stateLine prints the engine's state as the oracle prints the model's:
// "s PAGES | VMS | HOST | VCPUS" (specs/ABI.md, the oracle's state line).
// What it leaves out, because the model does not keep it: the host
// stage-2's permissions are in the line but the oracle derives them from
// the ledger by the ABI's rule (the model keeps only the set of host
// pages); the PC of a vCPU that has run (the model does not advance it
// past an emulated instruction), PSTATE and the EL1, FP/SIMD, timer and
// GIC registers (the arch code's, outside the fake platform); a pending
// MMIO read's width (the model delivers the whole reply; the traces'
// replies fit); page bytes beyond the first 8 are only required to be
// zero (writeContents).
func stateLine(g *goRun) string { return stateLineOf(g, g.e.Snapshot()) }

// stateLineOf is stateLine of a, the engine's current Snapshot.
func stateLineOf(g *goRun, a isolation.Abstract) string {
	var b strings.Builder
	b.WriteString("s")
	for _, p := range a.Pages {
		fmt.Fprintf(&b, " %x:%d:%d:%d:%d:", p.PFN, p.Owner, p.VM, bit(p.Shared), p.Borrower)
		writeContents(&b, g, isolation.PA(p.PFN<<isolation.PageShift), p.Zero)
	}
	b.WriteString(" |")
	writeVMs(&b, a)
	b.WriteString(" |")
	for _, p := range a.Host {
		m, _ := g.e.Translate(isolation.HostVMID, isolation.IPA(p<<isolation.PageShift))
		fmt.Fprintf(&b, " %x/%d", p, m.Attr.Perms)
	}
	b.WriteString(" |")
	for i, v := range a.VMs {
		for k, c := range v.Ctx {
			fmt.Fprintf(&b, " %d.%d:", i+1, k)
			writeVCPU(&b, c, v.VCPU[k] == isolation.VCPUOff)
		}
	}
	return b.String()
}

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}

// writeVMs prints the VMS part of a state line: the ledger of each slot.
func writeVMs(b *strings.Builder, a isolation.Abstract) {
	for _, v := range a.VMs {
		if !v.Live {
			b.WriteString(" -")
			continue
		}
		fmt.Fprintf(b, " %d,%d,%d,", v.VCPUs, bit(v.HasRun), bit(v.Protected))
		for _, s := range v.VCPU {
			fmt.Fprintf(b, "%d", s)
		}
		for _, m := range v.Map {
			fmt.Fprintf(b, ",%x=%x/%d", m.IPAPage, m.PAPage, m.Perms)
		}
		writeShadow(b, v)
	}
}

// writeShadow prints a live VM's MMIO shadow after its mappings:
// ",!ipa:mode:value" for each mark, ascending by IPA, then ",L" and the
// log's bytes, two hex digits each, oldest first, if it is not empty.
func writeShadow(b *strings.Builder, v isolation.AbstractVM) {
	for _, k := range v.Marks {
		fmt.Fprintf(b, ",!%x:%x:%x", k.IPA, k.Mode, k.Value)
	}
	if len(v.Log) > 0 {
		fmt.Fprintf(b, ",L%x", v.Log)
	}
}

// writeVCPU prints one vCPU of the VCPUS part: REPLY:IRQS:ENTRY:REGS, with
// REPLY "-" (none), "c" (a forwarded call's) or "mR" (an MMIO read's into
// xR), IRQS the asserted INTIDs, ENTRY "@pc" for a vCPU that has not run
// since VCPU_INIT or CPU_ON, REGS the non-zero x registers as "r=v". The
// registers of a vCPU that is Off are left out: nothing reads them before
// VCPU_INIT or CPU_ON sets them all, and the model keeps there whatever
// the vCPU held when it last ran, where the engine has loaded the values
// of a VCPU_INIT or CPU_ON whose vCPU never ran.
func writeVCPU(b *strings.Builder, c isolation.AbstractVCPU, off bool) {
	switch c.Reply {
	case isolation.ReplyMMIORead:
		fmt.Fprintf(b, "m%d", c.ReadReg)
	case isolation.ReplyCall:
		b.WriteString("c")
	default:
		b.WriteString("-")
	}
	b.WriteString(":")
	sep := ""
	for w, word := range c.IRQ {
		for ; word != 0; word &= word - 1 {
			fmt.Fprintf(b, "%s%x", sep, w*64+bits.TrailingZeros64(word))
			sep = ","
		}
	}
	b.WriteString(":")
	if c.Ready {
		fmt.Fprintf(b, "@%x", c.Entry)
	}
	b.WriteString(":")
	if off {
		return
	}
	sep = ""
	for r, v := range c.X {
		if v != 0 {
			fmt.Fprintf(b, "%s%d=%x", sep, r, v)
			sep = ","
		}
	}
}

// writeContents prints a page's contents as the model keeps them: one
// number, which the fake memory holds in the page's first 8 bytes
// (pageValue). Anything else in the page is printed after a "+" (a hash
// of the page), which the model cannot print: a byte the engine wrote
// elsewhere in a page diverges.
func writeContents(b *strings.Builder, g *goRun, p isolation.PA, zero bool) {
	mem := g.a.Page(p)
	if zero || mem == nil {
		b.WriteString("0")
		return
	}
	b.WriteString(strconv.FormatUint(binary.LittleEndian.Uint64(mem[:8]), 16))
	if !bytes.Equal(mem[8:], zeroPage[8:]) {
		h := fnv.New64a()
		h.Write(mem[:])
		fmt.Fprintf(b, "+%x", h.Sum64())
	}
}

var zeroPage [isolation.PageSize]byte

// ledgerLine is the ledger part of a state (pages with their contents as
// zero or not, VMs, host map), whose distinct values the tests count: the
// whole state line, with register values and page contents, is different
// after nearly every call.
func ledgerLine(a isolation.Abstract) string {
	var b strings.Builder
	for _, p := range a.Pages {
		fmt.Fprintf(&b, " %d:%d:%d:%d:%d", p.Owner, p.VM, bit(p.Shared), p.Borrower, bit(p.Zero))
	}
	b.WriteString(" |")
	writeVMs(&b, a)
	b.WriteString(" |")
	for _, p := range a.Host {
		fmt.Fprintf(&b, " %x", p)
	}
	return b.String()
}

// divergence runs trace through both sides and describes the first
// difference, or returns "".
func divergence(t testing.TB, o *oracle, trace []string) string {
	t.Helper()
	_, d := divergences(t, o, [][]string{trace})
	return d
}

// divergences runs every trace through the engine, then all of them
// through the oracle in one exchange (a round trip to another process
// costs more than a short trace), and returns the index of the first trace
// that diverges and where, or -1 and "".
func divergences(t testing.TB, o *oracle, traces [][]string) (int, string) {
	t.Helper()
	var want [][][]string
	for _, trace := range traces {
		g := newGoRun(t)
		w := make([][]string, len(trace))
		for i, op := range trace {
			l, err := g.do(op)
			if err != nil {
				t.Fatal(err)
			}
			w[i] = l
		}
		want = append(want, w)
	}
	return compareBatch(t, o, traces, want)
}

// compareBatch sends the traces to the oracle in one exchange and returns
// the index of the first whose lines differ from want (the engine's), and
// where, or -1 and "".
func compareBatch(t testing.TB, o *oracle, traces [][]string, want [][][]string) (int, string) {
	t.Helper()
	var lines []string
	n := 0
	for ti, trace := range traces {
		for _, w := range want[ti] {
			n += len(w)
		}
		lines = append(append(lines, "reset"), trace...)
		n++
	}
	if len(lines) == 0 {
		return -1, ""
	}
	got, err := o.batch(lines, n)
	if err != nil {
		t.Fatal(err)
	}
	k := 0
	for ti, trace := range traces {
		k++ // reset's state line
		for i, op := range trace {
			for _, w := range want[ti][i] {
				if w != got[k] {
					return ti, fmt.Sprintf("op %d %q:\n  go:   %s\n  spec: %s\ntrace:\n%s", i, op, w, got[k], strings.Join(trace[:i+1], "\n"))
				}
				k++
			}
		}
	}
	return -1, ""
}

// batchTraces is how many traces go to the oracle in one exchange.
const batchTraces = 500

func newOracle(t testing.TB) *oracle {
	o := startOracle(t)
	if _, err := o.send(configLine(), 1); err != nil {
		t.Fatal(err)
	}
	return o
}

// ---- traces ----

func pa(i int) uint64 { return ram0 + uint64(i)*pageLen }

func host(id uint32, args ...uint64) string {
	s := []string{"host", fmt.Sprintf("%#x", id)}
	for _, a := range args {
		s = append(s, fmt.Sprintf("%#x", a))
	}
	return strings.Join(s, " ")
}

func guest(vm, vc uint64, id uint32, args ...uint64) string {
	s := []string{"guest", strconv.FormatUint(vm, 10), strconv.FormatUint(vc, 10), fmt.Sprintf("%#x", id)}
	for _, a := range args {
		s = append(s, fmt.Sprintf("%#x", a))
	}
	return strings.Join(s, " ")
}

func write(i int, v byte) string { return fmt.Sprintf("write %#x %d", pa(i), v) }

// gen draws operations biased towards the edges: the same few pages and
// IPAs, adjacent and overlapping ranges, bad and destroyed VM ids, full
// slots, bad counts and permissions.
type gen struct{ r *rand.Rand }

func (g gen) pick(xs ...uint64) uint64 { return xs[g.r.Intn(len(xs))] }

func (g gen) vmid() uint64  { return g.pick(1, 1, 1, 2, 2, 0, 3, 1<<63) }
func (g gen) vcpu() uint64  { return g.pick(0, 0, 1, 2) }
func (g gen) count() uint64 { return g.pick(1, 1, 1, 2, 2, 3, 0, 16, 1<<52) }

// guestCount is count with the edges of ABI v1.1's limit on guest memory
// calls added.
func (g gen) guestCount() uint64 {
	if g.r.Intn(4) == 0 {
		return g.pick(abi.GuestMaxPages, abi.GuestMaxPages+1)
	}
	return g.count()
}

func (g gen) perms() uint64 { return g.pick(abi.PermR|abi.PermW, abi.PermAll, abi.PermR, 0, 8) }

func (g gen) pa() uint64 {
	switch g.r.Intn(12) {
	case 0:
		return pa(g.r.Intn(npages)) + 0x10 // unaligned
	case 1:
		return g.pick(ram0-pageLen, pa(npages), pa(npages-1), ^uint64(0)&^(pageLen-1))
	}
	return pa(g.r.Intn(5)) // the engine page and the first host pages
}

func (g gen) ipa() uint64 {
	switch g.r.Intn(12) {
	case 0:
		return 0x800
	case 1:
		return g.pick(1<<40-pageLen, 1<<40, ^uint64(0)&^(pageLen-1))
	}
	return uint64(g.r.Intn(5)) * pageLen
}

func (g gen) op() string {
	switch g.r.Intn(22) {
	case 0, 1:
		return host(abi.VMCreate, g.pick(1, 1, 2, 0, 3), g.pick(0, 0, abi.VMProtected, 2, 1<<63|abi.VMProtected, ^uint64(0)))
	case 2:
		return host(abi.VMDestroy, g.vmid())
	case 3:
		return host(abi.VCPUInit, g.vmid(), g.vcpu(), g.pick(0x4000_0000, 0x4000_0002), 7)
	case 4:
		return host(abi.VCPURun, g.vmid(), g.vcpu(), 5)
	case 5:
		return host(abi.VCPUIRQ, g.vmid(), g.vcpu(), g.pick(27, 1019, 1020), g.pick(0, 1, 2))
	case 6, 7, 8:
		return host(abi.MemDonate, g.vmid(), g.pa(), g.ipa(), g.count(), g.perms())
	case 9, 10:
		return host(abi.MemShare, g.vmid(), g.pa(), g.ipa(), g.count(), g.perms())
	case 11:
		return host(abi.MemUnshare, g.vmid(), g.ipa(), g.count())
	case 12, 13:
		return host(abi.MemReclaim, g.pa(), g.count())
	case 14:
		return host(abi.MemInfo, g.pick(pa(1)+5, pa(2), ram0-1, pa(npages)))
	case 15:
		return host(uint32(g.pick(uint64(abi.Version), uint64(abi.CallUID), uint64(abi.Revision),
			uint64(abi.GuestShare), 0xC6000099)), 1, 2)
	case 16:
		return write(g.r.Intn(6), byte(1+g.r.Intn(255)))
	case 17, 18:
		id := []uint32{abi.GuestShare, abi.GuestUnshare, abi.GuestRelinquish}[g.r.Intn(3)]
		return guest(1+g.vmid()%3, g.vcpu(), id, g.ipa(), g.guestCount())
	case 19:
		if g.r.Intn(2) == 0 {
			return guest(1+g.vmid()%3, g.vcpu(), abi.GuestMemState, g.ipa(), g.pick(1, 2, 5, 0, 64, 65, 1<<52))
		}
		return guest(1+g.vmid()%3, g.vcpu(), uint32(g.pick(uint64(abi.GuestMemInfo), uint64(abi.Version),
			uint64(abi.MemDonate), uint64(abi.PSCIVersion))), 0)
	case 20:
		id := uint32(g.pick(uint64(abi.PSCICPUOn64), uint64(abi.PSCICPUOn32), uint64(abi.PSCIAffinityInfo64)))
		return guest(1+g.vmid()%3, g.vcpu(), id, g.pick(0, 1, 2, 0x100), 0x4000_0000, g.pick(0, 1))
	default:
		id := uint32(g.pick(uint64(abi.PSCICPUOff), uint64(abi.PSCISystemOff), uint64(abi.PSCISystemReset),
			uint64(abi.PSCIFeatures)))
		return guest(1+g.vmid()%3, g.vcpu(), id, uint64(g.pick(uint64(abi.PSCICPUOn64), 0x84000099)))
	}
}

func (g gen) trace() []string {
	n := 1 + g.r.Intn(30)
	t := make([]string, 0, n+3)
	// Most traces start with live VMs that can run, so that deep states are common.
	if g.r.Intn(4) != 0 {
		t = append(t, host(abi.VMCreate, 2, g.pick(0, abi.VMProtected)), host(abi.VCPUInit, 1, 0, 0x4000_0000, 0))
	}
	for range n {
		t = append(t, g.op())
	}
	return t
}

// randomTraces is how many random traces one run checks (at least 10,000).
const randomTraces = 10000

// defaultSeed is the random traces' seed unless BULKHEAD_SEED names
// another: fixed, so that every run checks the same traces and a result
// (a planted bug caught, or missed) is the same from one run to the next.
const defaultSeed = 20261201

func seed() int64 {
	if s := os.Getenv("BULKHEAD_SEED"); s != "" {
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			return v
		}
	}
	return defaultSeed
}

// saveRegression writes a divergent trace outside the source tree, and
// says how to keep it: a trace copied into testdata/ is replayed by
// TestRegressions from then on. Writing into testdata/ itself would make
// the next run fail on the same trace before anyone looked at it.
func saveRegression(t *testing.T, trace []string) {
	f, err := os.CreateTemp("", "bulkhead-divergence-*.trace")
	if err == nil {
		_, err = f.WriteString(strings.Join(trace, "\n") + "\n")
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		t.Log(err)
		return
	}
	t.Logf("divergent trace in %s; copy it into %s to replay it in TestRegressions", f.Name(), filepath.Join("isolation", "refinement", "testdata"))
}

func TestRandomTraces(t *testing.T) {
	o := newOracle(t)
	s := seed()
	g := gen{rand.New(rand.NewSource(s))}
	start := time.Now()
	ops := 0
	for i := 0; i < randomTraces; i += batchTraces {
		var trs [][]string
		for range batchTraces {
			tr := g.trace()
			ops += len(tr)
			trs = append(trs, tr)
		}
		if k, d := divergences(t, o, trs); d != "" {
			saveRegression(t, trs[k])
			t.Fatalf("seed %d, trace %d diverges at %s", s, i+k, d)
		}
	}
	el := time.Since(start)
	t.Logf("%d traces, %d calls in %v: %.0f traces/s (seed %d)", randomTraces, ops, el, float64(randomTraces)/el.Seconds(), s)
}

// alphabet is the reduced set of calls of the exhaustive test: 2 VMs, 4
// pages (the engine's and three of the host's), every call and every error
// class (INVALID_PARAMETERS, DENIED, BUSY, NO_MEMORY with both slots used,
// NOT_SUPPORTED).
func alphabet() []string {
	rw := uint64(abi.PermR | abi.PermW)
	return []string{
		host(abi.VMCreate, 1),
		host(abi.VMCreate, 1, abi.VMProtected),
		host(abi.VMCreate, 0),
		host(abi.VMDestroy, 1),
		host(abi.VCPUInit, 1, 0, 0x4000_0000, 0),
		host(abi.VCPURun, 1, 0, 0),
		host(abi.VCPUIRQ, 2, 0, 33, 1),
		host(abi.MemDonate, 1, pa(1), 0, 2, rw),
		host(abi.MemDonate, 2, pa(2), 0x1000, 1, rw),
		host(abi.MemShare, 1, pa(3), 0x1000, 1, abi.PermR),
		host(abi.MemUnshare, 1, 0x1000, 1),
		host(abi.MemReclaim, pa(1), 2),
		host(abi.MemInfo, pa(2)),
		host(abi.GuestShare, 0),
		write(1, 9),
		guest(1, 0, abi.GuestShare, 0, 1),
		guest(1, 0, abi.GuestUnshare, 0, 1),
		guest(1, 0, abi.GuestRelinquish, 0x1000, 1),
		guest(1, 0, abi.GuestMemState, 0, 3),
		guest(1, 0, abi.PSCISystemOff),
	}
}

func TestExhaustive(t *testing.T) {
	o := newOracle(t)
	al := alphabet()
	count := 0
	var pending [][]string
	flush := func() {
		if k, d := divergences(t, o, pending); d != "" {
			saveRegression(t, pending[k])
			t.Fatalf("diverges at %s", d)
		}
		pending = pending[:0]
	}
	var walk func(prefix []string)
	walk = func(prefix []string) {
		if len(prefix) > 0 {
			count++
			pending = append(pending, prefix)
			if len(pending) == batchTraces {
				flush()
			}
		}
		if len(prefix) == 4 {
			return
		}
		for _, op := range al {
			walk(append(prefix[:len(prefix):len(prefix)], op))
		}
	}
	walk(nil)
	flush()
	t.Logf("%d traces of length <= 4 over %d calls", count, len(al))
}

// readTraces reads the traces of testdata: one op a line, blank lines and
// # comments ignored, one trace per file.
func readTraces(t *testing.T) map[string][]string {
	files, err := filepath.Glob(filepath.Join("testdata", "*.trace"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tr []string
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				tr = append(tr, l)
			}
		}
		out[f] = tr
	}
	return out
}

func TestRegressions(t *testing.T) {
	o := newOracle(t)
	traces := readTraces(t)
	if len(traces) == 0 {
		t.Fatal("no regression traces in testdata")
	}
	for name, tr := range traces {
		if d := divergence(t, o, tr); d != "" {
			t.Errorf("%s diverges at %s", name, d)
		}
	}
}

// plantedBug is a switch of isolation/internal/plant; notReduced says why
// no trace of the reduced exhaustive test's alphabet can show it, if none
// can.
type plantedBug struct {
	name       string
	sw         *bool
	notReduced string
}

func plantedBugs() []plantedBug {
	return []plantedBug{
		{"SkipZeroOnReclaim", &plant.SkipZeroOnReclaim, ""},
		{"KeepHostMappingOnDonate", &plant.KeepHostMappingOnDonate, ""},
		{"SkipOwnerCheckOnDonate", &plant.SkipOwnerCheckOnDonate, ""},
		{"ReclaimLiveVMIsDenied", &plant.ReclaimLiveVMIsDenied, ""},
		{"ShareIntoProtectedVM", &plant.ShareIntoProtectedVM, ""},
		{"MemStateIgnoresShare", &plant.MemStateIgnoresShare, ""},
		{"CPUOnNamesCaller", &plant.CPUOnNamesCaller, ""},
		{"LogReadOldestHighest", &plant.LogReadOldestHighest,
			"the alphabet marks no register, so no log holds a byte"},
		{"SGIExitWholeRegister", &plant.SGIExitWholeRegister,
			"the alphabet has no SGI request"},
		{"MMIOReadCarriesRegister", &plant.MMIOReadCarriesRegister, ""},
	}
}

// TestPlantedBugsDiverge turns on each bug the core can plant and requires
// the differential check to report a divergence: on the regression traces
// and the scripted guest's, or, failing that, on random traces.
func TestPlantedBugsDiverge(t *testing.T) {
	o := newOracle(t)
	traces := readTraces(t)
	traces["scripted guest"] = scriptedGuestTrace()
	for _, b := range plantedBugs() {
		t.Run(b.name, func(t *testing.T) {
			*b.sw = true
			defer func() { *b.sw = false }()
			for _, tr := range traces {
				if divergence(t, o, tr) != "" {
					return
				}
			}
			g := gen{rand.New(rand.NewSource(1))}
			for i := 0; i < randomTraces; i += batchTraces {
				var trs [][]string
				for range batchTraces {
					trs = append(trs, g.trace())
				}
				if _, d := divergences(t, o, trs); d != "" {
					return
				}
			}
			t.Fatalf("planted bug %s: no divergence found", b.name)
		})
	}
}
