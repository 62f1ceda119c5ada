package isolation

import (
	"fmt"

	"bulkhead/isolation/abi"
)

// Engine is the isolation engine's state: the ledger, the host's and every
// VM's stage-2, and the vCPUs. Create it with New.
type Engine struct {
	cfg   Config
	plat  Platform
	pool  tablePool
	pages []page // the ledger, one entry per page of RAM
	host  stage2
	vms   []vm // slot i is VM i+1
	marks []uint8
}

// VCPUState is the scheduling state of a vCPU.
type VCPUState uint8

// vCPU states.
const (
	VCPUOff     VCPUState = iota // not started, or stopped by PSCI
	VCPUOn                       // runnable: started by VCPU_INIT or PSCI CPU_ON
	VCPURunning                  // inside VCPU_RUN, executing guest code
)

// pendingReply is what the next VCPU_RUN's reply completes.
type pendingReply uint8

// Pending replies.
const (
	pendNone     pendingReply = iota
	pendMMIORead              // an emulated device read: the reply goes into a hidden register
	pendCall                  // a forwarded call: the reply becomes the guest's x0
)

// vcpu is one virtual CPU.
type vcpu struct {
	state VCPUState
	pend  pendingReply
	read  MMIORead // where a pending MMIO read goes
	ctx   Context
}

// vm is one VM slot.
type vm struct {
	live   bool
	hasRun bool
	nvcpu  int
	s2     stage2
	vcpus  []vcpu // MaxVCPUs entries, the first nvcpu in use
	shadow shadowState

	protected bool // created with abi.VMProtected: maps only pages it owns
}

// New returns an engine for cfg that uses p for hardware effects and takes
// its translation tables from pool. It builds the host stage-2: RAM minus the
// engine ranges identity-mapped as Normal write-back memory, read, write and
// execute, with the largest blocks alignment allows, plus cfg.HostMMIO
// identity-mapped as Device-nGnRE, read/write and never executable.
//
// Postconditions: every RAM page is owned by the host except the engine
// ranges, owned by the engine; every VM slot is Free.
func New(cfg Config, p Platform, pool Pool) (*Engine, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, plat: p}
	if err := e.pool.init(pool); err != nil {
		return nil, err
	}
	e.pages = make([]page, cfg.RAM.Size>>PageShift)
	e.marks = make([]uint8, len(e.pages))
	e.vms = make([]vm, cfg.MaxVMs)
	for i := range e.vms {
		e.vms[i].vcpus = make([]vcpu, cfg.MaxVCPUs)
	}
	if !e.boot() {
		return nil, fmt.Errorf("%w: too small for the host stage-2", errPool)
	}
	return e, nil
}

// boot fills in what New allocated, zeroed: the ledger, the VM slots and
// the host stage-2. It reports false when the pool is too small for the
// host stage-2. It is apart from New so that the proofs about the code
// cover it (New's allocations and errors are outside the translated
// subset).
func (e *Engine) boot() bool {
	e.setOwner(PA(e.cfg.RAM.Base), uint64(len(e.pages)), abi.OwnerHost, HostVMID)
	for _, r := range e.cfg.Engine {
		e.setOwner(PA(r.Base), r.Size>>PageShift, abi.OwnerEngine, HostVMID)
	}
	for i := range e.vms {
		e.vms[i].s2.root = -1
	}
	return e.buildHost()
}

// hostRAM is how the host maps RAM it owns.
var hostRAM = Attr{Perms: PermRWX}

// hostDevice is how the host maps its MMIO.
var hostDevice = Attr{Perms: PermRW, Device: true}

// buildHost creates the host stage-2, reporting false when the pool runs
// out of tables for it.
func (e *Engine) buildHost() bool {
	if !e.newStage2(&e.host, HostVMID) {
		return false
	}
	n := uint64(len(e.pages))
	for i := uint64(0); i < n; {
		j := i
		for j < n && e.pages[j].owner == abi.OwnerHost {
			j++
		}
		if j > i {
			pa := PA(e.cfg.RAM.Base + i<<PageShift)
			if !e.bootMap(IPA(pa), pa, j-i, hostRAM) {
				return false
			}
		}
		i = j + 1
	}
	for _, r := range e.cfg.HostMMIO {
		if !e.bootMap(IPA(r.Base), PA(r.Base), r.Size>>PageShift, hostDevice) {
			return false
		}
	}
	return true
}

// bootMap maps a range into the host stage-2 at boot, when running out of
// tables is a configuration error rather than a status: it reports false
// then, having changed nothing.
func (e *Engine) bootMap(ipa IPA, pa PA, n uint64, a Attr) bool {
	if e.mapNeed(&e.host, ipa, pa, n) > e.pool.nfree {
		return false
	}
	e.mapRange(&e.host, ipa, pa, n, a)
	return true
}

// RootPA returns the physical address of the host stage-2's concatenated
// root tables.
func (e *Engine) RootPA() PA { return e.pool.pa(e.host.root) }

// HostVTTBR returns the VTTBR_EL2 value that selects the host stage-2; the
// arch code loads it before entering the host and after every guest exit.
func (e *Engine) HostVTTBR() uint64 { return VTTBR(e.RootPA(), HostVMID) }

// VTTBROf returns the VTTBR_EL2 value of principal id's stage-2 tables
// (their root and id's VMID), for the arch code's TLB maintenance by VMID,
// and false while id has no tables. A VM keeps them until freeStage2 has
// invalidated its VMID, so every InvalidateIPA and InvalidateVMID of the
// core finds them.
func (e *Engine) VTTBROf(id VMID) (uint64, bool) {
	s := &e.host
	if id != HostVMID {
		if id == 0 || int(id) > len(e.vms) {
			return 0, false
		}
		s = &e.vms[id-1].s2
	}
	if s.root < 0 {
		return 0, false
	}
	return VTTBR(e.pool.pa(s.root), s.vmid), true
}

// Translate walks the stage-2 of principal vm (0 for the host) for ipa. It
// returns false if vm has no stage-2 or ipa is not mapped.
func (e *Engine) Translate(vm VMID, ipa IPA) (Mapping, bool) {
	s := e.stage2Of(vm)
	if s == nil {
		return Mapping{}, false
	}
	return e.translate(s, ipa)
}

// stage2Of returns the stage-2 of principal id, or nil if it has none.
func (e *Engine) stage2Of(id VMID) *stage2 {
	if id == HostVMID {
		return &e.host
	}
	if int(id) > len(e.vms) || !e.vms[id-1].live {
		return nil
	}
	return &e.vms[id-1].s2
}

// FreeTables returns how many tables of the pool are free.
func (e *Engine) FreeTables() int { return e.pool.nfree }

// Config returns the configuration the engine runs with (HostMMIO widened to
// pages).
func (e *Engine) Config() Config { return e.cfg }
