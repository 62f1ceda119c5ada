// Package abi is the engine ABI, version 1: function ids, status codes, exit
// reasons, permission bits and the PSCI subset the engine implements for
// guests. It is the one source of these numbers for the engine, the
// hypervisor, guests, tests and the specification (specs/ABI.md).
//
// Calls follow the Arm SMC Calling Convention (SMCCC 1.2, DEN0028): HVC #0
// from EL1, function id in w0, arguments in x1..x7, results in x0..x7 with x0
// the status as a signed 64-bit value. Registers not used for results are
// preserved.
//
// This package is a leaf: it imports nothing, so that every image and every
// host tool can share it.
package abi

// Standard vendor-specific hypervisor service queries, SMC32 fast calls
// (SMCCC 1.2, section 6.2: owning entity 6, function numbers 0xFF00-0xFFFF).
const (
	CallUID  uint32 = 0x8600FF01 // x0..x3: the engine's UUID
	Revision uint32 = 0x8600FF03 // x0 major, x1 minor
)

// Engine calls: SMC64 fast calls in the vendor-specific hypervisor range,
// 0xC600_0000 | n.
const (
	Version uint32 = 0xC6000000 // x1 ABI major, x2 ABI minor

	VMCreate  uint32 = 0xC6000010 // x1 vCPU count, x2 flags (v1.1) -> x1 vmid
	VMDestroy uint32 = 0xC6000011 // x1 vmid
	VCPUInit  uint32 = 0xC6000012 // x1 vmid, x2 vcpu, x3 entry IPA, x4 initial x0
	VCPURun   uint32 = 0xC6000013 // x1 vmid, x2 vcpu, x3 reply -> x1 exit, x2..x7 details
	VCPUIRQ   uint32 = 0xC6000014 // x1 vmid, x2 vcpu, x3 INTID, x4 level

	MemDonate  uint32 = 0xC6000020 // x1 vmid, x2 PA, x3 IPA, x4 pages, x5 perms
	MemShare   uint32 = 0xC6000021 // x1 vmid, x2 PA, x3 IPA, x4 pages, x5 perms
	MemUnshare uint32 = 0xC6000022 // x1 vmid, x2 IPA, x3 pages
	MemReclaim uint32 = 0xC6000023 // x1 PA, x2 pages
	MemInfo    uint32 = 0xC6000024 // x1 PA -> x1 owner kind, x2 vmid, x3 shared, x4 borrower

	GuestShare      uint32 = 0xC6000040 // x1 IPA, x2 pages
	GuestUnshare    uint32 = 0xC6000041 // x1 IPA, x2 pages
	GuestRelinquish uint32 = 0xC6000042 // x1 IPA, x2 pages
	GuestMemInfo    uint32 = 0xC6000043 // -> x1 granule size in bytes
	GuestMemState   uint32 = 0xC6000044 // x1 IPA, x2 pages -> x1 state, x2 run (v1.1)
)

// VM_CREATE flags (x2, ABI v1.1). VMProtected asks for a protected VM: the
// host can give it only donated memory (MEM_SHARE into it is DENIED), and
// it shares with the host only through GUEST_SHARE. Bits other than
// VMProtected are ignored: a v1 caller passes only x1, so whatever it
// leaves in x2 above bit 0 must not change what VM_CREATE does.
const VMProtected = 1 << 0

// Page states answered by GUEST_MEMSTATE in x1 (ABI v1.1): what the page a
// guest maps at an IPA is to it.
const (
	MemUnmapped = 0 // nothing is mapped at the IPA
	MemPrivate  = 1 // the VM's own page, not shared: donated, nobody else maps it
	MemLent     = 2 // a host page MEM_SHAREd into the VM: the host can read and write it
	MemShared   = 3 // the VM's page that it GUEST_SHAREd with the host
)

// MemStateMaxRun is the most pages one GUEST_MEMSTATE reports on: x2, the
// run of pages from the IPA in the state of x1, is at most the pages asked
// for and at most this, which bounds the call's work at EL2 (a guest walks
// a larger range with more calls).
const MemStateMaxRun = 64

