package fdt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Builder writes a flattened device tree one node at a time, in the order
// of the structure block (DTSpec 5.4): BeginNode, its properties, its child
// nodes, EndNode.
//
// The first error (an invalid name, a property after a child node, an
// unbalanced EndNode) is remembered and returned by Finish, so that a tree
// can be written as straight-line code and checked once.
type Builder struct {
	structure []byte
	strs      []byte
	strOff    map[string]uint32
	rsv       []Reservation
	bootCPU   uint32

	depth     int
	hasChild  []bool // per open node: a child node was already written
	rootSeen  bool
	err       error
	finishing bool
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{strOff: make(map[string]uint32)}
}

// SetBootCPU sets the header's boot_cpuid_phys: the reg value of the CPU
// node that boots (DTSpec 5.2).
func (b *Builder) SetBootCPU(id uint32) { b.bootCPU = id }

// Reserve adds an entry to the memory reservation block (DTSpec 5.3).
func (b *Builder) Reserve(address, size uint64) {
	if size == 0 {
		// A zero-size entry would read as the block's terminator.
		b.fail(errors.New("fdt: zero-size memory reservation"))
		return
	}
	b.rsv = append(b.rsv, Reservation{address, size})
}

// BeginNode opens a node. The first node must be the root, named "".
func (b *Builder) BeginNode(name string) {
	switch {
	case b.err != nil:
		return
	case !b.rootSeen:
		if name != "" {
			b.fail(fmt.Errorf("fdt: first node %q is not the root", name))
			return
		}
		b.rootSeen = true
	case b.depth == 0:
		b.fail(fmt.Errorf("fdt: node %q after the root was closed", name))
		return
	case !validNodeName(name):
		b.fail(fmt.Errorf("fdt: invalid node name %q (DTSpec 2.2.1)", name))
		return
	default:
		b.hasChild[b.depth-1] = true
	}
	b.token(tokenBeginNode)
	b.structure = append(b.structure, name...)
	b.structure = append(b.structure, 0)
	b.pad()
	b.depth++
	b.hasChild = append(b.hasChild, false)
}

// EndNode closes the innermost open node.
func (b *Builder) EndNode() {
	if b.err != nil {
		return
	}
	if b.depth == 0 {
		b.fail(errors.New("fdt: EndNode without an open node"))
		return
	}
	b.token(tokenEndNode)
	b.depth--
	b.hasChild = b.hasChild[:b.depth]
}

// Property adds a property with a raw value to the open node. DTSpec 5.4.1
// requires a node's properties to precede its child nodes.
func (b *Builder) Property(name string, value []byte) {
	switch {
	case b.err != nil:
		return
	case b.depth == 0:
		b.fail(fmt.Errorf("fdt: property %q outside a node", name))
		return
	case !validPropName(name):
		b.fail(fmt.Errorf("fdt: invalid property name %q (DTSpec 2.2.4)", name))
		return
	case b.hasChild[b.depth-1]:
		b.fail(fmt.Errorf("fdt: property %q after a child node (DTSpec 5.4.1)", name))
		return
	case uint64(len(value)) > 1<<31:
		b.fail(fmt.Errorf("fdt: property %q value too large", name))
		return
	}
	b.token(tokenProp)
	b.structure = binary.BigEndian.AppendUint32(b.structure, uint32(len(value)))
	b.structure = binary.BigEndian.AppendUint32(b.structure, b.stringOffset(name))
	b.structure = append(b.structure, value...)
	b.pad()
}

// PropertyEmpty adds a property with no value, such as
// interrupt-controller (DTSpec 2.2.4.2, <empty>).
func (b *Builder) PropertyEmpty(name string) { b.Property(name, nil) }

// PropertyU32 adds a property of one or more big-endian 32-bit cells
// (DTSpec 2.2.4.2, <u32> and <prop-encoded-array>).
func (b *Builder) PropertyU32(name string, cells ...uint32) {
	v := make([]byte, 0, 4*len(cells))
	for _, c := range cells {
		v = binary.BigEndian.AppendUint32(v, c)
	}
	b.Property(name, v)
}

// PropertyU64 adds a property of one or more big-endian 64-bit values, each
// two cells (DTSpec 2.2.4.2, <u64>).
func (b *Builder) PropertyU64(name string, values ...uint64) {
	v := make([]byte, 0, 8*len(values))
	for _, x := range values {
		v = binary.BigEndian.AppendUint64(v, x)
	}
	b.Property(name, v)
}

