//go:build tamago && arm64

package main

import (
	"bulkhead/arch/arm64"
	"bulkhead/boot/virt"
	"bulkhead/boot/virt/fwcfg"
	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

// fileServer answers the boot-file extension for the host.
type fileServer struct {
	dev   fwcfg.Device
	files bootFiles
	core  *isolation.Serial
}

func newFileServer(core *isolation.Serial) *fileServer {
	s := &fileServer{dev: engineFwCfg(), core: core}
	if dir, err := s.dev.Directory(); err == nil {
		s.files = guestFiles(dir)
	}
	return s
}

// call answers FILE_INFO and FILE_READ in x, reporting whether x was one.
func (s *fileServer) call(x *[8]uint64) bool {
	switch uint32(x[0]) {
	case abi.FileInfo:
		size, name, st := s.files.info(x[1])
		x[0] = st.Reg()
		if st == abi.Success {
			x[1] = size
			copy(x[2:], name[:])
		}
	case abi.FileRead:
		n, st := s.read(x[1], x[2], x[3])
		x[0] = st.Reg()
		if st == abi.Success {
			x[1] = n
		}
	default:
		return false
	}
	return true
}

// read copies file index to the host's pages at pa with one DMA transfer,
// after the ledger confirmed every page is the host's. The engine runs one
// call at a time, so no page changes owner while the transfer runs.
func (s *fileServer) read(index, pa, pages uint64) (uint64, abi.Status) {
	f, st := s.files.readRequest(index, pa, pages, s.ownerOf)
	if st != abi.Success {
		return 0, st
	}
	if err := s.dev.ReadFile(f, pa); err != nil {
		return 0, abi.NoMemory
	}
	arm64.CleanInvalidateDataRange(pa, uint64(f.Size))
	return uint64(f.Size), abi.Success
}

func (s *fileServer) ownerOf(pa uint64) (uint64, bool) {
	info, st := s.core.MemInfo(isolation.PA(pa))
	return info.Owner, st == abi.Success
}

func engineFwCfg() fwcfg.Device {
	return fwcfg.Device{Base: virt.FwCfg.Base, DescPA: virt.EngineBase + virt.LowFwCfgDMA}
}
