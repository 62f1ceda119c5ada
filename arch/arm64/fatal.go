//go:build tamago && arm64

package arm64

import "bulkhead/boot/virt"

// fatalUART is where Fatal prints (go_asm.h const_fatalUART).
const fatalUART = virt.UARTBase

// PSCI SYSTEM_OFF, the last thing Fatal does (go_asm.h const_psciSystemOff).
const psciSystemOff = 0x84000008

// Fatal reports an exception nobody can handle and powers the machine off.
// It is entered from exception vectors only, by a branch, with R0 = ESR,
// R1 = ELR, R2 = FAR and R3 = the exception level as an ASCII digit; it uses
// no stack and calls no Go code, since the state that took the exception
// cannot be trusted.
//
// defined in fatal_arm64.s
func Fatal()