// PropertyString adds a NUL-terminated string property (DTSpec 2.2.4.2,
// <string>).
func (b *Builder) PropertyString(name, s string) { b.PropertyStrings(name, s) }

// PropertyStrings adds a <stringlist>: the strings, each NUL-terminated,
// concatenated (DTSpec 2.2.4.2).
func (b *Builder) PropertyStrings(name string, list ...string) {
	var v []byte
	for _, s := range list {
		if strings.IndexByte(s, 0) >= 0 {
			b.fail(fmt.Errorf("fdt: property %q: string contains NUL", name))
			return
		}
		v = append(v, s...)
		v = append(v, 0)
	}
	b.Property(name, v)
}

// Finish closes the structure block and returns the blob, or the first
// error the Builder met. The layout is the one DTSpec 5.1 suggests: header,
// memory reservation block (8-byte aligned, 5.3.1), structure block (4-byte
// aligned, 5.4), strings block (5.5).
func (b *Builder) Finish() ([]byte, error) {
	if b.err == nil && !b.rootSeen {
		b.fail(errors.New("fdt: no root node"))
	}
	if b.err == nil && b.depth != 0 {
		b.fail(fmt.Errorf("fdt: %d nodes left open", b.depth))
	}
	if b.err != nil {
		return nil, b.err
	}
	if !b.finishing {
		b.token(tokenEnd)
		b.finishing = true
	}
	return b.assemble()
}

func (b *Builder) assemble() ([]byte, error) {
	offRsv := align(HeaderSize, 8)
	offStruct := offRsv + (len(b.rsv)+1)*reserveEntrySize
	offStrings := offStruct + len(b.structure)
	total := offStrings + len(b.strs)
	if uint64(total) > 1<<31 {
		return nil, errors.New("fdt: tree too large")
	}
	out := make([]byte, offRsv, total)
	h := header{
		magic: Magic, totalSize: uint32(total),
		offStruct: uint32(offStruct), offStrings: uint32(offStrings),
		offRsvmap: uint32(offRsv), version: Version,
		lastCompVersion: LastCompVersion, bootCPU: b.bootCPU,
		sizeStrings: uint32(len(b.strs)), sizeStruct: uint32(len(b.structure)),
	}
	h.put(out)
	for _, r := range b.rsv {
		out = binary.BigEndian.AppendUint64(out, r.Address)
		out = binary.BigEndian.AppendUint64(out, r.Size)
	}
	out = append(out, make([]byte, reserveEntrySize)...) // terminator
	out = append(out, b.structure...)
	return append(out, b.strs...), nil
}

// stringOffset returns name's offset in the strings block, adding it once:
// DTSpec 5.5 lets properties share a name string.
func (b *Builder) stringOffset(name string) uint32 {
	if off, ok := b.strOff[name]; ok {
		return off
	}
	off := uint32(len(b.strs))
	b.strs = append(b.strs, name...)
	b.strs = append(b.strs, 0)
	b.strOff[name] = off
	return off
}

func (b *Builder) token(t uint32) {
	b.structure = binary.BigEndian.AppendUint32(b.structure, t)
}

// pad aligns the structure block to 4 bytes with zeros (DTSpec 5.4.1:
// every token starts on a 32-bit boundary).
func (b *Builder) pad() {
	for len(b.structure)%4 != 0 {
		b.structure = append(b.structure, 0)
	}
}

func (b *Builder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// header is the fixed header of DTSpec 5.2, all fields big-endian.
type header struct {
	magic, totalSize, offStruct, offStrings, offRsvmap uint32
	version, lastCompVersion, bootCPU                  uint32
	sizeStrings, sizeStruct                            uint32
}

func (h header) put(b []byte) {
	for i, v := range []uint32{h.magic, h.totalSize, h.offStruct, h.offStrings,
		h.offRsvmap, h.version, h.lastCompVersion, h.bootCPU, h.sizeStrings, h.sizeStruct} {
		binary.BigEndian.PutUint32(b[4*i:], v)
	}
}

func getHeader(b []byte) header {
	f := func(i int) uint32 { return binary.BigEndian.Uint32(b[4*i:]) }
	return header{f(0), f(1), f(2), f(3), f(4), f(5), f(6), f(7), f(8), f(9)}
}
