//go:build tamago && arm64

package fwcfg

import (
	"errors"
	"fmt"
	"math/bits"

	"bulkhead/arch/arm64"
)

// Register offsets on Arm (fw_cfg.rst, "Memory-Mapped Interface"): the
// selector and the DMA address are big-endian; the data register is a byte
// stream.
const (
	regData     = 0x00
	regSelector = 0x08
	regDMA      = 0x10
)

// DMA control bits (fw_cfg.rst, "FWCfgDmaAccess").
const (
	dmaError  = 1 << 0
	dmaRead   = 1 << 1
	dmaSelect = 1 << 3
	dmaPolls  = 1 << 24
)

// Device is a fw_cfg device at Base. DescPA is 16 bytes of memory at a
// fixed physical address for the DMA access descriptor.
type Device struct {
	Base   uint64
	DescPA uint64
}

// Present reports whether the device answers with the "QEMU" signature.
func (d Device) Present() bool {
	d.selectKey(KeySignature)
	var sig [4]byte
	d.readBytes(sig[:])
	return string(sig[:]) == "QEMU"
}

// Directory reads the file directory.
func (d Device) Directory() ([]File, error) {
	d.selectKey(KeyFileDir)
	var count [4]byte
	d.readBytes(count[:])
	n := uint32(count[0])<<24 | uint32(count[1])<<16 | uint32(count[2])<<8 | uint32(count[3])
	if n > MaxFiles {
		return nil, fmt.Errorf("fw_cfg: directory claims %d files (limit %d)", n, MaxFiles)
	}
	raw := make([]byte, DirectorySize(n))
	copy(raw, count[:])
	d.readBytes(raw[4:])
	return ParseDirectory(raw)
}

// ReadFile copies file f to physical address dst with one DMA transfer.
//
// Preconditions: [dst, dst+f.Size) is memory the caller owns.
func (d Device) ReadFile(f File, dst uint64) error {
	if !d.hasDMA() {
		return errors.New("fw_cfg: device has no DMA interface")
	}
	ctl := uint32(f.Selector)<<16 | dmaSelect | dmaRead
	arm64.Write32(d.DescPA, bits.ReverseBytes32(ctl))
	arm64.Write32(d.DescPA+4, bits.ReverseBytes32(f.Size))
	arm64.Write64(d.DescPA+8, bits.ReverseBytes64(dst))
	arm64.DataSyncBarrier()
	arm64.Write64(d.Base+regDMA, bits.ReverseBytes64(d.DescPA))
	return d.waitDMA()
}

func (d Device) waitDMA() error {
	for i := 0; i < dmaPolls; i++ {
		ctl := bits.ReverseBytes32(arm64.Read32(d.DescPA))
		if ctl&dmaError != 0 {
			return errors.New("fw_cfg: DMA transfer failed")
		}
		if ctl == 0 {
			return nil
		}
	}
	return errors.New("fw_cfg: DMA transfer did not complete")
}

func (d Device) hasDMA() bool {
	d.selectKey(KeyID)
	var id [4]byte
	d.readBytes(id[:])
	return id[0]&FeatureDMA != 0 // little-endian u32 (fw_cfg.rst, "Feature")
}

func (d Device) selectKey(key uint16) {
	arm64.Write16(d.Base+regSelector, bits.ReverseBytes16(key))
}

func (d Device) readBytes(b []byte) {
	for i := range b {
		b[i] = arm64.Read8(d.Base + regData)
	}
}
