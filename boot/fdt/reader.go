package fdt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Limits of the reader. A tree that exceeds them is refused rather than
// walked, so that parsing a hostile blob is bounded in time and memory.
const (
	// MaxSize is the largest blob Parse accepts: 2 MiB, the largest device
	// tree arm64 Linux accepts (booting.rst, "Setup the device tree").
	MaxSize = 2 << 20
	// MaxDepth bounds node nesting.
	MaxDepth = 32
	// MaxReservations bounds the memory reservation block.
	MaxReservations = 64
)

// SizePrefix is how much of a header TotalSize needs: magic and totalsize
// (DTSpec 5.2).
const SizePrefix = 8

// TotalSize returns the totalsize of the device tree whose header starts
// with head, refusing a bad magic or a size outside [HeaderSize, MaxSize],
// so that a program never maps an unbounded range on the word of a
// corrupt header.
func TotalSize(head []byte) (uint64, error) {
	if len(head) < SizePrefix {
		return 0, errors.New("fdt: header too short")
	}
	if m := binary.BigEndian.Uint32(head); m != Magic {
		return 0, fmt.Errorf("fdt: no device tree (magic %#x, want %#x)", m, uint32(Magic))
	}
	size := uint64(binary.BigEndian.Uint32(head[4:]))
	if size < HeaderSize || size > MaxSize {
		return 0, fmt.Errorf("fdt: totalsize %d outside [%d, %d]", size, HeaderSize, MaxSize)
	}
	return size, nil
}

// Tree is a parsed device tree.
type Tree struct {
	Root         *Node
	Reservations []Reservation
	BootCPU      uint32
	Version      uint32
}

// Node is one node of a Tree. Name is the full node name, with its unit
// address ("memory@40000000"); the root's name is "".
type Node struct {
	Name       string
	Properties []Property
	Children   []*Node
}

// Property is one property of a Node. Value aliases the parsed blob.
type Property struct {
	Name  string
	Value []byte
}

// Parse checks blob against DTSpec chapter 5 and returns its tree. Every
// offset and size in the header is checked against the blob before use; the
// structure block must hold exactly one root node followed by FDT_END.
func Parse(blob []byte) (*Tree, error) {
	h, err := checkHeader(blob)
	if err != nil {
		return nil, err
	}
	rsv, err := parseReservations(blob, h)
	if err != nil {
		return nil, err
	}
	p := &parser{
		s:    blob[h.offStruct : h.offStruct+h.sizeStruct],
		strs: blob[h.offStrings : h.offStrings+h.sizeStrings],
	}
	root, err := p.parseStructure()
	if err != nil {
		return nil, err
	}
	return &Tree{Root: root, Reservations: rsv, BootCPU: h.bootCPU, Version: h.version}, nil
}

func checkHeader(blob []byte) (header, error) {
	if len(blob) < HeaderSize {
		return header{}, fmt.Errorf("fdt: blob of %d bytes is shorter than the %d-byte header", len(blob), HeaderSize)
	}
	h := getHeader(blob)
	switch {
	case h.magic != Magic:
		return h, fmt.Errorf("fdt: bad magic %#x, want %#x", h.magic, Magic)
	case h.version < LastCompVersion || h.lastCompVersion > Version:
		return h, fmt.Errorf("fdt: version %d (compatible back to %d) is not readable as version %d",
			h.version, h.lastCompVersion, Version)
	case uint64(h.totalSize) > uint64(len(blob)):
		return h, fmt.Errorf("fdt: totalsize %d exceeds the %d bytes given", h.totalSize, len(blob))
	case h.totalSize > MaxSize:
		return h, fmt.Errorf("fdt: totalsize %d exceeds the %d-byte limit", h.totalSize, MaxSize)
	case h.offRsvmap%8 != 0 || h.offStruct%4 != 0:
		return h, errors.New("fdt: misaligned memory reservation or structure block (DTSpec 5.3.1, 5.4)")
	case h.offRsvmap < HeaderSize || h.offStruct < HeaderSize || h.offStrings < HeaderSize:
		return h, errors.New("fdt: a block overlaps the header")
	case !inside(h.offStruct, h.sizeStruct, h.totalSize):
		return h, errors.New("fdt: structure block outside the blob")
	case !inside(h.offStrings, h.sizeStrings, h.totalSize):
		return h, errors.New("fdt: strings block outside the blob")
	case h.offRsvmap >= h.totalSize:
		return h, errors.New("fdt: memory reservation block outside the blob")
	}
	return h, nil
}

