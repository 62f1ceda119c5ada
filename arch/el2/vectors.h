// Vector table entries shared by the engine's vector tables (vectors_arm64.s,
// and bench_arm64.s in benchmark builds).

// ENGINE_FAULT: an exception taken at EL2 itself means the engine is broken:
// print the syndrome and power off, without running Go.
#define ENGINE_FAULT \
	MRS_X(ESR_EL2, 0); \
	MRS_X(ELR_EL2, 1); \
	MRS_X(FAR_EL2, 2); \
	MOVD	$'2', R3; \
	B	bulkhead∕arch∕arm64·Fatal(SB)

// LOWER(kind): an exception from EL1 or EL0: save x0, x1 on the engine's
// stack, note which vector took it, and leave the guest or host context in
// lowerExit.
#define LOWER(kind) \
	STP.W	(R0, R1), -16(RSP); \
	MOVD	$kind, R1; \
	B	·lowerExit(SB)
