package vgic

import "bulkhead/hypervisor/vmachine"

// refGIC is a reference model of the GIC, written from the GICv3
// architecture specification (Arm IHI 0069) and the fixed choices of the
// package documentation, independently of the implementation: it keeps
// one plain record per INTID (per vCPU for SGIs and PPIs) instead of the
// implementation's 32-bit banks, decodes addresses from the register maps
// of IHI 0069 12.8 and 12.10 with its own literal offsets, and uses none
// of the implementation's functions, types or constants. Tests drive it
// and a GIC with the same operations and compare every read and every
// deliverable set (property_test.go).
//
// Where the architecture leaves a behaviour UNPREDICTABLE, IMPLEMENTATION
// DEFINED or UNKNOWN, the model takes the choice the package documents:
// priorities keep all eight bits, PPIs' trigger mode is programmable, a
// latch set while an interrupt was edge-triggered survives a change to
// level-sensitive, the reset values are zero, the 1-of-N target is the
// lowest-numbered awake vCPU that has not opted out, and delivery stands
// in for the acknowledgement without setting the active state.
type refGIC struct {
	vcpus, spis int

	// GICD_CTLR.EnableGrp0 and EnableGrp1 (IHI 0069 12.9.4, the layout
	// with DS == 1).
	enableGrp0, enableGrp1 bool

	// private[v][i] is INTID i (an SGI or a PPI) as vCPU v's
	// redistributor holds it; spi[i] is INTID 32+i.
	private [][32]refIRQ
	spi     []refIRQ

	redist []refRedist
}

// refIRQ is one interrupt's programmable state and input.
type refIRQ struct {
	group1   bool   // GICD_IGROUPR / GICR_IGROUPR0 bit
	enabled  bool   // GICD_ISENABLER / ICENABLER bit
	latched  bool   // pending latch: an edge, a write to ISPENDR or an SGI
	line     bool   // level of the input line (PPIs and SPIs)
	active   bool   // GICD_ISACTIVER / ICACTIVER bit
	edge     bool   // ICFGR Int_config[1] (SGIs ignore it: always edge)
	priority uint8  // IPRIORITYR byte
	route    uint64 // GICD_IROUTER (SPIs), RES0 fields cleared
}

// refRedist is one redistributor's GICR_WAKER and GICR_CTLR state.
type refRedist struct {
	processorSleep bool // GICR_WAKER.ProcessorSleep
	dpg0, dpg1ns   bool // GICR_CTLR.DPG0, DPG1NS
}

// Register offsets from IHI 0069 12.8 (distributor) and 12.10
// (redistributor), spelled out here rather than taken from the
// implementation.
const (
	refSGIFrame   = 0x1_0000 // SGI_base from RD_base
	refIROUTER    = 0x6000   // GICD_IROUTER<n> at 0x6000 + 8n
	refIDRegs     = 0xFFD0   // PIDR4 .. CIDR3
	refRouterMask = 1<<31 | 0xFF_FFFF
	refSG         = 16 // SGIs are INTIDs 0-15
)

func newRef(vcpus, spis int) *refGIC {
	r := &refGIC{vcpus: vcpus, spis: spis}
	r.reset()
	return r
}

// reset gives every register its reset value: zero throughout, with each
// redistributor asleep (GICR_WAKER.ProcessorSleep resets to 1).
func (r *refGIC) reset() {
	r.enableGrp0, r.enableGrp1 = false, false
	r.private = make([][32]refIRQ, r.vcpus)
	r.spi = make([]refIRQ, r.spis)
	r.redist = make([]refRedist, r.vcpus)
	for v := range r.redist {
		r.redist[v].processorSleep = true
	}
}

// irq returns INTID intid as vCPU v sees it, or nil if the GIC does not
// implement it (or v is not a vCPU of the VM, for an SGI or a PPI).
func (r *refGIC) irq(v, intid int) *refIRQ {
	switch {
	case intid < 0:
		return nil
	case intid < 32:
		if v < 0 || v >= r.vcpus {
			return nil
		}
		return &r.private[v][intid]
	case intid < 32+r.spis:
		return &r.spi[intid-32]
	}
	return nil
}

// isEdge says whether an interrupt is edge-triggered: SGIs always are
// (IHI 0069 12.11, GICR_ICFGR0).
func isEdge(intid int, q *refIRQ) bool { return intid < refSG || q.edge }

