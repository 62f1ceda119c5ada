// Package fdt writes and reads flattened device trees (DTB), the format of
// the Devicetree Specification v0.4 (DTSpec), chapter 5.
//
// The hypervisor builds one tree per guest (see package guestdt) and hands
// its IPA to the guest in x0. The reader lets the engine list the board's
// CPUs from the tree QEMU gives it (virt.CPUs), guests read theirs, and the
// hypervisor's tests check a blob's structure without trusting the writer;
// it is strict, bounded and never panics on malformed input.
//
// The package is pure Go: no unsafe, no hardware, no files.
package fdt

// Constants of the flattened format (DTSpec 5.2 and 5.4.1).
const (
	// Magic is the value of the header's magic field (DTSpec 5.2).
	Magic = 0xd00dfeed
	// Version is the format version this package writes: 17, the current
	// version, backwards compatible with 16 (DTSpec 5.2).
	Version = 17
	// LastCompVersion is the oldest version a 17 blob is compatible with.
	LastCompVersion = 16
	// HeaderSize is the size of the version 17 header in bytes.
	HeaderSize = 40

	tokenBeginNode = 0x1 // FDT_BEGIN_NODE
	tokenEndNode   = 0x2 // FDT_END_NODE
	tokenProp      = 0x3 // FDT_PROP
	tokenNop       = 0x4 // FDT_NOP
	tokenEnd       = 0x9 // FDT_END

	// reserveEntrySize is one {address, size} pair of the memory
	// reservation block (DTSpec 5.3.2).
	reserveEntrySize = 16
)

// Limits of names (DTSpec 2.2.1 node names, 2.2.4 property names).
const (
	maxNodeNameLen = 31 // the node-name part, before '@'
	maxPropNameLen = 31
)

// Reservation is one entry of the memory reservation block (DTSpec 5.3): a
// physical range the client must not use for general allocation.
type Reservation struct {
	Address uint64
	Size    uint64
}

// validNodeName checks a node name against DTSpec 2.2.1: node-name[@unit-
// address], node-name 1 to 31 characters of [0-9a-zA-Z,._+-] starting with
// a letter, unit-address of the same characters. The root node is the only
// node with an empty name, so the caller checks that case.
func validNodeName(name string) bool {
	base, unit, hasUnit := cut(name, '@')
	if len(base) == 0 || len(base) > maxNodeNameLen || !isLetter(base[0]) {
		return false
	}
	if hasUnit && len(unit) == 0 {
		return false
	}
	return allIn(base, isNodeChar) && allIn(unit, isNodeChar)
}

// validPropName checks a property name against DTSpec 2.2.4: 1 to 31
// characters of [0-9a-zA-Z,._+?#-].
func validPropName(name string) bool {
	return len(name) > 0 && len(name) <= maxPropNameLen && allIn(name, isPropChar)
}

func cut(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func allIn(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

func isNodeChar(c byte) bool {
	return isLetter(c) || isDigit(c) || c == ',' || c == '.' || c == '_' || c == '+' || c == '-'
}

func isPropChar(c byte) bool { return isNodeChar(c) || c == '?' || c == '#' }

func align(n, a int) int { return (n + a - 1) &^ (a - 1) }
