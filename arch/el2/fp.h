// FP/SIMD register file transfer (Arm ARM C1.2.4, "SIMD and floating-point
// registers"; D19.2 FPCR, FPSR), shared by the vector entry and exit
// (vectors_arm64.s) and saveFP/loadFP (switch_arm64.s). base points at an
// FPFile and is advanced past V31; t1 and t2 are scratch registers.

#define FP_SAVE(base, t1, t2) \
	MRS	FPCR, t1; \
	MRS	FPSR, t2; \
	STP	(t1, t2), FPFile_FPCR(base); \
	VST1.P	[V0.D2, V1.D2, V2.D2, V3.D2], 64(base); \
	VST1.P	[V4.D2, V5.D2, V6.D2, V7.D2], 64(base); \
	VST1.P	[V8.D2, V9.D2, V10.D2, V11.D2], 64(base); \
	VST1.P	[V12.D2, V13.D2, V14.D2, V15.D2], 64(base); \
	VST1.P	[V16.D2, V17.D2, V18.D2, V19.D2], 64(base); \
	VST1.P	[V20.D2, V21.D2, V22.D2, V23.D2], 64(base); \
	VST1.P	[V24.D2, V25.D2, V26.D2, V27.D2], 64(base); \
	VST1.P	[V28.D2, V29.D2, V30.D2, V31.D2], 64(base)

#define FP_LOAD(base, t1, t2) \
	LDP	FPFile_FPCR(base), (t1, t2); \
	MSR	t1, FPCR; \
	MSR	t2, FPSR; \
	VLD1.P	64(base), [V0.D2, V1.D2, V2.D2, V3.D2]; \
	VLD1.P	64(base), [V4.D2, V5.D2, V6.D2, V7.D2]; \
	VLD1.P	64(base), [V8.D2, V9.D2, V10.D2, V11.D2]; \
	VLD1.P	64(base), [V12.D2, V13.D2, V14.D2, V15.D2]; \
	VLD1.P	64(base), [V16.D2, V17.D2, V18.D2, V19.D2]; \
	VLD1.P	64(base), [V20.D2, V21.D2, V22.D2, V23.D2]; \
	VLD1.P	64(base), [V24.D2, V25.D2, V26.D2, V27.D2]; \
	VLD1.P	64(base), [V28.D2, V29.D2, V30.D2, V31.D2]