// Extension: MMIO shadow registers, so that a guest polling an emulated
// status register or streaming bytes to a data register (a console) does
// not exit for every access. MMIO_SHADOW marks the 32-bit register at an
// IPA of an emulated device window: mode ShadowRead answers the guest's
// reads of at most 4 bytes there with value; mode ShadowLog appends the low
// byte of the guest's writes of at most 4 bytes there to the VM's byte log;
// ShadowOff removes the mark. A VM has ShadowSlots marks (NO_MEMORY beyond)
// and a log of ShadowLogBytes; a write that finds the log full exits as
// usual. MMIO_LOG_READ takes up to 48 of the oldest logged bytes: x1 the
// count, x2..x7 the bytes packed little-endian. The host must drain the log
// before it handles an exit of the VM, so the bytes keep their order. What
// travels this way is what MMIO exits and replies carry anyway.
const (
	MMIOShadow  uint32 = 0xC6000030 // x1 vmid, x2 IPA, x3 mode, x4 value
	MMIOLogRead uint32 = 0xC6000031 // x1 vmid -> x1 count, x2..x7 bytes

	ShadowOff  = 0
	ShadowRead = 1
	ShadowLog  = 2

	ShadowSlots    = 4
	ShadowLogBytes = 256
	ShadowLogBatch = 48
)

// Benchmark baselines, answered only by an engine built with the
// bulkhead_bench tag (every other engine answers NOT_SUPPORTED). BENCH_ON
// installs a second EL2 vector table, BENCH_OFF the engine's own. While the
// second table is installed, BENCH_NULL returns at once with every register
// unchanged (the least an HVC can cost), BENCH_SWITCH performs the state
// save and restore of a guest round trip without entering a guest, and
// every other call takes the engine's path as usual. BENCH_RESIDENCY
// returns, in counter ticks, the longest single stay at EL2 that a guest's
// trap caused (x1) and that a host call caused (x2), and the most EL2 time
// one host call took in all, its guest traps included (x3), since the last
// BENCH_RESIDENCY, with the ESR, x0 and vector (0 synchronous, 1 IRQ, 2
// FIQ, 3 SError) of the trap that began the worst guest-caused stay (x4,
// x5, x6), and starts measuring afresh. BENCH_PROBE with x1 = 0 stops the
// measurement that BENCH_RESIDENCY reads (and the power-off report), and
// with x1 = 1 starts it again (it is on from boot): the engine's hot paths
// are timed without it, as an engine not built for benchmarks runs them.
const (
	BenchOn        uint32 = 0xC60000F0
	BenchOff       uint32 = 0xC60000F1
	BenchNull      uint32 = 0xC60000F2
	BenchSwitch    uint32 = 0xC60000F3
	BenchResidency uint32 = 0xC60000F4
	BenchProbe     uint32 = 0xC60000F5
)

// FileNameBytes is how much of a boot file's name (after the guest prefix)
// FILE_INFO returns, packed little-endian into x2..x7 and padded with zero
// bytes.
const FileNameBytes = 48

// Extension: boot files. The machine is started with files for the host
// (guest images, their arguments) that only the engine can read, because
// the device that carries them (QEMU fw_cfg) can write to any physical
// address. The engine copies a file into pages the host owns, and nowhere
// else. Files are numbered 0.. in the order of their names.
const (
	FileInfo uint32 = 0xC6000080 // x1 index -> x1 size in bytes, x2..x7 name
	FileRead uint32 = 0xC6000081 // x1 index, x2 PA, x3 pages -> x1 bytes copied
)

