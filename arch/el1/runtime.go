//go:build tamago && arm64

package el1

import (
	"runtime/goos"
	_ "unsafe" // go:linkname

	"bulkhead/arch/arm64"
	_ "bulkhead/arch/hooks" // the runtime hooks every image shares
	"bulkhead/boot/virt"
)

// The image's RAM as the TamaGo runtime sees it (imageBase, imageSize from
// layout_host.go or layout_guest.go), with the stack at its top.
//
//go:linkname ramStart runtime/goos.RamStart
var ramStart uint = imageBase

//go:linkname ramSize runtime/goos.RamSize
var ramSize uint = imageSize

//go:linkname ramStackOffset runtime/goos.RamStackOffset
var ramStackOffset uint = virt.StackOffset

// stage1Table is where cpuinit builds the identity map (go_asm.h).
const stage1Table = imageBase + virt.LowStage1Table

// bootArg is x0 as the image was entered with; cpuinit stores it.
var bootArg uint64

// BootArg returns x0 at entry: the IPA of the device tree describing the
// machine (DESIGN.md section 4).
func BootArg() uint64 { return bootArg }

//go:linkname hwinit1 runtime/goos.Hwinit1
func hwinit1() {
	goos.Exit = exit
}

func exit(code int32) {
	if layoutMark() == "" { // keeps the mark in the image
		return
	}
	reportExit(code)
	PowerOff()
}

// PowerOff asks for PSCI SYSTEM_OFF over HVC (the engine's conduit for
// EL1) and does not return.
func PowerOff() {
	x := [8]uint64{psciSystemOff}
	arm64.HVC(&x)
	for {
		arm64.WaitForInterrupt()
	}
}

const psciSystemOff = 0x84000008