// pending is the pending state of IHI 0069 4.1: an edge-triggered
// interrupt is pending while latched; a level-sensitive one while latched
// (by a write to ISPENDR) or while its line is asserted.
func pending(intid int, q *refIRQ) bool {
	return q.latched || !isEdge(intid, q) && q.line
}

// frame is where an address falls: the distributor (v == -1) or vCPU v's
// redistributor, at offset off from the frame's base (RD_base for a
// redistributor, whose SGI_base follows at refSGIFrame).
func (r *refGIC) frame(ipa uint64) (v int, off uint64, ok bool) {
	if ipa >= vmachine.GICD.Base && ipa-vmachine.GICD.Base < 0x1_0000 {
		return -1, ipa - vmachine.GICD.Base, true
	}
	if ipa < vmachine.GICRBase {
		return 0, 0, false
	}
	n := (ipa - vmachine.GICRBase) / 0x2_0000
	if n >= uint64(r.vcpus) {
		return 0, 0, false
	}
	return int(n), (ipa - vmachine.GICRBase) % 0x2_0000, true
}

// read is a guest read of size bytes at ipa. IHI 0069 12.1.3 allows word
// accesses to every register, byte accesses to IPRIORITYR (the byte-
// accessible GICv2 registers are RAZ/WI here), and doubleword accesses to
// the 64-bit registers, which may also be accessed a word at a time; the
// package reads any other access as zero.
func (r *refGIC) read(ipa uint64, size int) uint64 {
	v, off, ok := r.frame(ipa)
	if !ok {
		return 0
	}
	switch {
	case size == 1:
		if p := r.priorityByte(v, off); p != nil {
			return uint64(*p)
		}
	case size == 4 && off%4 == 0:
		if r64, ok := r.reg64(v, off&^7); ok {
			return r64 >> (8 * (off % 8)) & 0xFFFF_FFFF
		}
		return uint64(r.word(v, off))
	case size == 8 && off%8 == 0:
		if r64, ok := r.reg64(v, off); ok {
			return r64
		}
	}
	return 0
}

// write is a guest write of the low size bytes of value at ipa, under the
// access rules of read.
func (r *refGIC) write(ipa uint64, size int, value uint64) {
	v, off, ok := r.frame(ipa)
	if !ok {
		return
	}
	switch {
	case size == 1:
		if p := r.priorityByte(v, off); p != nil {
			*p = uint8(value)
		}
	case size == 4 && off%4 == 0:
		if old, ok := r.reg64(v, off&^7); ok {
			shift := 8 * (off % 8)
			r.setReg64(v, off&^7, old&^(0xFFFF_FFFF<<shift)|(value&0xFFFF_FFFF)<<shift)
			return
		}
		r.setWord(v, off, uint32(value))
	case size == 8 && off%8 == 0:
		if _, ok := r.reg64(v, off); ok {
			r.setReg64(v, off, value)
		}
	}
}

// priorityByte returns the IPRIORITYR byte at off of frame v: byte n of
// GICD_IPRIORITYR holds INTID n (IHI 0069 12.9.21), of an SPI the GIC
// implements; byte n of the SGI_base frame's IPRIORITYR0-7 holds SGI or
// PPI n (12.11.20). The distributor's bytes for INTIDs 0-31 are RAZ/WI
// with affinity routing.
func (r *refGIC) priorityByte(v int, off uint64) *uint8 {
	if v < 0 {
		if off < 0x400+32 || off >= 0x800 {
			return nil
		}
		if q := r.irq(0, int(off-0x400)); q != nil {
			return &q.priority
		}
		return nil
	}
	if off < refSGIFrame+0x400 || off >= refSGIFrame+0x420 {
		return nil
	}
	return &r.private[v][off-refSGIFrame-0x400].priority
}

// reg64 returns the 64-bit register at off of frame v: GICD_IROUTER<n> of
// an implemented SPI (n >= 32), or GICR_TYPER.
func (r *refGIC) reg64(v int, off uint64) (uint64, bool) {
	if v < 0 {
		if q := r.router(off); q != nil {
			return q.route, true
		}
		return 0, false
	}
	if off == 0x0008 {
		return r.gicrTyper(v), true
	}
	return 0, false
}

// router returns the SPI whose GICD_IROUTER is at off, or nil.
func (r *refGIC) router(off uint64) *refIRQ {
	if off < refIROUTER || off >= refIROUTER+8*1020 || off%8 != 0 {
		return nil
	}
	n := int(off-refIROUTER) / 8
	if n < 32 {
		return nil // reserved: SGIs and PPIs are not routed by the distributor
	}
	return r.irq(0, n)
}

