package isolation

// Stage-2 translation geometry: 4 KiB granule, 40-bit IPA space, lookup
// starting at level 1 with two concatenated level-1 tables (Arm ARM D8.2,
// "Translation process", and the VTCR_EL2 description of concatenated
// stage-2 tables: with T0SZ = 24 and SL0 = 1 the level-1 table is indexed by
// IPA[39:30], 1024 entries, which is two 4 KiB tables placed back to back,
// 8 KiB aligned). Levels 2 and 3 are ordinary 512-entry tables.
const (
	// S2StartLevel is the level at which stage-2 walks start.
	S2StartLevel = 1
	// S2RootTables is the number of concatenated tables at the start level.
	S2RootTables = 2
	// S2RootAlign is the alignment of the concatenated root, in bytes.
	S2RootAlign = S2RootTables * PageSize

	entriesPerTable = 512
	rootEntries     = S2RootTables * entriesPerTable
	lastLevel       = 3
)

// levelShift returns log2 of the bytes one entry at level lvl maps:
// 30 at level 1 (1 GiB), 21 at level 2 (2 MiB), 12 at level 3 (4 KiB).
func levelShift(lvl int) uint { return uint(PageShift + 9*(lastLevel-lvl)) }

// levelSize returns the bytes one entry at level lvl maps.
func levelSize(lvl int) uint64 { return uint64(1) << levelShift(lvl) }

// VTCR_EL2 fields for this geometry (Arm ARM D23.2, VTCR_EL2). The arch code
// programs VTCR_EL2 with VTCR(); the fields are exported so that it can
// check them against ID_AA64MMFR0_EL1.
const (
	VTCRT0SZ  = 64 - IPABits // bits [5:0]: IPA space is 2^(64-T0SZ) bytes
	VTCRSL0   = 1            // bits [7:6]: with TG0 = 4 KiB, start at level 1
	VTCRIRGN0 = 1            // bits [9:8]: table walks Normal, inner write-back write-allocate
	VTCRORGN0 = 1            // bits [11:10]: outer write-back write-allocate
	VTCRSH0   = 3            // bits [13:12]: inner shareable
	VTCRTG0   = 0            // bits [15:14]: 4 KiB granule
	VTCRPS    = 2            // bits [18:16]: 40-bit physical address size
	vtcrRES1  = 1 << 31
)

// VTCR returns the VTCR_EL2 value that matches the tables this package
// builds. VS (bit 19) is 0: VMIDs are 8 bits, which bounds MaxVMs at 255.
func VTCR() uint64 {
	return VTCRT0SZ | VTCRSL0<<6 | VTCRIRGN0<<8 | VTCRORGN0<<10 |
		VTCRSH0<<12 | VTCRTG0<<14 | VTCRPS<<16 | vtcrRES1
}

// VTTBR returns the VTTBR_EL2 value for a stage-2 whose concatenated root is
// at root, tagged with vmid (Arm ARM D23.2, VTTBR_EL2: BADDR in bits [47:1],
// VMID in bits [55:48]).
func VTTBR(root PA, vmid VMID) uint64 { return uint64(root) | uint64(vmid&0xff)<<48 }

