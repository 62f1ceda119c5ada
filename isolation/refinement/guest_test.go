package refinement

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/fakearch"
)

// A scripted run (the oracle's "run" line): VCPU_RUN, then the guest's
// actions in that run played by the fake platform. Guest loads and stores
// go through the engine's stage-2 tables (Translate), so a mapping the
// engine forgot to remove, or never made, changes what the guest reads
// and writes; traps are the syndromes the hardware would report.

// Syndrome fields (Arm ARM D23.2, ESR_EL2; the values isolation/exit.go
// decodes).
const (
	esrEC      = 26
	ecWFx      = 0x01
	ecHVC64    = 0x16
	ecSysReg   = 0x18
	ecDABTLow  = 0x24
	issISV     = 1 << 24
	issSAS     = 22
	issSRT     = 16
	issSF      = 1 << 15
	issWnR     = 1 << 6
	dfscTrans3 = 0x07 // translation fault, level 3
	// A write of ICC_SGI1R_EL1 (EC 0x18: op0 3, op2 5, op1 0, CRn 12,
	// CRm 11, direction write), Rt at bit 5 (D17.2.37).
	issSGI1RWrite = 3<<20 | 5<<17 | 0<<14 | 12<<10 | 11<<1
	issRt         = 5
)

// pageValue is where a page's model value lives in the fake memory: the
// first 8 bytes, little-endian (the model keeps one number per page).
func pageValue(a *fakearch.Arch, p isolation.PA) uint64 {
	var b [8]byte
	for i := range b {
		b[i] = a.Read(p + isolation.PA(i))
	}
	return binary.LittleEndian.Uint64(b[:])
}

func setPageValue(a *fakearch.Arch, p isolation.PA, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	for i, x := range b {
		a.Write(p+isolation.PA(i), x)
	}
}

// access returns the page an access of the guest at ipa reaches with perm,
// as the MMU would: through the VM's stage-2.
func (g *goRun) access(vm isolation.VMID, ipa uint64, perm isolation.Perms) (isolation.PA, bool) {
	m, ok := g.e.Translate(vm, isolation.IPA(ipa))
	if !ok || m.Attr.Perms&perm == 0 {
		return 0, false
	}
	return m.PA &^ (isolation.PageSize - 1), true
}

// guestAction is one parsed action; trap is nil for an action that does
// not leave the guest.
func (g *goRun) guestAction(vm isolation.VMID, f []string) (before func(*isolation.Context), trap *isolation.Trap, err error) {
	num := func(i int) uint64 {
		if err != nil {
			return 0
		}
		var v uint64
		v, err = strconv.ParseUint(f[i], 0, 64)
		return v
	}
	switch {
	case f[0] == "set" && len(f) == 3:
		r, v := num(1), num(2)
		return func(c *isolation.Context) { c.X[r] = v }, nil, err
	case f[0] == "load" && len(f) == 3:
		ipa, r := num(1), num(2)
		return func(c *isolation.Context) {
			if p, ok := g.access(vm, ipa, isolation.PermR); ok {
				c.X[r] = pageValue(g.a, p)
			}
		}, nil, err
	case f[0] == "store" && len(f) == 3:
		ipa, r := num(1), num(2)
		return func(c *isolation.Context) {
			if p, ok := g.access(vm, ipa, isolation.PermW); ok {
				setPageValue(g.a, p, c.X[r])
			}
		}, nil, err
	case f[0] == "mmio" && len(f) == 5:
		ipa, w, log2, r := num(1), num(2), num(3), num(4)
		esr := uint64(ecDABTLow)<<esrEC | issISV | log2<<issSAS | r<<issSRT | issSF | dfscTrans3
		if w == 1 {
			esr |= issWnR
		}
		return nil, &isolation.Trap{Kind: isolation.TrapSync, ESR: esr, FAR: ipa, HPFAR: ipa >> 12 << 4}, err
	case f[0] == "host" && len(f) >= 2:
		// A host call from another CPU while the vCPU is inside
		// EnterGuest; its registers are reported before VCPU_RUN's.
		x, perr := parseWords(f[1:])
		return func(*isolation.Context) {
			r, _ := g.e.Dispatch(isolation.HostCaller(), x)
			g.nested = append(g.nested, regsLine(r))
		}, nil, perr
	case f[0] == "hvc" && len(f) == 1:
		return nil, &isolation.Trap{Kind: isolation.TrapSync, ESR: ecHVC64 << esrEC}, nil
	case f[0] == "sgi" && len(f) == 2:
		r := num(1)
		return nil, &isolation.Trap{Kind: isolation.TrapSync, ESR: ecSysReg<<esrEC | issSGI1RWrite | r<<issRt}, err
	case f[0] == "wfi" && len(f) == 1:
		return nil, &isolation.Trap{Kind: isolation.TrapSync, ESR: ecWFx << esrEC}, nil
	case f[0] == "irq" && len(f) == 1:
		return nil, &isolation.Trap{Kind: isolation.TrapIRQ}, nil
	case f[0] == "serror" && len(f) == 1:
		return nil, &isolation.Trap{Kind: isolation.TrapSError}, nil
	}
	return nil, nil, fmt.Errorf("bad guest action %q", strings.Join(f, " "))
}

// run plays "run VM VCPU REPLY ; ACTION ; ..." and returns VCPU_RUN's
// registers; the registers of host calls made during the run are in
// g.nested.
func (g *goRun) run(op string) ([8]uint64, error) {
	g.nested = g.nested[:0]
	parts := strings.Split(op, ";")
	f := strings.Fields(parts[0])
	if len(f) != 4 {
		return [8]uint64{}, fmt.Errorf("bad op %q", op)
	}
	x, err := parseWords(append([]string{strconv.FormatUint(uint64(abi.VCPURun), 10)}, f[1:]...))
	if err != nil {
		return x, err
	}
	vm := isolation.VMID(x[1])
	var pending []func(*isolation.Context)
	g.a.Script = g.a.Script[:0]
	step := func(t isolation.Trap) {
		acts := pending
		pending = nil
		g.a.Script = append(g.a.Script, fakearch.Step{Trap: t, Before: func(c *isolation.Context) {
			for _, a := range acts {
				a(c)
			}
		}})
	}
	for _, a := range parts[1:] {
		af := strings.Fields(a)
		if len(af) == 0 {
			continue
		}
		before, trap, err := g.guestAction(vm, af)
		if err != nil {
			return x, err
		}
		if before != nil {
			pending = append(pending, before)
		}
		if trap != nil {
			step(*trap)
		}
	}
	if len(pending) > 0 {
		step(isolation.Trap{Kind: isolation.TrapIRQ})
	}
	r, _ := g.e.Dispatch(isolation.HostCaller(), x)
	// Actions after the exit never ran; a host call among them is
	// reported as not made, as the oracle does.
	g.a.Script = g.a.Script[:0]
	hosts := 0
	for _, a := range parts[1:] {
		if f := strings.Fields(a); len(f) > 0 && f[0] == "host" {
			hosts++
		}
	}
	for len(g.nested) < hosts {
		g.nested = append(g.nested, "x -")
	}
	return r, nil
}

// runOp is the trace line of a scripted run.
func runOp(vm, vc, reply uint64, actions ...string) string {
	return strings.Join(append([]string{fmt.Sprintf("run %d %d %#x", vm, vc, reply)}, actions...), " ; ")
}
