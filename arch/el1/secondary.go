//go:build tamago && arm64

package el1

import (
	"encoding/binary"

	"bulkhead/arch/arm64"
)

// defined in secondary_arm64.s
func secondaryEntry()
func secondaryEntryAddr() uint64

// Offsets of the mailbox the secondary entry stub fills.
const (
	// MailboxContext receives the stub's x0 at entry: the context of
	// PSCI CPU_ON, which is the mailbox's own address.
	MailboxContext = 0
	// MailboxAff0 receives MPIDR_EL1.Aff0 of the vCPU the stub ran on.
	MailboxAff0 = 8
	// MailboxSize is the mailbox's size in bytes.
	MailboxSize = 16
)

// SecondaryEntry returns the address of an entry point for a vCPU started
// with PSCI CPU_ON whose context is the address of a 16-byte mailbox. The
// stub runs no Go (the TamaGo runtime is single-threaded and owns one
// stack): with the MMU off it writes its MPIDR_EL1.Aff0 at MailboxAff0 and
// then its context at MailboxContext, and calls PSCI CPU_OFF. The caller
// that started it sees the context appear in the mailbox once the stub has
// run. The mailbox must be in memory the guest owns, 8-byte aligned; the
// stub's stores do not allocate in the caches (the MMU is off, so they are
// Device-nGnRnE, Arm ARM D8.2.12), so the reader must invalidate the lines
// before looking.
func SecondaryEntry() uint64 { return secondaryEntryAddr() }

// ClearMailbox zeroes the mailbox at mb and takes its lines out of the
// caches, so that no later eviction overwrites what the stub writes with
// its MMU off.
func ClearMailbox(mb uint64) {
	clear(PhysBytes(mb, MailboxSize))
	arm64.CleanInvalidateDataRange(mb, MailboxSize)
}

// ReadMailbox returns the mailbox's context and Aff0 words as memory holds
// them (the lines are invalidated first).
func ReadMailbox(mb uint64) (context, aff0 uint64) {
	arm64.CleanInvalidateDataRange(mb, MailboxSize)
	b := PhysBytes(mb, MailboxSize)
	return binary.LittleEndian.Uint64(b[MailboxContext:]), binary.LittleEndian.Uint64(b[MailboxAff0:])
}