// Extension: VCPU_RUN_ALONE takes VCPU_RUN's arguments and returns its
// results, with one difference: while it runs the vCPU, the guest's WFI
// does not trap (HCR_EL2.TWI clear, Arm ARM D19.2.48), so it waits in the
// guest until an interrupt: its own timer's, which the engine presents
// without the host, or one of the host's (its tick, a kick), which ends
// the run with an IRQ exit as usual. It makes no WFI exit. A host uses it
// for a vCPU that has its CPU to itself, with its tick armed: nothing else
// wants the CPU, and the guest's timer then wakes it at once instead of
// at the host's next look. Engines without it answer NOT_SUPPORTED.
const VCPURunAlone uint32 = 0xC6000090 // as VCPU_RUN

// ABI version answered by Version, and the implementation revision answered
// by Revision.
const (
	VersionMajor  = 1
	VersionMinor  = 1
	RevisionMajor = 1
	RevisionMinor = 0
)

// UUID is the engine's UUID, f61d5a2c-ad92-474d-9d8d-2d4c3d8e771f, in RFC 4122
// byte order.
var UUID = [16]byte{
	0xf6, 0x1d, 0x5a, 0x2c, 0xad, 0x92, 0x47, 0x4d,
	0x9d, 0x8d, 0x2d, 0x4c, 0x3d, 0x8e, 0x77, 0x1f,
}

// UIDWords returns UUID as CallUID returns it in w0..w3: SMCCC 1.2 section
// 5.2.1 packs the 16 bytes four at a time, little-endian, into each register.
func UIDWords() (w [4]uint32) {
	for i := range w {
		w[i] = uint32(UUID[4*i]) | uint32(UUID[4*i+1])<<8 | uint32(UUID[4*i+2])<<16 | uint32(UUID[4*i+3])<<24
	}
	return w
}

// Status is the signed result every call returns in x0.
type Status int64

// Status codes.
const (
	Success           Status = 0
	NotSupported      Status = -1 // unknown id, or an id the caller may not use
	InvalidParameters Status = -2 // alignment, range, overflow, bad vmid or vcpu
	Denied            Status = -3 // the ledger forbids it: not yours, wrong state
	NoMemory          Status = -4
	Busy              Status = -5 // vCPU already running, VM still alive
)

// Reg is the register encoding of s, as it travels in x0.
func (s Status) Reg() uint64 { return uint64(s) }

// StatusOf decodes x0.
func StatusOf(x0 uint64) Status { return Status(int64(x0)) }

func (s Status) String() string {
	switch s {
	case Success:
		return "SUCCESS"
	case NotSupported:
		return "NOT_SUPPORTED"
	case InvalidParameters:
		return "INVALID_PARAMETERS"
	case Denied:
		return "DENIED"
	case NoMemory:
		return "NO_MEMORY"
	case Busy:
		return "BUSY"
	}
	return "UNKNOWN_STATUS"
}

// Exit is the reason VCPURun returns, in x1.
type Exit uint64

// Exit reasons.
const (
	ExitMMIO      Exit = 1 // x2 IPA, x3 access, x4 value written
	ExitCall      Exit = 2 // x2 function id, x3..x7 arguments
	ExitWFI       Exit = 3 // x2 (extension) 0 for WFI, WFIWaitForEvent for WFE
	ExitIRQ       Exit = 4
	ExitShutdown  Exit = 5 // x2 0 off, 1 reset
	ExitAbort     Exit = 6 // x2 exception class
	ExitVCPUState Exit = 7 // x2 vcpu, x3 1 on / 0 off
	// ExitSGI (extension) is a guest's write of ICC_SGI1R_EL1, asking for
	// software-generated interrupts (IHI 0069 12.2.23): x2 the value
	// written (INTID, target list, affinity, IRM). The hypervisor raises
	// the SGI on the targets with VCPU_IRQ; SGIs are edge-triggered, so the
	// engine delivers each raise once.
	ExitSGI Exit = 8
)

func (e Exit) String() string {
	switch e {
	case ExitMMIO:
		return "MMIO"
	case ExitCall:
		return "CALL"
	case ExitWFI:
		return "WFI"
	case ExitIRQ:
		return "IRQ"
	case ExitShutdown:
		return "SHUTDOWN"
	case ExitAbort:
		return "ABORT"
	case ExitVCPUState:
		return "VCPU_STATE"
	case ExitSGI:
		return "SGI"
	}
	return "UNKNOWN_EXIT"
}