// Stage-2 descriptor bit layout, VMSAv8-64 (Arm ARM D8.3, "Translation table
// descriptor formats", and D8.5, "Memory region attributes", for the stage-2
// block and page attribute fields). This table is the only place the bits are
// defined.
const (
	descValid = 1 << 0 // bit [0]: valid
	descTable = 1 << 1 // bit [1]: table (levels 1-2) or page (level 3); 0 is a block at levels 1-2

	descMemAttrShift = 2 // bits [5:2]: stage-2 MemAttr[3:0] (HCR_EL2.FWB == 0)
	descMemAttrMask  = 0xf << descMemAttrShift
	descS2APShift    = 6 // bits [7:6]: S2AP, stage-2 data access permissions
	descS2APMask     = 3 << descS2APShift
	descSHShift      = 8 // bits [9:8]: shareability
	descSHMask       = 3 << descSHShift
	descAF           = 1 << 10 // bit [10]: access flag; always set so no access-flag faults reach EL2
	descXN           = 1 << 54 // bit [54]: XN[1]; with bit [53] clear, not executable at EL1 or EL0

	descOAMask = 0x0000_ffff_ffff_f000 // bits [47:12]: output address (next table, page or block)

	// Stage-2 MemAttr[3:0] (Arm ARM D8.5.5, "Stage 2 memory type and
	// Cacheability attributes when FEAT_S2FWB is disabled"): [3:2] 00 is
	// Device with [1:0] the Device type; otherwise [3:2] is the outer and
	// [1:0] the inner cacheability, 11 write-back.
	memAttrNormalWB    = 0b1111
	memAttrDevicenGnRE = 0b0001

	// S2AP (Arm ARM D8.4.2, "Stage 2 data access permissions"): bit 0
	// allows reads, bit 1 allows writes.
	s2apRead  = 1
	s2apWrite = 2

	shInner = 3 // SH[1:0] == 11: inner shareable
)

// Perms are the access permissions of a mapping, with the bit values of the
// ABI (abi.PermR, abi.PermW, abi.PermX).
type Perms uint8

// Permission bits.
const (
	PermR   Perms = 1
	PermW   Perms = 2
	PermX   Perms = 4
	PermRW        = PermR | PermW
	PermRWX       = PermR | PermW | PermX
)

// Attr is what a stage-2 leaf says about the memory it maps.
type Attr struct {
	Perms  Perms
	Device bool // Device-nGnRE rather than Normal write-back
}

// Mapping is the translation of one page.
type Mapping struct {
	PA    PA
	Attr  Attr
	Level int // level of the leaf: 1 (1 GiB block), 2 (2 MiB block), 3 (page)
}

// leafDesc encodes a block (levels 1-2) or page (level 3) descriptor for pa.
// Precondition: pa is aligned to levelSize(lvl).
func leafDesc(pa PA, lvl int, a Attr) uint64 {
	d := uint64(pa)&descOAMask | descValid | descAF
	if lvl == lastLevel {
		d |= descTable
	}
	if a.Device {
		d |= memAttrDevicenGnRE << descMemAttrShift
	} else {
		d |= memAttrNormalWB<<descMemAttrShift | shInner<<descSHShift
	}
	if a.Perms&PermR != 0 {
		d |= s2apRead << descS2APShift
	}
	if a.Perms&PermW != 0 {
		d |= s2apWrite << descS2APShift
	}
	if a.Perms&PermX == 0 {
		d |= descXN
	}
	return d
}

// leafAttr decodes the attributes of a leaf descriptor.
func leafAttr(d uint64) Attr {
	var a Attr
	ap := (d & descS2APMask) >> descS2APShift
	if ap&s2apRead != 0 {
		a.Perms |= PermR
	}
	if ap&s2apWrite != 0 {
		a.Perms |= PermW
	}
	if d&descXN == 0 {
		a.Perms |= PermX
	}
	a.Device = (d&descMemAttrMask)>>descMemAttrShift == memAttrDevicenGnRE
	return a
}

// tableDesc encodes a table descriptor pointing at the table at pa. Stage-2
// table descriptors carry no attributes.
func tableDesc(pa PA) uint64 { return uint64(pa)&descOAMask | descValid | descTable }

// isValid reports whether d is a valid descriptor.
func isValid(d uint64) bool { return d&descValid != 0 }

// isTable reports whether d, found at level lvl, points to a next-level
// table. At level 3 the same bit pattern is a page.
func isTable(d uint64, lvl int) bool {
	return lvl < lastLevel && d&(descValid|descTable) == descValid|descTable
}

// descOA returns the output address of d.
func descOA(d uint64) PA { return PA(d & descOAMask) }

// blockAllowed reports whether a leaf may be placed at level lvl: 1 GiB
// blocks at level 1 and 2 MiB blocks at level 2 are both architected for the
// 4 KiB granule (Arm ARM D8.3.1), and level 3 holds pages.
func blockAllowed(lvl int) bool { return lvl >= S2StartLevel && lvl <= lastLevel }