// setReg64 writes GICD_IROUTER (GICR_TYPER is read-only). Aff3 is RES0
// since GICD_TYPER.A3V is 0, and bits 30:24 are RES0 (IHI 0069 12.9.22).
func (r *refGIC) setReg64(v int, off uint64, value uint64) {
	if v < 0 {
		if q := r.router(off); q != nil {
			q.route = value & refRouterMask
		}
	}
}

// gicrTyper is GICR_TYPER (IHI 0069 12.11.35): Affinity_Value [63:32]
// with Aff0 = the vCPU number, Processor_Number [23:8], Last [4] on the
// final redistributor, DPGS [5]; no LPIs, 16 PPIs.
func (r *refGIC) gicrTyper(v int) uint64 {
	t := uint64(v)<<32 | uint64(v)<<8 | 1<<5
	if v == r.vcpus-1 {
		t |= 1 << 4
	}
	return t
}

// refIIDR is the product the package reports in GICD_IIDR and GICR_IIDR.
const refIIDR = 0x62 << 24

// refID are PIDR4-7, PIDR0-3, CIDR0-3 at 0xFFD0: PIDR2.ArchRev = 3
// (GICv3), PIDR4.SIZE = 4 (64 KiB), the CoreSight component preamble.
var refID = [12]uint32{0x40, 0, 0, 0, 0, 0, 0x30, 0, 0x0D, 0xF0, 0x05, 0xB1}

// word reads the 32-bit register at off of frame v.
func (r *refGIC) word(v int, off uint64) uint32 {
	if off >= refIDRegs && off < 0x1_0000 {
		return refID[(off-refIDRegs)/4]
	}
	if v < 0 {
		return r.distWord(off)
	}
	if off >= refSGIFrame {
		return r.sgiWord(v, off-refSGIFrame)
	}
	switch off {
	case 0x0000: // GICR_CTLR
		return b2u(r.redist[v].dpg0)<<24 | b2u(r.redist[v].dpg1ns)<<25
	case 0x0004: // GICR_IIDR
		return refIIDR
	case 0x0014: // GICR_WAKER: ChildrenAsleep follows ProcessorSleep
		return b2u(r.redist[v].processorSleep)<<1 | b2u(r.redist[v].processorSleep)<<2
	}
	return 0
}

// setWord writes the 32-bit register at off of frame v.
func (r *refGIC) setWord(v int, off uint64, x uint32) {
	switch {
	case off >= refIDRegs && off < 0x1_0000:
	case v < 0:
		r.setDistWord(off, x)
	case off >= refSGIFrame:
		r.setSGIWord(v, off-refSGIFrame, x)
	case off == 0x0000:
		r.redist[v].dpg0, r.redist[v].dpg1ns = x>>24&1 != 0, x>>25&1 != 0
	case off == 0x0014:
		r.redist[v].processorSleep = x>>1&1 != 0
	}
}

// distWord reads a distributor register (IHI 0069 12.8).
func (r *refGIC) distWord(off uint64) uint32 {
	switch {
	case off == 0x0000: // GICD_CTLR: DS [6] and ARE [4] read as one
		return b2u(r.enableGrp0) | b2u(r.enableGrp1)<<1 | 1<<4 | 1<<6
	case off == 0x0004: // GICD_TYPER: ITLinesNumber, IDbits 9, RSS
		return uint32(r.spis/32) | 9<<19 | 1<<26
	case off == 0x0008:
		return refIIDR
	case off >= 0x0080 && off < 0x0400:
		return r.bitsWord(func(i int) *refIRQ { return r.distIRQ(i) }, off)
	case off >= 0x0400 && off < 0x0800:
		return r.priorityWord(-1, off)
	case off >= 0x0C00 && off < 0x0D00:
		return r.cfgWord(func(i int) *refIRQ { return r.distIRQ(i) }, off-0x0C00)
	}
	return 0
}

func (r *refGIC) setDistWord(off uint64, x uint32) {
	switch {
	case off == 0x0000:
		r.enableGrp0, r.enableGrp1 = x&1 != 0, x>>1&1 != 0
	case off >= 0x0080 && off < 0x0400:
		r.setBitsWord(func(i int) *refIRQ { return r.distIRQ(i) }, off, x)
	case off >= 0x0400 && off < 0x0800:
		r.setPriorityWord(-1, off, x)
	case off >= 0x0C00 && off < 0x0D00:
		r.setCfgWord(func(i int) *refIRQ { return r.distIRQ(i) }, off-0x0C00, x)
	}
}