// inside reports whether [off, off+size) lies in [0, total), without overflow.
func inside(off, size, total uint32) bool {
	return off <= total && size <= total-off
}

func parseReservations(blob []byte, h header) ([]Reservation, error) {
	var rsv []Reservation
	off := uint64(h.offRsvmap)
	for i := 0; ; i++ {
		if off+reserveEntrySize > uint64(h.totalSize) {
			return nil, errors.New("fdt: memory reservation block has no terminating entry (DTSpec 5.3.2)")
		}
		r := Reservation{
			Address: binary.BigEndian.Uint64(blob[off:]),
			Size:    binary.BigEndian.Uint64(blob[off+8:]),
		}
		if r.Address == 0 && r.Size == 0 {
			return rsv, nil
		}
		if i == MaxReservations {
			return nil, fmt.Errorf("fdt: more than %d memory reservations", MaxReservations)
		}
		rsv = append(rsv, r)
		off += reserveEntrySize
	}
}

// parser walks the structure block (DTSpec 5.4).
type parser struct {
	s    []byte
	off  int
	strs []byte
}

func (p *parser) parseStructure() (*Node, error) {
	tok, err := p.nextToken()
	if err != nil {
		return nil, err
	}
	if tok != tokenBeginNode {
		return nil, fmt.Errorf("fdt: structure block starts with token %#x, not FDT_BEGIN_NODE", tok)
	}
	root, err := p.parseNode(0)
	if err != nil {
		return nil, err
	}
	if root.Name != "" {
		return nil, fmt.Errorf("fdt: root node has name %q", root.Name)
	}
	tok, err = p.nextToken()
	if err != nil {
		return nil, err
	}
	if tok != tokenEnd {
		return nil, fmt.Errorf("fdt: token %#x after the root node, want FDT_END", tok)
	}
	return root, nil
}

// nextToken returns the next token other than FDT_NOP.
func (p *parser) nextToken() (uint32, error) {
	for {
		if p.off+4 > len(p.s) {
			return 0, errors.New("fdt: structure block ends without FDT_END")
		}
		t := binary.BigEndian.Uint32(p.s[p.off:])
		p.off += 4
		if t != tokenNop {
			return t, nil
		}
	}
}

// parseNode parses a node whose FDT_BEGIN_NODE token was just read.
func (p *parser) parseNode(depth int) (*Node, error) {
	if depth >= MaxDepth {
		return nil, fmt.Errorf("fdt: nodes nested deeper than %d", MaxDepth)
	}
	name, err := p.cstring()
	if err != nil {
		return nil, err
	}
	n := &Node{Name: name}
	if depth > 0 && !validNodeName(name) {
		return nil, fmt.Errorf("fdt: invalid node name %q (DTSpec 2.2.1)", name)
	}
	for {
		tok, err := p.nextToken()
		if err != nil {
			return nil, err
		}
		switch tok {
		case tokenProp:
			if len(n.Children) > 0 {
				return nil, fmt.Errorf("fdt: node %q: property after a child node (DTSpec 5.4.1)", name)
			}
			prop, err := p.property()
			if err != nil {
				return nil, fmt.Errorf("fdt: node %q: %w", name, err)
			}
			n.Properties = append(n.Properties, prop)
		case tokenBeginNode:
			child, err := p.parseNode(depth + 1)
			if err != nil {
				return nil, err
			}
			n.Children = append(n.Children, child)
		case tokenEndNode:
			return n, nil
		default:
			return nil, fmt.Errorf("fdt: node %q: unexpected token %#x", name, tok)
		}
	}
}

