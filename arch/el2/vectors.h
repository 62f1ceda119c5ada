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

// ENTRY starts the next 0x80-byte vector table entry.
#define ENTRY PCALIGN $128

// VECTOR_TABLE(syncLower64) lays out an EL2 vector table (Arm ARM D1.10.2,
// table D1-7: 16 entries of 0x80 bytes, 2 KiB aligned, as VBAR_EL2[10:0]
// are RES0): exceptions taken at EL2 are engine faults, exceptions from a
// lower EL leave the running context through lowerExit, except the
// synchronous one from AArch64, which is syncLower64. The AArch32 group
// serves EL0 only (HCR_EL2.RW makes EL1 AArch64).
#define VECTOR_TABLE(syncLower64) \
	PCALIGN	$2048; \
	ENGINE_FAULT; ENTRY; ENGINE_FAULT; ENTRY; ENGINE_FAULT; ENTRY; ENGINE_FAULT; ENTRY; \
	ENGINE_FAULT; ENTRY; ENGINE_FAULT; ENTRY; ENGINE_FAULT; ENTRY; ENGINE_FAULT; ENTRY; \
	syncLower64; ENTRY; LOWER(const_VectorIRQ); ENTRY; LOWER(const_VectorFIQ); ENTRY; LOWER(const_VectorSError); ENTRY; \
	LOWER(const_VectorSync); ENTRY; LOWER(const_VectorIRQ); ENTRY; LOWER(const_VectorFIQ); ENTRY; LOWER(const_VectorSError)
