// The baton's frame, shared by the engine's (arch/el2) and the
// hypervisor's (arch/el1) batons: each package has a theBaton whose type
// has fields SP, G, FP and LR (go_asm.h offsets baton_SP, ...), included
// after go_asm.h.

// SAVE_FRAME saves into the package's theBaton (R1 = its address
// afterwards) the frame the Go runtime's one thread continues from: SP, g,
// R29, and the return address the caller moved from R30 to R3. Go
// assembly functions are called with every other register caller-saved,
// so these four are all of the thread's state a handoff must keep.
#define SAVE_FRAME \
	MOVD	$·theBaton(SB), R1; \
	MOVD	RSP, R2; \
	MOVD	R2, baton_SP(R1); \
	MOVD	g, baton_G(R1); \
	MOVD	R29, baton_FP(R1); \
	MOVD	R3, baton_LR(R1)
