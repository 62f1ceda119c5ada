//go:build tamago && arm64

// Command hypervisor is the bulkhead hypervisor, the EL1 image the engine
// boots by default. It queries the engine ABI, runs its self-check and powers
// the machine off.
package main

import (
	"fmt"

	"bulkhead/arch/el1"
	"bulkhead/isolation/abi"
)

func main() {
	fmt.Println("bulkhead hypervisor: running at EL1")
	printABI()
	if failed := selfCheck(el1Engine{}); failed > 0 {
		fmt.Printf("hypervisor: self-check FAILED (%d)\n", failed)
	} else {
		fmt.Println("hypervisor: self-check passed")
	}
	if runGuests() {
		fmt.Println("hypervisor: guests done")
	} else {
		fmt.Println("hypervisor: guests FAILED")
	}
	fmt.Println("hypervisor: powering off")
	el1.PowerOff()
}

func printABI() {
	uid := call(abi.CallUID)
	fmt.Printf("hypervisor: engine uid %08x-%08x-%08x-%08x\n", uid[0], uid[1], uid[2], uid[3])
	rev := call(abi.Revision)
	fmt.Printf("hypervisor: engine revision %d.%d\n", rev[0], rev[1])
	v := call(abi.Version)
	fmt.Printf("hypervisor: engine ABI version %d.%d (status %s)\n", v[1], v[2], abi.StatusOf(v[0]))
}

func call(id uint32, args ...uint64) [8]uint64 {
	x := [8]uint64{uint64(id)}
	copy(x[1:], args)
	el1.Call(&x)
	return x
}

// el1Engine reaches the engine and memory from EL1 on the target.
type el1Engine struct{}

func (el1Engine) Call(x *[8]uint64)                       { el1.Call(x) }
func (el1Engine) Read(addr uint64) (uint64, uint64, bool) { return el1.ProbeRead(addr) }
func (el1Engine) Write(addr, v uint64) (uint64, bool)     { return el1.ProbeWrite(addr, v) }
