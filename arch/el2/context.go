package el2

// Context is an EL1 execution context as the engine switches to it: the
// general registers, the EL1 stack pointer, the return state of the last
// exception taken to EL2, that exception's syndrome, and where its FP/SIMD
// file lives. The assembly reads the fields through go_asm.h (Context_Regs,
// Context_SP, ...), never through hand-written offsets.
type Context struct {
	// X are x0..x30 of a context that keeps its own (the host's), and
	// Regs where the vectors save and load a context's: &X, or for a
	// vCPU the core's copy of its registers (isolation.Context.X), which
	// an exit and an entry then need not copy.
	X      [31]uint64
	Regs   *[31]uint64
	SP     uint64 // SP_EL1
	PC     uint64 // ELR_EL2: where EL1 resumes
	PSTATE uint64 // SPSR_EL2
	ESR    uint64 // ESR_EL2 of the exit
	FAR    uint64 // FAR_EL2 of the exit
	HPFAR  uint64 // HPFAR_EL2 of the exit
	Vector uint64 // which lower-EL vector took the exit (VectorSync, ...)
	// FP is the context's FP/SIMD file: saved into at every exit to EL2
	// before any Go code runs, loaded from just before every ERET. nil
	// leaves the registers as they are (only a leak-test build does so).
	FP *FPFile
	// CPU is the start-up slot of the CPU the context runs on (0: the
	// boot CPU), and Stack the top of that CPU's EL2 exception stack; the
	// engine sets both before each entry.
	CPU   uint64
	Stack uint64
}

// Lower-EL vector kinds recorded in Context.Vector (Arm ARM D1.10.2, table
// D1-7 "Vector offsets from vector table base address").
const (
	VectorSync   = 0
	VectorIRQ    = 1
	VectorFIQ    = 2
	VectorSError = 3
	// VectorStart is no exception: a CPU the engine started reports in
	// through its context with it (secondaryEntry).
	VectorStart = 4
)

// PSTATE values for entering EL1 (D1.4, SPSR_EL2.M[3:0] and DAIF).
const (
	ModeEL0t    = 0b0000
	ModeEL1t    = 0b0100
	ModeEL1h    = 0b0101
	pstateDAIF  = 0xf << 6
	PSTATEEntry = ModeEL1h | pstateDAIF
)
