//go:build tamago && arm64

package el1

// defined in probe_arm64.s
func vectors()
func probeLoad(addr uint64) (val, esr uint64, ok bool)
func probeStore(addr, val uint64) (esr uint64, ok bool)

// ProbeRead loads the 64-bit word at addr. If the load raises a synchronous
// exception, ok is false and esr is its ESR_EL1; the image carries on.
func ProbeRead(addr uint64) (val, esr uint64, ok bool) {
	return probeLoad(addr)
}

// ProbeWrite stores val at addr, reporting an exception like ProbeRead.
func ProbeWrite(addr, val uint64) (esr uint64, ok bool) {
	return probeStore(addr, val)
}
