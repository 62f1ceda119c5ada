package vuart

// Size is the PL011's register frame: 4 KiB.
const Size = 0x1000

// Read performs a guest read of size bytes (1, 2 or 4) at offset into the
// register frame and returns the value the guest's register receives.
//
// The PL011 is an APB device with 32-bit registers. A read narrower than a
// register returns the addressed bytes of it; only a read that includes
// byte 0 of UARTDR pops a character, so that a stray byte read of a higher
// lane cannot consume input. Accesses outside the frame, wider than 32 bits
// or straddling two registers read as zero (the TRM leaves them undefined).
func (u *PL011) Read(offset uint64, size int) uint64 {
	reg, shift, ok := decode(offset, size)
	if !ok {
		return 0
	}
	v := u.read(reg, shift == 0)
	return uint64(v>>shift) & sizeMask(size)
}

// Write performs a guest write of size bytes (1, 2 or 4) of value at
// offset. Only writes to a register's own offset take effect, with value
// zero-extended to 32 bits: APB has no byte strobes, so narrower writes to
// wider registers are undefined on hardware, while a byte write to UARTDR,
// the common case, behaves as a full one. Other writes are ignored.
func (u *PL011) Write(offset uint64, size int, value uint64) {
	reg, shift, ok := decode(offset, size)
	if !ok || shift != 0 {
		return
	}
	u.write(reg, uint32(value&sizeMask(size)))
}

// decode splits an access into its register offset and the bit shift of
// its first byte within the register.
func decode(offset uint64, size int) (reg uint64, shift uint, ok bool) {
	if size != 1 && size != 2 && size != 4 {
		return 0, 0, false
	}
	lane := offset % 4
	if offset >= Size || lane+uint64(size) > 4 {
		return 0, 0, false
	}
	return offset - lane, uint(lane * 8), true
}

func sizeMask(size int) uint64 { return 1<<(8*uint(size)) - 1 }

// read returns the 32-bit register at reg. pop says whether a UARTDR read
// consumes a character.
func (u *PL011) read(reg uint64, pop bool) uint32 {
	switch reg {
	case RegDR:
		if !pop {
			return u.peek()
		}
		return u.pop()
	case RegRSR:
		return u.rsr
	case RegFR:
		return u.flags()
	case RegILPR:
		return u.ilpr
	case RegIBRD:
		return u.ibrd
	case RegFBRD:
		return u.fbrd
	case RegLCRH:
		return u.lcrh
	case RegCR:
		return u.cr
	case RegIFLS:
		return u.ifls
	case RegIMSC:
		return u.imsc
	case RegRIS:
		return u.ris
	case RegMIS:
		return u.ris & u.imsc
	case RegDMACR:
		return u.dmacr
	}
	if reg >= RegID && reg < Size {
		return id[(reg-RegID)/4]
	}
	return 0 // reserved, ICR (write-only) and test registers
}

func (u *PL011) peek() uint32 {
	if u.rxCount == 0 {
		return 0
	}
	return uint32(u.rx[u.rxHead])
}

// write stores v in the register at reg, masked to the register's width
// (DDI 0183 register descriptions). Read-only registers ignore writes.
func (u *PL011) write(reg uint64, v uint32) {
	switch reg {
	case RegDR:
		u.transmit(byte(v))
	case RegRSR: // UARTECR: any write clears the error flags
		u.rsr = 0
	case RegILPR:
		u.ilpr = v & 0xff
	case RegIBRD:
		u.ibrd = v & 0xffff
	case RegFBRD:
		u.fbrd = v & 0x3f
	case RegLCRH:
		u.lcrh = v & 0xff
	case RegCR:
		u.cr = v & 0xffff
	case RegIFLS:
		u.ifls = v & 0x3f
	case RegIMSC:
		u.imsc = v & intAll
	case RegICR:
		u.ris &^= v & intAll
	case RegDMACR:
		u.dmacr = v & 0x7
	}
}
