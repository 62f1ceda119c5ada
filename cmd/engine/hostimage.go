//go:build tamago && arm64

package main

import (
	"errors"
	"fmt"

	"bulkhead/arch/arm64"
	"bulkhead/arch/el2"
	"bulkhead/boot/elfimage"
	"bulkhead/boot/virt"
	"bulkhead/boot/virt/fwcfg"
)

// hostWindow is where an EL1 image's segments may go: the host region.
var hostWindow = elfimage.Window{Base: virt.Host.Base, Size: virt.Host.Size}

// loadHostImage reads the EL1 image from fw_cfg into the staging area,
// checks it, places its segments, and returns its entry point. The staging
// copy is wiped afterwards; on any error nothing has been placed.
func loadHostImage() (entry uint64, err error) {
	dev := engineFwCfg()
	if !dev.Present() {
		return 0, errors.New("no fw_cfg device at " + fmt.Sprintf("%#x", virt.FwCfg.Base))
	}
	f, err := findHostImage(dev)
	if err != nil {
		return 0, err
	}
	if err := dev.ReadFile(f, virt.Staging.Base); err != nil {
		return 0, err
	}
	raw := el2.PhysBytes(virt.Staging.Base, uint64(f.Size))
	defer clear(raw)
	plan, err := elfimage.Parse(raw, hostWindow)
	if err != nil {
		return 0, fmt.Errorf("EL1 image %q: %w", virt.FwCfgHostImage, err)
	}
	place(plan, raw)
	return plan.Entry, nil
}

func findHostImage(dev fwcfg.Device) (fwcfg.File, error) {
	files, err := dev.Directory()
	if err != nil {
		return fwcfg.File{}, err
	}
	f, err := fwcfg.Find(files, virt.FwCfgHostImage)
	if err != nil {
		return f, fmt.Errorf("%w (start QEMU with -fw_cfg name=%s,file=<EL1 image>)", err, virt.FwCfgHostImage)
	}
	if f.Size == 0 || uint64(f.Size) > virt.MaxHostImage {
		return f, fmt.Errorf("EL1 image of %d bytes: the engine accepts 1 to %d bytes", f.Size, virt.MaxHostImage)
	}
	return f, nil
}

// place copies each segment to its address, zeroes the rest of it, and
// cleans it to the point of coherency: the image starts with its MMU off,
// so its first reads bypass the caches the engine wrote through.
func place(plan elfimage.Plan, raw []byte) {
	for _, s := range plan.Segments {
		dst := el2.PhysBytes(s.Addr, s.MemSize)
		n := copy(dst, raw[s.Offset:s.Offset+s.FileSize])
		clear(dst[n:])
		arm64.CleanInvalidateDataRange(s.Addr, s.MemSize)
	}
	arm64.InvalidateInstructionCache()
}
