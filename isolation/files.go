package isolation

import "bulkhead/isolation/abi"

// Boot files (an extension, specs/ABI.md): files the machine carries for
// the host, such as guest images and their arguments, on a device that can
// write anywhere in memory (QEMU's fw_cfg DMA), so that only the engine may
// drive it. The machine layer lists them (Config.Files) and copies one
// (Platform.CopyFile); the core decides where a copy may land: pages the
// host owns, checked against the ledger inside the call, so that no page
// changes owner while the copy runs.

// BootFile is one file the machine offers the host.
type BootFile struct {
	// Size is the file's length in bytes, at most MaxFileSize.
	Size uint64
	// Name is the first abi.FileNameBytes bytes of the file's name after
	// the guest prefix, packed little-endian and zero padded: FILE_INFO's
	// x2..x7.
	Name [abi.FileNameBytes / 8]uint64
}

// MaxFileSize bounds a boot file: it fits in the IPA space, so the pages
// it covers are counted without overflow.
const MaxFileSize = ipaLimit

// filePages is the number of pages a file of size bytes covers.
func filePages(size uint64) uint64 { return (size + pageMask) >> PageShift }

// FileInfo is FILE_INFO: the description of boot file index.
func (e *Engine) FileInfo(index uint64) (BootFile, abi.Status) {
	if index >= uint64(len(e.cfg.Files)) {
		return BootFile{}, abi.InvalidParameters
	}
	return e.cfg.Files[index], abi.Success
}

// FileRead is FILE_READ: copy boot file index to the pages at pa, of which
// the host offers pages, and return the bytes copied. Every page the file
// covers, in order, must be RAM (else INVALID_PARAMETERS) the host owns,
// shared with a VM or not, as the host may write it anyway (else DENIED).
// The pages after the file's end are not touched, nor the bytes of its
// last page past the end. A range that wraps 64 bits starts outside RAM,
// which lies in the IPA space (Config.validate).
func (e *Engine) FileRead(index uint64, pa PA, pages uint64) (uint64, abi.Status) {
	if index >= uint64(len(e.cfg.Files)) || uint64(pa)&pageMask != 0 {
		return 0, abi.InvalidParameters
	}
	size := e.cfg.Files[index].Size
	need := filePages(size)
	if pages < need {
		return 0, abi.InvalidParameters
	}
	if need == 0 {
		return 0, abi.Success
	}
	for i := uint64(0); i < need; i++ {
		p := pa + PA(i<<PageShift)
		if !e.ramPage(p) {
			return 0, abi.InvalidParameters
		}
		if e.pageAt(p).owner != abi.OwnerHost {
			return 0, abi.Denied
		}
	}
	if !e.plat.CopyFile(index, pa) {
		return 0, abi.NoMemory
	}
	return size, abi.Success
}