// cstring reads a NUL-terminated node name and skips its padding.
func (p *parser) cstring() (string, error) {
	i := bytes.IndexByte(p.s[p.off:], 0)
	if i < 0 {
		return "", errors.New("fdt: unterminated node name")
	}
	name := string(p.s[p.off : p.off+i])
	p.off = align(p.off+i+1, 4)
	if p.off > len(p.s) {
		return "", errors.New("fdt: node name padding runs past the structure block")
	}
	return name, nil
}

func (p *parser) property() (Property, error) {
	if p.off+8 > len(p.s) {
		return Property{}, errors.New("truncated property header")
	}
	size := binary.BigEndian.Uint32(p.s[p.off:])
	nameOff := binary.BigEndian.Uint32(p.s[p.off+4:])
	p.off += 8
	if uint64(size) > uint64(len(p.s)-p.off) {
		return Property{}, fmt.Errorf("property value of %d bytes runs past the structure block", size)
	}
	name, err := p.stringAt(nameOff)
	if err != nil {
		return Property{}, err
	}
	v := p.s[p.off : p.off+int(size) : p.off+int(size)]
	p.off = align(p.off+int(size), 4)
	if p.off > len(p.s) {
		return Property{}, errors.New("property padding runs past the structure block")
	}
	return Property{Name: name, Value: v}, nil
}

func (p *parser) stringAt(off uint32) (string, error) {
	if uint64(off) >= uint64(len(p.strs)) {
		return "", fmt.Errorf("property name offset %d outside the %d-byte strings block", off, len(p.strs))
	}
	i := bytes.IndexByte(p.strs[off:], 0)
	if i < 0 {
		return "", errors.New("unterminated property name in the strings block")
	}
	name := string(p.strs[off : off+uint32(i)])
	if !validPropName(name) {
		return "", fmt.Errorf("invalid property name %q (DTSpec 2.2.4)", name)
	}
	return name, nil
}

// Lookup returns the node at path ("/", "/cpus/cpu@0"), or nil.
func (t *Tree) Lookup(path string) *Node {
	if t == nil || t.Root == nil || !strings.HasPrefix(path, "/") {
		return nil
	}
	n := t.Root
	for _, part := range strings.Split(path[1:], "/") {
		if part == "" {
			continue
		}
		n = n.Child(part)
		if n == nil {
			return nil
		}
	}
	return n
}

// Child returns the child of n named name, or nil.
func (n *Node) Child(name string) *Node {
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Property returns the property of n named name.
func (n *Node) Property(name string) (Property, bool) {
	for _, p := range n.Properties {
		if p.Name == name {
			return p, true
		}
	}
	return Property{}, false
}

// U32s decodes the value as big-endian 32-bit cells.
func (p Property) U32s() ([]uint32, error) {
	if len(p.Value)%4 != 0 {
		return nil, fmt.Errorf("fdt: property %q: %d bytes is not a whole number of cells", p.Name, len(p.Value))
	}
	cells := make([]uint32, len(p.Value)/4)
	for i := range cells {
		cells[i] = binary.BigEndian.Uint32(p.Value[4*i:])
	}
	return cells, nil
}

// Strings decodes the value as a <stringlist>.
func (p Property) Strings() ([]string, error) {
	if len(p.Value) == 0 || p.Value[len(p.Value)-1] != 0 {
		return nil, fmt.Errorf("fdt: property %q is not a NUL-terminated string list", p.Name)
	}
	return strings.Split(string(p.Value[:len(p.Value)-1]), "\x00"), nil
}