// distIRQ is the interrupt the distributor's per-interrupt registers hold
// for INTID i: only SPIs, since with affinity routing the SGIs' and PPIs'
// bits are RAZ/WI there.
func (r *refGIC) distIRQ(i int) *refIRQ {
	if i < 32 {
		return nil
	}
	return r.irq(0, i)
}

// sgiWord reads the SGI_base frame of vCPU v at off (IHI 0069 12.10).
func (r *refGIC) sgiWord(v int, off uint64) uint32 {
	at := func(i int) *refIRQ { return r.irq(v, i) }
	switch {
	case off >= 0x0080 && off < 0x0400 && off%0x80 == 0:
		return r.bitsWord(at, off)
	case off >= 0x0400 && off < 0x0420:
		return r.priorityWord(v, off+refSGIFrame)
	case off == 0x0C00 || off == 0x0C04:
		return r.cfgWord(at, off-0x0C00)
	}
	return 0
}

func (r *refGIC) setSGIWord(v int, off uint64, x uint32) {
	at := func(i int) *refIRQ { return r.irq(v, i) }
	switch {
	case off >= 0x0080 && off < 0x0400 && off%0x80 == 0:
		r.setBitsWord(at, off, x)
	case off >= 0x0400 && off < 0x0420:
		r.setPriorityWord(v, off+refSGIFrame, x)
	case off == 0x0C04: // GICR_ICFGR0 (SGIs) is read-only
		r.setCfgWord(at, off-0x0C00, x)
	}
}

// bitsWord reads one of the one-bit-per-INTID registers at off (0x80 to
// 0x3FF): IGROUPR, IS/ICENABLER, IS/ICPENDR, IS/ICACTIVER, whose set and
// clear forms read the same state (IHI 0069 12.9).
func (r *refGIC) bitsWord(at func(int) *refIRQ, off uint64) uint32 {
	var w uint32
	for bit := range 32 {
		intid := int(off%0x80/4)*32 + bit
		q := at(intid)
		if q == nil {
			continue
		}
		var b bool
		switch off / 0x80 {
		case 1:
			b = q.group1
		case 2, 3:
			b = q.enabled
		case 4, 5:
			b = pending(intid, q)
		case 6, 7:
			b = q.active
		}
		w |= b2u(b) << bit
	}
	return w
}

// setBitsWord writes those registers: IGROUPR takes each bit; the IS*
// registers set the state of the INTIDs written as one and the IC*
// registers clear it, and zeros have no effect. ICPENDR clears the latch
// only: a level-sensitive interrupt whose line is asserted stays pending.
func (r *refGIC) setBitsWord(at func(int) *refIRQ, off uint64, x uint32) {
	for bit := range 32 {
		q := at(int(off%0x80/4)*32 + bit)
		one := x>>bit&1 != 0
		if q == nil {
			continue
		}
		switch off / 0x80 {
		case 1:
			q.group1 = one
		case 2:
			q.enabled = q.enabled || one
		case 3:
			q.enabled = q.enabled && !one
		case 4:
			q.latched = q.latched || one
		case 5:
			q.latched = q.latched && !one
		case 6:
			q.active = q.active || one
		case 7:
			q.active = q.active && !one
		}
	}
}

// priorityWord reads four IPRIORITYR bytes, the lowest INTID in bits 7:0.
func (r *refGIC) priorityWord(v int, off uint64) uint32 {
	var w uint32
	for k := range uint64(4) {
		if p := r.priorityByte(v, off+k); p != nil {
			w |= uint32(*p) << (8 * k)
		}
	}
	return w
}

func (r *refGIC) setPriorityWord(v int, off uint64, x uint32) {
	for k := range uint64(4) {
		if p := r.priorityByte(v, off+k); p != nil {
			*p = uint8(x >> (8 * k))
		}
	}
}

// cfgWord reads ICFGR<n> (off = 4n): Int_config of INTID 16n+k in bits
// 2k+1:2k, bit 2k+1 set for edge-triggered, bit 2k RES0 (IHI 0069
// 12.9.9). SGIs read as edge-triggered.
func (r *refGIC) cfgWord(at func(int) *refIRQ, off uint64) uint32 {
	var w uint32
	for k := range 16 {
		intid := int(off/4)*16 + k
		if q := at(intid); q != nil && isEdge(intid, q) {
			w |= 2 << (2 * k)
		}
	}
	return w
}

