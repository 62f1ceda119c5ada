package isolation

import (
	"errors"
	"fmt"
)

// Config is the machine and the limits the engine runs with, as data (the
// board description in boot/ provides it on the target, tests provide their
// own).
type Config struct {
	// RAM is all of the machine's RAM; the ledger has one entry per page.
	RAM Range
	// Engine lists the RAM the engine keeps for itself (its image, heap,
	// stacks and the table pool). It is mapped in no stage-2.
	Engine []Range
	// HostMMIO lists the device ranges identity-mapped into the host
	// stage-2 as Device-nGnRE, read/write, never executable. Ranges are
	// widened to whole pages.
	HostMMIO []Range
	// GuestMMIO lists the IPA windows of a VM where a stage-2 translation
	// fault is an access to an emulated device and becomes an MMIO exit.
	// A fault anywhere else is reflected to the guest as an external abort.
	GuestMMIO []Range
	// MaxVMs is the number of VM slots, 1..255 (VMIDs are 8 bits).
	MaxVMs int
	// MaxVCPUs is the most vCPUs a VM may have, 1..256 (each vCPU's index
	// is its MPIDR Aff0).
	MaxVCPUs int
	// Files lists the boot files the host may read (FILE_INFO, FILE_READ),
	// numbered from 0; Platform.CopyFile copies them.
	Files []BootFile
}

// Limits of Config.
const (
	MaxVMsLimit   = 255
	MaxVCPUsLimit = 256
)

var errConfig = errors.New("isolation: bad configuration")

// validate checks c and returns it with HostMMIO widened to pages.
func (c Config) validate() (Config, error) {
	if c.MaxVMs < 1 || c.MaxVMs > MaxVMsLimit || c.MaxVCPUs < 1 || c.MaxVCPUs > MaxVCPUsLimit {
		return c, fmt.Errorf("%w: MaxVMs %d, MaxVCPUs %d", errConfig, c.MaxVMs, c.MaxVCPUs)
	}
	if c.RAM.Size&pageMask != 0 || !pageRange(c.RAM.Base, c.RAM.Size>>PageShift, Range{0, ipaLimit}) {
		return c, fmt.Errorf("%w: RAM %#x+%#x must be whole pages below 2^%d", errConfig, c.RAM.Base, c.RAM.Size, IPABits)
	}
	for _, r := range c.Engine {
		if r.Size&pageMask != 0 || !pageRange(r.Base, r.Size>>PageShift, c.RAM) {
			return c, fmt.Errorf("%w: engine range %#x+%#x must be whole pages of RAM", errConfig, r.Base, r.Size)
		}
	}
	mmio := make([]Range, len(c.HostMMIO))
	for i, r := range c.HostMMIO {
		w, err := widen(r, c.RAM)
		if err != nil {
			return c, err
		}
		for _, o := range mmio[:i] {
			if o.overlaps(w) {
				return c, fmt.Errorf("%w: host MMIO %#x+%#x overlaps another", errConfig, r.Base, r.Size)
			}
		}
		mmio[i] = w
	}
	for i, f := range c.Files {
		if f.Size > MaxFileSize {
			return c, fmt.Errorf("%w: boot file %d of %d bytes (at most %d)", errConfig, i, f.Size, uint64(MaxFileSize))
		}
	}
	c.HostMMIO = mmio
	c.Engine = append([]Range(nil), c.Engine...)
	c.GuestMMIO = append([]Range(nil), c.GuestMMIO...)
	c.Files = append([]BootFile(nil), c.Files...)
	return c, nil
}

// widen returns r grown to whole pages, checking that it is inside the IPA
// space (the host stage-2 maps it one to one) and outside RAM.
func widen(r Range, ram Range) (Range, error) {
	if r.Size == 0 || r.Base > ipaLimit || r.Size > ipaLimit-r.Base {
		return r, fmt.Errorf("%w: host MMIO %#x+%#x outside the IPA space", errConfig, r.Base, r.Size)
	}
	base := r.Base &^ pageMask
	w := Range{base, (r.End() - base + pageMask) &^ pageMask}
	if w.overlaps(ram) {
		return r, fmt.Errorf("%w: host MMIO %#x+%#x overlaps RAM", errConfig, r.Base, r.Size)
	}
	return w, nil
}

// SmallConfig is a machine small enough for exhaustive tests: 16 pages of
// RAM at 0x4000_0000 of which the first belongs to the engine, one UART page
// for the host, the QEMU virt device window as guest MMIO, 2 VMs of up to 2
// vCPUs. SmallPoolTables tables are enough for any sequence of calls on it
// that keeps IPAs inside one 2 MiB region per VM.
func SmallConfig() Config {
	return Config{
		RAM:       Range{0x4000_0000, 16 * PageSize},
		Engine:    []Range{{0x4000_0000, PageSize}},
		HostMMIO:  []Range{{0x0900_0000, PageSize}},
		GuestMMIO: []Range{{0, 0x4000_0000}},
		MaxVMs:    2,
		MaxVCPUs:  2,
	}
}

// SmallPoolTables is the pool size that goes with SmallConfig.
const SmallPoolTables = 64

// SmallPoolBase is a base address for the SmallConfig pool, outside its RAM.
const SmallPoolBase PA = 0x1_0000_0000
