//go:build tamago && arm64

package main

import (
	"bulkhead/arch/arm64"
	"bulkhead/boot/virt"
	"bulkhead/boot/virt/fwcfg"
	"bulkhead/isolation"
)

// fileServer is the device that carries the boot files and their list.
type fileServer struct {
	dev   fwcfg.Device
	files bootFiles
}

func newFileServer() *fileServer {
	s := &fileServer{dev: engineFwCfg()}
	if dir, err := s.dev.Directory(); err == nil {
		s.files = guestFiles(dir)
	}
	return s
}

// CopyFile copies boot file index to pa with one DMA transfer, for
// FILE_READ once the core has checked that every page the file covers is
// the host's. The core runs one call at a time, so no page changes owner
// while the transfer runs.
func (m *machine) CopyFile(index uint64, pa isolation.PA) bool {
	if index >= uint64(len(m.files.files)) {
		return false
	}
	f := m.files.files[index]
	if err := m.files.dev.ReadFile(f, uint64(pa)); err != nil {
		return false
	}
	arm64.CleanInvalidateDataRange(uint64(pa), uint64(f.Size))
	return true
}

func engineFwCfg() fwcfg.Device {
	return fwcfg.Device{Base: virt.FwCfg.Base, DescPA: virt.EngineBase + virt.LowFwCfgDMA}
}
