//go:build tamago && arm64

package el2

import (
	"runtime/goos"
	_ "unsafe" // go:linkname

	"bulkhead/arch/arm64"
	_ "bulkhead/arch/hooks" // the runtime hooks every image shares
	"bulkhead/boot/virt"
)

// The engine's RAM as the TamaGo runtime sees it: the engine region, with
// the stack at its top (goos.RamStart, goos.RamSize, goos.RamStackOffset).
//
//go:linkname ramStart runtime/goos.RamStart
var ramStart uint = virt.EngineBase

//go:linkname ramSize runtime/goos.RamSize
var ramSize uint = virt.EngineSize

//go:linkname ramStackOffset runtime/goos.RamStackOffset
var ramStackOffset uint = virt.StackOffset

// stage1Table is the physical address of the identity map cpuinit builds
// (go_asm.h const_stage1Table).
const stage1Table = virt.EngineBase + virt.LowStage1Table

//go:linkname hwinit1 runtime/goos.Hwinit1
func hwinit1() {
	goos.Exit = powerOff
}

// powerOff ends the machine with PSCI SYSTEM_OFF (DEN0022 5.10), which QEMU
// carries out at EL2 when no EL3 firmware is present. The runtime calls it
// when main returns or after a panic; the status is on the console already.
func powerOff(code int32) {
	if code != 0 {
		print("engine: exit status ", code, ", powering off\n")
	}
	PowerOff()
}

// PowerOff turns the machine off and does not return.
func PowerOff() {
	arm64.SMC(psciSystemOff, 0, 0, 0)
	for {
		arm64.WaitForInterrupt()
	}
}

// Reset restarts the machine (PSCI SYSTEM_RESET) and does not return.
func Reset() {
	arm64.SMC(psciSystemReset, 0, 0, 0)
	for {
		arm64.WaitForInterrupt()
	}
}

const (
	psciSystemOff   = 0x84000008
	psciSystemReset = 0x84000009
)