// WFIWaitForEvent in x2 of an ExitWFI says the vCPU executed WFE, which
// waits for an event another vCPU sends (a spinning lock), rather than WFI,
// which waits for an interrupt: the hypervisor should run another vCPU, not
// idle.
const WFIWaitForEvent = 1

// MMIO access encoding in x3 of an ExitMMIO: bit 0 is set for a write, bits
// 1-2 hold log2 of the access size in bytes.
const (
	AccessWrite     = 1 << 0
	AccessSizeShift = 1
	AccessSizeMask  = 3 << AccessSizeShift
)

// MMIOAccess encodes the x3 of an ExitMMIO.
func MMIOAccess(write bool, log2Size uint) uint64 {
	a := uint64(log2Size&3) << AccessSizeShift
	if write {
		a |= AccessWrite
	}
	return a
}

// Permission bits of MEM_DONATE and MEM_SHARE (x5).
const (
	PermR   = 1
	PermW   = 2
	PermX   = 4
	PermAll = PermR | PermW | PermX
)

// Owner kinds answered by MEM_INFO in x1.
const (
	OwnerNone   = 0 // nobody: awaiting reclaim
	OwnerEngine = 1
	OwnerHost   = 2
	OwnerVM     = 3
)

// Granule is the translation granule, in bytes, answered by GUEST_MEMINFO.
const Granule = 4096

// GuestMaxPages is the most pages one GUEST_SHARE, GUEST_UNSHARE or
// GUEST_RELINQUISH covers (ABI v1.1); a larger count is INVALID_PARAMETERS.
// It bounds the work one guest trap makes the engine do with interrupts
// masked. The guest SDK's Share, Unshare and RelinquishRange split larger
// ranges into calls of at most this many pages.
const GuestMaxPages = 16

// HostID is the principal id of the host in MEM_INFO's borrower field.
const HostID = 0

// PSCI 1.1 (DEN0022) functions the engine implements for guests and the
// host. CPU_ON and AFFINITY_INFO have SMC64 forms; the engine accepts both
// widths.
const (
	PSCIVersion        uint32 = 0x84000000
	PSCICPUOff         uint32 = 0x84000002
	PSCICPUOn32        uint32 = 0x84000003
	PSCICPUOn64        uint32 = 0xC4000003
	PSCIAffinityInfo32 uint32 = 0x84000004
	PSCIAffinityInfo64 uint32 = 0xC4000004
	PSCISystemOff      uint32 = 0x84000008
	PSCISystemReset    uint32 = 0x84000009
	PSCIFeatures       uint32 = 0x8400000A
)

// PSCI return codes (DEN0022, section 5.2.2) and values.
const (
	PSCISuccess           int64 = 0
	PSCINotSupported      int64 = -1
	PSCIInvalidParameters int64 = -2
	PSCIDenied            int64 = -3
	PSCIAlreadyOn         int64 = -4
	PSCIOnPending         int64 = -5
	PSCIInternalFailure   int64 = -6

	PSCIVersion11 = 1<<16 | 1 // major 1, minor 1

	AffinityOn        = 0
	AffinityOff       = 1
	AffinityOnPending = 2
)

// SMCCC function id fields (SMCCC 1.2, section 2.5).
const (
	smcccFast      = 1 << 31
	smccc64        = 1 << 30
	smcccOENShift  = 24
	smcccOENMask   = 0x3f
	OENVendorHyp   = 6
	OENStandardSec = 4
)

// IsFast reports whether id is a fast call.
func IsFast(id uint32) bool { return id&smcccFast != 0 }

// Is64 reports whether id uses the SMC64 convention.
func Is64(id uint32) bool { return id&smccc64 != 0 }

// OwningEntity returns the owning entity number of id.
func OwningEntity(id uint32) uint32 { return id >> smcccOENShift & smcccOENMask }
