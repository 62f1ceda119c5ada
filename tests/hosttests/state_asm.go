//go:build tamago && arm64

package hosttests

// hostEL1Names are the host EL1 registers readHostEL1 reads, in order:
// registers a guest can write that the host does not change by itself
// between two reads.
var hostEL1Names = [...]string{
	"TPIDRRO_EL0", "CONTEXTIDR_EL1", "TPIDR_EL0", "AFSR0_EL1", "AFSR1_EL1", "PAR_EL1",
	"CNTV_CVAL_EL0", "CNTV_CTL_EL0", "CSSELR_EL1", "AMAIR_EL1", "MAIR_EL1", "TCR_EL1",
	"TTBR0_EL1", "TTBR1_EL1", "VBAR_EL1", "CNTKCTL_EL1", "TPIDR_EL1", "SCTLR_EL1", "CPACR_EL1",
}

// hostEL1 holds the host's values of hostEL1Names.
type hostEL1 [len(hostEL1Names)]uint64

// fpFile is V0..V31 (V[2n] the low half of Vn), FPCR and FPSR.
type fpFile struct {
	V    [64]uint64
	FPCR uint64
	FPSR uint64
}

// Defined in state_arm64.s.
func readHostEL1(out *hostEL1)
func fpCall(x *[8]uint64, in, out *fpFile)
func pmuStart()
func pmuRead() (cycles, event0 uint64)
