//go:build tamago && arm64

package main

import (
	"fmt"
	"time"

	"bulkhead/arch/el1"
)

// startHostCPUs starts every other CPU of the board (el1.StartCPUs) for
// the guests' vCPUs, and returns the host CPUs the hypervisor's loop
// drives. A CPU that does not start is reported and left out; a board
// whose CPU list cannot be read runs on the boot CPU alone.
func startHostCPUs() el1Host {
	ids, err := el1.BoardCPUs()
	if err != nil {
		fmt.Println("hypervisor: the board's CPUs:", err, "(running on the boot CPU alone)")
		ids = nil
	}
	for _, err := range el1.StartCPUs(ids) {
		fmt.Println("hypervisor:", err)
	}
	fmt.Printf("hypervisor: %d host CPUs run vCPUs\n", el1.CPUs())
	return el1Host{}
}

// el1Host is the host CPUs as arch/el1 moves the hypervisor between them
// (vmm.Host).
type el1Host struct{}

func (el1Host) CPUs() int                            { return el1.CPUs() }
func (el1Host) Run(x [8]uint64, d time.Duration) int { return el1.CallAway(x, d) }
func (el1Host) Rest(d time.Duration) int             { return el1.RestAway(d) }
func (el1Host) Leave() int                           { return el1.LeaveAway() }
func (el1Host) Result(cpu int) [8]uint64             { return el1.Result(cpu) }
func (el1Host) Kick(cpu int)                         { el1.Kick(cpu) }
