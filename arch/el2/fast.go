package el2

import "fmt"

// Calls the vector answers itself. A call whose answer is a constant (the
// engine's version and identity, the page granule, the PSCI version) needs
// nothing of the engine but that constant: the synchronous lower-EL
// vector looks the caller's function id up in a table of such answers and
// returns at once, without saving the caller's registers, running Go or
// switching anything. Every other exception, and a call not in the table,
// takes the full path (lowerExit).

// FastAnswer is one constant answer. The assembly reads it through
// go_asm.h (FastAnswer_Key, FastAnswer_X, ...).
type FastAnswer struct {
	// Key is the function id (w0; the engine ignores x0's upper half, as
	// SMCCC 1.2 section 2.5 allows for SMC32 and SMC64 ids alike) with the
	// caller kind (FastHost, FastGuest) in bits 32 and up.
	Key uint64
	// X are the results; Write bit i says x_i takes X[i], and the
	// caller's other registers keep their values (SMCCC 1.2 section 2.6).
	X     [4]uint64
	Write uint64
	// Hits counts the calls the vector answered, for the profile.
	Hits uint64
	_    uint64 // 64 bytes an entry
}

// Caller kinds of a FastAnswer: the vector tells them apart by
// HCR_EL2.IMO, set only while a guest's world is loaded (GuestHCR).
const (
	FastHost  = 1
	FastGuest = 2
)

// FastSlots is the size of the vector's table: direct-mapped, one slot
// per key (FastSlot), so a lookup is one comparison whatever the table
// holds.
const FastSlots = 16

// FastSlot is the slot of key: its bits 0-3, XORed with those of key>>8
// and key>>29, which brings in the caller kind and the id's service
// bits. fastSync computes the same; were the two ever to differ, calls
// would only miss the table and take the full path.
func FastSlot(key uint64) int { return int((key ^ key>>8 ^ key>>29) % FastSlots) }

// PlaceFastAnswers lays answers out in their slots, and refuses two
// answers in one slot (a key of zero marks an empty one).
func PlaceFastAnswers(answers []FastAnswer) (table [FastSlots]FastAnswer, err error) {
	for _, a := range answers {
		s := FastSlot(a.Key)
		if a.Key == 0 || table[s].Key != 0 {
			return table, fmt.Errorf("fast answer %#x: slot %d taken or key zero", a.Key, s)
		}
		table[s] = a
	}
	return table, nil
}

// FastKey is the Key of id for a caller kind.
func FastKey(id uint32, kind uint64) uint64 { return uint64(id) | kind<<32 }

// Apply is what the vector does to a caller's registers x0..x7.
func (a FastAnswer) Apply(x [8]uint64) [8]uint64 {
	for i, v := range a.X {
		if a.Write&(1<<i) != 0 {
			x[i] = v
		}
	}
	return x
}

// FastHVC is ESR_EL2 of the only exception the vector answers: HVC #0
// from AArch64 (Arm ARM D17.2.37: EC 0x16, IL 1, ISS the immediate).
// Other immediates, SMC (whose return address the engine must advance)
// and everything else take the full path.
const FastHVC = ECHVC64<<esrECShift | esrIL
