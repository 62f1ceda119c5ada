// System register and instruction encodings that Go's arm64 assembler does
// not know (the EL2 registers, IC IALLUIS, the stage-2 TLBI forms), built from
// their (op1, CRn, CRm, op2) fields so each line can be checked against the
// Arm ARM register index (chapter D19/D23, "AArch64 System Register
// Encodings").

// ENC packs op1, CRn, CRm and op2 into their instruction fields.
#define ENC(op1, crn, crm, op2) ((op1)<<16 | (crn)<<12 | (crm)<<8 | (op2)<<5)

// MSR <reg>, Xt and MRS Xt, <reg> for op0 = 3 (C5.2.21, C5.2.19).
#define MSR_X(reg, rt) WORD $(0xd5180000 | (reg) | (rt))
#define MRS_X(reg, rt) WORD $(0xd5380000 | (reg) | (rt))

// SYS #op1, Cn, Cm, #op2, Xt (C5.2.26): the form of TLBI, DC and IC.
#define SYS_X(op, rt) WORD $(0xd5080000 | (op) | (rt))

// EL2 registers (D19.2).
#define HCR_EL2      ENC(4, 1, 1, 0)
#define MDCR_EL2     ENC(4, 1, 1, 1)
#define CPTR_EL2     ENC(4, 1, 1, 2)
#define HSTR_EL2     ENC(4, 1, 1, 3)
#define SCTLR_EL2    ENC(4, 1, 0, 0)
#define TTBR0_EL2    ENC(4, 2, 0, 0)
#define TCR_EL2      ENC(4, 2, 0, 2)
#define VTTBR_EL2    ENC(4, 2, 1, 0)
#define VTCR_EL2     ENC(4, 2, 1, 2)
#define SPSR_EL2     ENC(4, 4, 0, 0)
#define ELR_EL2      ENC(4, 4, 0, 1)
#define SP_EL1       ENC(4, 4, 1, 0)
#define ESR_EL2      ENC(4, 5, 2, 0)
#define FAR_EL2      ENC(4, 6, 0, 0)
#define HPFAR_EL2    ENC(4, 6, 0, 4)
#define MAIR_EL2     ENC(4, 10, 2, 0)
#define VBAR_EL2     ENC(4, 12, 0, 0)
#define TPIDR_EL2    ENC(4, 13, 0, 2)
#define CNTVOFF_EL2  ENC(4, 14, 0, 3)
#define CNTHCTL_EL2  ENC(4, 14, 1, 0)
#define VPIDR_EL2    ENC(4, 0, 0, 0)
#define VMPIDR_EL2   ENC(4, 0, 0, 5)

// TLB maintenance (C5.5) and IC IALLUIS (C5.3.12) as SYS
// operations.
#define TLBI_ALLE2        ENC(4, 8, 7, 0)
#define TLBI_ALLE2IS      ENC(4, 8, 3, 0)
#define TLBI_IPAS2E1IS    ENC(4, 8, 0, 1)
#define TLBI_VMALLS12E1IS ENC(4, 8, 3, 6)
#define IC_IALLUIS        ENC(0, 7, 1, 0)

// GICv3 CPU interface, EL2 view (D19.5 / GICv3 spec 12.4).
#define ICC_SRE_EL2  ENC(4, 12, 9, 5)
#define ICH_HCR_EL2  ENC(4, 12, 11, 0)
#define ICH_VMCR_EL2 ENC(4, 12, 11, 7)
#define ICH_VTR_EL2  ENC(4, 12, 11, 1)
#define ICH_AP0R0_EL2 ENC(4, 12, 8, 0)
#define ICH_AP0R1_EL2 ENC(4, 12, 8, 1)
#define ICH_AP0R2_EL2 ENC(4, 12, 8, 2)
#define ICH_AP0R3_EL2 ENC(4, 12, 8, 3)
#define ICH_AP1R0_EL2 ENC(4, 12, 9, 0)
#define ICH_AP1R1_EL2 ENC(4, 12, 9, 1)
#define ICH_AP1R2_EL2 ENC(4, 12, 9, 2)
#define ICH_AP1R3_EL2 ENC(4, 12, 9, 3)
#define ICH_LR0_EL2  ENC(4, 12, 12, 0)
#define ICH_LR1_EL2  ENC(4, 12, 12, 1)
#define ICH_LR2_EL2  ENC(4, 12, 12, 2)
#define ICH_LR3_EL2  ENC(4, 12, 12, 3)

// Stage-1 translation for the engine and the hypervisor: a level-1 table of
// four 1 GiB blocks covering the 32-bit physical space as an identity map
// (D8.3 "Translation table descriptor formats").
//
// MAIR: attribute 0 Device-nGnRE, attribute 1 Normal write-back
// read/write-allocate (D19.2.97 MAIR_ELx).
#define MAIR_VALUE 0xff04

// Block descriptor: bits[1:0] = 0b01, AttrIndx[4:2], SH[9:8], AF[10],
// PXN[53], UXN/XN[54].
#define S1_DEVICE_BLOCK (1 | 0<<2 | 1<<10 | 1<<53 | 1<<54)
#define S1_NORMAL_BLOCK (1 | 1<<2 | 3<<8 | 1<<10)

// TCR: T0SZ = 32 (4 GiB), IRGN0/ORGN0 write-back allocate, SH0 inner
// shareable, TG0 4 KiB; bit 31 and bit 23 are RES1 in TCR_EL2, and mean
// TG1 = 4 KiB and EPD1 (no TTBR1 walks) in TCR_EL1 (D19.2.139, D19.2.140).
#define TCR_VALUE (32 | 1<<8 | 1<<10 | 3<<12 | 1<<23 | 1<<31)

// BUILD_IDMAP writes the four level-1 entries at table (clobbers R0, R1):
// device space below RAM, then RAM up to 3 GiB as Normal memory.
#define BUILD_IDMAP(table) \
	MOVD	$(table), R0; \
	MOVD	$S1_DEVICE_BLOCK, R1; \
	MOVD	R1, 0(R0); \
	MOVD	$(S1_NORMAL_BLOCK | 0x40000000), R1; \
	MOVD	R1, 8(R0); \
	MOVD	$(S1_NORMAL_BLOCK | 0x80000000), R1; \
	MOVD	R1, 16(R0); \
	MOVD	ZR, 24(R0)

// EL1_STAGE1_ON points EL1's stage-1 at the identity map in table (MAIR,
// TCR, TTBR0), drops stale TLB entries and turns the MMU and caches on
// (SCTLR_EL1, D19.2.118: RES1 bits, M, C, I; A and SA clear). Clobbers R0.
#define EL1_STAGE1_ON(table) \
	MOVD	$MAIR_VALUE, R0; \
	MSR	R0, MAIR_EL1; \
	MOVD	$TCR_VALUE, R0; \
	MSR	R0, TCR_EL1; \
	MOVD	$(table), R0; \
	MSR	R0, TTBR0_EL1; \
	DSB	$0xf; \
	ISB	$15; \
	TLBI	VMALLE1; \
	DSB	$0xf; \
	ISB	$15; \
	MOVD	$(0x30d00800 | 1<<0 | 1<<2 | 1<<12), R0; \
	MSR	R0, SCTLR_EL1; \
	ISB	$15