func (r *refGIC) setCfgWord(at func(int) *refIRQ, off uint64, x uint32) {
	for k := range 16 {
		if q := at(int(off/4)*16 + k); q != nil {
			q.edge = x>>(2*k+1)&1 != 0
		}
	}
}

// setLevel drives the input line of a PPI of vCPU v or of an SPI (v then
// unused). A rising edge latches an edge-triggered interrupt pending.
func (r *refGIC) setLevel(intid, v int, level bool) {
	if intid < refSG {
		return // SGIs have no line
	}
	if intid >= 32 {
		v = 0
	}
	q := r.irq(v, intid)
	if q == nil {
		return
	}
	if level && !q.line && q.edge {
		q.latched = true
	}
	q.line = level
}

// pulse is one edge of an edge-triggered source; level-sensitive
// interrupts do not see it.
func (r *refGIC) pulse(intid, v int) {
	if intid < refSG {
		return
	}
	if intid >= 32 {
		v = 0
	}
	if q := r.irq(v, intid); q != nil && q.edge {
		q.latched = true
	}
}

// delivered is the acknowledgement of intid by vCPU v, if it was
// deliverable there: the pending latch clears; a level-sensitive
// interrupt whose line is asserted stays pending (IHI 0069 4.1).
func (r *refGIC) delivered(v, intid int) {
	if !r.deliverableTo(v, intid) {
		return
	}
	r.irq(v, intid).latched = false
}

// sendSGI is a write of x to ICC_SGI1R_EL1 by vCPU from (IHI 0069
// 12.2.23): INTID [27:24], TargetList [15:0], Aff1 [23:16], Aff2 [39:32],
// IRM [40], RS [47:44], Aff3 [55:48]. Every vCPU has affinity 0.0.0.v.
// With one Security state (GICD_CTLR.DS == 1) a write to ICC_SGI1R_EL1
// is forwarded whatever group the target has the SGI in: the register
// "can generate Group 0 interrupts" under that condition (IHI 0069,
// ICC_SGI1R_EL1, and the table "Forwarding an SGI to a target PE"). A
// Group 0 SGI so made pending is not deliverable, but ISPENDR0 shows it
// and it becomes deliverable if the guest moves it to Group 1.
func (r *refGIC) sendSGI(from int, x uint64) {
	if from < 0 || from >= r.vcpus {
		return
	}
	intid := int(x >> 24 & 0xF)
	var targets []int
	if x>>40&1 != 0 {
		for v := range r.vcpus {
			if v != from {
				targets = append(targets, v)
			}
		}
	} else if x>>16&0xFF == 0 && x>>32&0xFF == 0 && x>>48&0xFF == 0 {
		for n := range 16 {
			if x>>n&1 != 0 {
				targets = append(targets, int(x>>44&0xF)*16+n)
			}
		}
	}
	for _, v := range targets {
		if q := r.irq(v, intid); q != nil {
			q.latched = true
		}
	}
}

// target is the vCPU an SPI's GICD_IROUTER selects, or -1: with IRM set,
// the lowest-numbered vCPU that is awake (GICR_WAKER) and takes part in
// 1-of-N selection for Group 1 (GICR_CTLR.DPG1NS clear); otherwise the
// vCPU whose affinity is Aff2.Aff1.Aff0.
func (r *refGIC) target(q *refIRQ) int {
	if q.route>>31&1 != 0 {
		for v, rd := range r.redist {
			if !rd.processorSleep && !rd.dpg1ns {
				return v
			}
		}
		return -1
	}
	aff0 := int(q.route & 0xFF)
	if q.route>>8&0xFFFF != 0 || aff0 >= r.vcpus {
		return -1
	}
	return aff0
}

// deliverableTo says whether intid is pending, enabled, in Group 1 with
// GICD_CTLR.EnableGrp1 set, and targeted at vCPU v.
func (r *refGIC) deliverableTo(v, intid int) bool {
	q := r.irq(v, intid)
	if q == nil || !r.enableGrp1 || !q.group1 || !q.enabled || !pending(intid, q) {
		return false
	}
	return intid < 32 || r.target(q) == v
}

// deliverable lists the INTIDs deliverable to vCPU v in increasing order.
func (r *refGIC) deliverable(v int) []int {
	var out []int
	for intid := range 32 + r.spis {
		if r.deliverableTo(v, intid) {
			out = append(out, intid)
		}
	}
	return out
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
