//go:build tamago && arm64

package hooks

import (
	_ "unsafe" // go:linkname

	"bulkhead/arch/arm64"
	"bulkhead/boot/virt/pl011"
)

// hwinit0 has nothing to do: cpuinit turned the MMU and caches on before any
// Go code ran, so that Go never runs on Device memory.
//
//go:linkname hwinit0 runtime/goos.Hwinit0
func hwinit0() {}

//go:linkname printk runtime/goos.Printk
func printk(c byte) { pl011.Tx(c) }

//go:linkname nanotime runtime/goos.Nanotime
func nanotime() int64 { return arm64.Nanotime() }

//go:linkname initRNG runtime/goos.InitRNG
func initRNG() { arm64.SeedRandom() }

//go:linkname getRandomData runtime/goos.GetRandomData
func getRandomData(b []byte) { arm64.RandomData(b) }
