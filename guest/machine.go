package guest

import (
	"errors"
	"fmt"
	"strings"

	"bulkhead/boot/fdt"
	"bulkhead/boot/virt"
)

// Machine is what a program learns about its machine from the device tree
// it was entered with (DESIGN.md section 4: x0 at entry is its address).
type Machine struct {
	RAM      virt.Region   // the first /memory node's first range
	Memory   []virt.Region // every range of every /memory node, RAM first
	CPUs     int           // the /cpus/cpu@N nodes: a guest's vCPU count
	Bootargs string        // /chosen/bootargs, "" if absent
	DTB      virt.Region   // where the tree itself lies
}

// DTSize returns the totalsize of the device tree whose header starts with
// head (fdt.TotalSize, which refuses a bad magic or an unbounded size).
func DTSize(head []byte) (uint64, error) { return fdt.TotalSize(head) }

// ReadMachine reads the device tree at addr through mem, which returns the
// bytes [addr, addr+size) of the program's memory, and describes the
// machine.
func ReadMachine(mem func(addr, size uint64) []byte, addr uint64) (Machine, error) {
	size, err := DTSize(mem(addr, fdt.SizePrefix))
	if err != nil {
		return Machine{}, err
	}
	m, err := ParseMachine(mem(addr, size))
	m.DTB = virt.Region{Name: "device-tree", Base: addr, Size: size}
	return m, err
}

// ParseMachine describes the machine of the device tree blob.
func ParseMachine(blob []byte) (Machine, error) {
	t, err := fdt.Parse(blob)
	if err != nil {
		return Machine{}, err
	}
	var m Machine
	if m.RAM, err = memory(t); err != nil {
		return m, err
	}
	if m.Memory, err = memoryRanges(t); err != nil {
		return m, err
	}
	if cpus := t.Lookup("/cpus"); cpus != nil {
		for _, c := range cpus.Children {
			if strings.HasPrefix(c.Name, "cpu@") {
				m.CPUs++
			}
		}
	}
	if chosen := t.Lookup("/chosen"); chosen != nil {
		if p, ok := chosen.Property("bootargs"); ok {
			s, err := p.Strings()
			if err != nil || len(s) == 0 {
				return m, fmt.Errorf("guest: /chosen/bootargs: %v", err)
			}
			m.Bootargs = s[0]
		}
	}
	return m, nil
}

// memory returns the first range of the first memory node, read with the
// root's #address-cells and #size-cells (DTSpec 2.3.5; defaults 2 and 1).
func memory(t *fdt.Tree) (virt.Region, error) {
	ac, sc := cells(t.Root, "#address-cells", 2), cells(t.Root, "#size-cells", 1)
	for _, n := range t.Root.Children {
		if n.Name != "memory" && !strings.HasPrefix(n.Name, "memory@") {
			continue
		}
		p, ok := n.Property("reg")
		if !ok || ac < 1 || ac > 2 || sc < 1 || sc > 2 {
			return virt.Region{}, fmt.Errorf("guest: %s: no usable reg", n.Name)
		}
		v, err := p.U32s()
		if err != nil || len(v) < ac+sc {
			return virt.Region{}, fmt.Errorf("guest: %s: short reg", n.Name)
		}
		return virt.Region{Name: "ram", Base: number(v[:ac]), Size: number(v[ac : ac+sc])}, nil
	}
	return virt.Region{}, errors.New("guest: the device tree has no memory node")
}

// memoryRanges returns every range of every memory node, in tree order
// (DTSpec 3.4: a node's reg may list several ranges).
func memoryRanges(t *fdt.Tree) ([]virt.Region, error) {
	ac, sc := cells(t.Root, "#address-cells", 2), cells(t.Root, "#size-cells", 1)
	var out []virt.Region
	for _, n := range t.Root.Children {
		if n.Name != "memory" && !strings.HasPrefix(n.Name, "memory@") {
			continue
		}
		p, _ := n.Property("reg")
		v, err := p.U32s()
		if err != nil || len(v) == 0 || len(v)%(ac+sc) != 0 {
			return nil, fmt.Errorf("guest: %s: reg is not a list of (address, size)", n.Name)
		}
		for ; len(v) > 0; v = v[ac+sc:] {
			out = append(out, virt.Region{Name: "ram", Base: number(v[:ac]), Size: number(v[ac : ac+sc])})
		}
	}
	return out, nil
}

func cells(n *fdt.Node, name string, def int) int {
	p, ok := n.Property(name)
	if !ok {
		return def
	}
	v, err := p.U32s()
	if err != nil || len(v) != 1 {
		return -1
	}
	return int(v[0])
}

func number(cells []uint32) uint64 {
	var v uint64
	for _, c := range cells {
		v = v<<32 | uint64(c)
	}
	return v
}

// FreeAbove returns the RAM from end up to the device tree (or to the end
// of RAM if the tree lies elsewhere), in whole pages: memory the machine
// has but a program whose runtime ends at end never touches. A guest given
// more RAM than its runtime uses (ram= in its arguments) gets pages it may
// share, relinquish and probe without disturbing Go's heap.
func (m Machine) FreeAbove(end uint64) virt.Region {
	lo := (end + virt.PageSize - 1) &^ (virt.PageSize - 1)
	hi := m.RAM.End()
	if m.DTB.Base >= lo && m.DTB.Base < hi {
		hi = m.DTB.Base &^ (virt.PageSize - 1)
	}
	if lo < m.RAM.Base || lo >= hi {
		return virt.Region{Name: "free"}
	}
	return virt.Region{Name: "free", Base: lo, Size: hi - lo}
}
