// Package a64 encodes the handful of A64 instructions that bulkhead's
// hand-made images use (benchmark guests, test EL1 images), so that small
// programs can be written as Go data. Encodings follow the Arm ARM, chapter
// C6 (A64 base instruction descriptions).
package a64

// Registers are numbered 0-30; 31 is XZR or SP as the instruction defines.
type Reg = uint32

// MOVZ Xd, #imm16, LSL #(16*hw) (C6.2.227).
func MOVZ(rd Reg, imm16, hw uint32) uint32 { return 0xd2800000 | hw<<21 | (imm16&0xffff)<<5 | rd }

// MOVK Xd, #imm16, LSL #(16*hw) (C6.2.226).
func MOVK(rd Reg, imm16, hw uint32) uint32 { return 0xf2800000 | hw<<21 | (imm16&0xffff)<<5 | rd }

// MOV64 loads v into rd with a MOVZ and a MOVK per further non-zero half.
func MOV64(rd Reg, v uint64) []uint32 {
	out := []uint32{MOVZ(rd, uint32(v&0xffff), 0)}
	for hw := uint32(1); hw < 4; hw++ {
		if half := uint32(v >> (16 * hw) & 0xffff); half != 0 {
			out = append(out, MOVK(rd, half, hw))
		}
	}
	return out
}

// ADD Xd, Xn, #imm12 (C6.2.4).
func ADDImm(rd, rn Reg, imm12 uint32) uint32 { return 0x91000000 | (imm12&0xfff)<<10 | rn<<5 | rd }

// SUBS Xd, Xn, #imm12 (C6.2.370).
func SUBSImm(rd, rn Reg, imm12 uint32) uint32 { return 0xf1000000 | (imm12&0xfff)<<10 | rn<<5 | rd }

// SUB Xd, Xn, Xm (C6.2.366).
func SUB(rd, rn, rm Reg) uint32 { return 0xcb000000 | rm<<16 | rn<<5 | rd }

// STR Xt, [Xn] (C6.2.327, unsigned offset 0).
func STR(rt, rn Reg) uint32 { return 0xf9000000 | rn<<5 | rt }

// LDR Xt, [Xn] (C6.2.166, unsigned offset 0).
func LDR(rt, rn Reg) uint32 { return 0xf9400000 | rn<<5 | rt }

// STRB Wt, [Xn] (C6.2.330).
func STRB(rt, rn Reg) uint32 { return 0x39000000 | rn<<5 | rt }

// STR Xt, [Xn], #imm9: post-indexed store (C6.2.327).
func STRPost(rt, rn Reg, imm9 int32) uint32 {
	return 0xf8000400 | (uint32(imm9)&0x1ff)<<12 | rn<<5 | rt
}

// HVC #imm16 and SMC #imm16 (C6.2.123, C6.2.294).
func HVC(imm16 uint32) uint32 { return 0xd4000002 | (imm16&0xffff)<<5 }

// SMC #imm16.
func SMC(imm16 uint32) uint32 { return 0xd4000003 | (imm16&0xffff)<<5 }

// ISB SY (C6.2.125).
const ISB = 0xd5033fdf

// MRSCNTVCT is MRS Xt, CNTVCT_EL0 (op0 3, op1 3, CRn 14, CRm 0, op2 2).
func MRSCNTVCT(rt Reg) uint32 { return 0xd53be040 | rt }

// MSRVBAREL1 is MSR VBAR_EL1, Xt (op0 3, op1 0, CRn 12, CRm 0, op2 0).
func MSRVBAREL1(rt Reg) uint32 { return 0xd518c000 | rt }

// MRSESREL1 is MRS Xt, ESR_EL1 (op0 3, op1 0, CRn 5, CRm 2, op2 0).
func MRSESREL1(rt Reg) uint32 { return 0xd5385200 | rt }

// SysReg names a system register by its encoding fields (Arm ARM C5.3,
// "A64 System instructions for ..."; D19 register index).
type SysReg struct{ Op0, Op1, CRn, CRm, Op2 uint32 }

func (r SysReg) fields() uint32 {
	return (r.Op0-2)<<19 | r.Op1<<16 | r.CRn<<12 | r.CRm<<8 | r.Op2<<5
}

// MSR is MSR <reg>, Xt (C6.2.196, op0 2 or 3).
func MSR(reg SysReg, rt Reg) uint32 { return 0xd5100000 | reg.fields() | rt }

// MRS is MRS Xt, <reg> (C6.2.194).
func MRS(rt Reg, reg SysReg) uint32 { return 0xd5300000 | reg.fields() | rt }

// FMOVToD is FMOV Dd, Xn: Xn into the low 64 bits of Vd, the high bits
// zeroed (C7.2.131, sf 1 type 01 rmode 00 opcode 111).
func FMOVToD(vd, xn Reg) uint32 { return 0x9e670000 | xn<<5 | vd }

// FMOVToHigh is FMOV Vd.D[1], Xn: Xn into the high 64 bits of Vd.
func FMOVToHigh(vd, xn Reg) uint32 { return 0x9eaf0000 | xn<<5 | vd }

// FMOVFromD is FMOV Xd, Dn: the low 64 bits of Vn.
func FMOVFromD(xd, vn Reg) uint32 { return 0x9e660000 | vn<<5 | xd }

// FMOVFromHigh is FMOV Xd, Vn.D[1]: the high 64 bits of Vn.
func FMOVFromHigh(xd, vn Reg) uint32 { return 0x9eae0000 | vn<<5 | xd }

// BSelf is B . : a branch to itself, where a program parks.
const BSelf = 0x14000000

// B to an offset in instructions from this one (C6.2.26).
func B(offset int32) uint32 { return 0x14000000 | uint32(offset)&0x3ffffff }

// BNE to an offset in instructions from this one (B.cond, cond NE = 1).
func BNE(offset int32) uint32 { return 0x54000001 | (uint32(offset)&0x7ffff)<<5 }

// Program assembles instruction words in order, with labels for branches.
type Program struct {
	Words  []uint32
	labels map[string]int
}

// Emit appends instructions.
func (p *Program) Emit(words ...uint32) { p.Words = append(p.Words, words...) }

// Label names the next instruction.
func (p *Program) Label(name string) {
	if p.labels == nil {
		p.labels = map[string]int{}
	}
	p.labels[name] = len(p.Words)
}

// Offset returns the distance in instructions from the next instruction
// to label, for a backward branch.
func (p *Program) Offset(label string) int32 { return int32(p.labels[label] - len(p.Words)) }

// Bytes returns the program as little-endian bytes.
func (p *Program) Bytes() []byte {
	out := make([]byte, 0, 4*len(p.Words))
	for _, w := range p.Words {
		out = append(out, byte(w), byte(w>>8), byte(w>>16), byte(w>>24))
	}
	return out
}
