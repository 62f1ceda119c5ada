package virt

import (
	"errors"
	"fmt"
	"strings"

	"bulkhead/boot/fdt"
)

// MaxCPUs is the most CPUs bulkhead uses: QEMU virt numbers a GICv3
// machine's first 16 CPUs in Aff0 alone (hw/arm/virt.c,
// virt_cpu_mp_affinity), and the engine keeps a start-up record and a
// stack per CPU.
const MaxCPUs = 8

// MPIDRAffinity selects the affinity fields of MPIDR_EL1 (Aff3 in bits
// 39:32, Aff2..Aff0 in bits 23:0; Arm ARM D19.2.101), the form a device
// tree's cpu node gives in reg.
const MPIDRAffinity = 0xff_00ff_ffff

// CPUs returns the MPIDR affinity of every CPU the device tree blob lists,
// in the order of its /cpus node (DTSpec 3.7 and 3.8; Linux's
// Documentation/devicetree/bindings/arm/cpus.yaml gives reg as the MPIDR
// affinity fields). Each cpu must be started with PSCI, the only enable
// method the engine has. An error names what is missing or malformed.
func CPUs(dtb []byte) ([]uint64, error) {
	t, err := fdt.Parse(dtb)
	if err != nil {
		return nil, err
	}
	cpus := t.Lookup("/cpus")
	if cpus == nil {
		return nil, errors.New("device tree: no /cpus node")
	}
	cells, err := addressCells(cpus)
	if err != nil {
		return nil, err
	}
	var ids []uint64
	for _, n := range cpus.Children {
		if !isCPU(n) {
			continue
		}
		id, err := cpuID(n, cells)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, checkCPUs(ids)
}

// isCPU reports whether n is a cpu node: device_type "cpu" (DTSpec 3.8.1),
// which leaves out cpu-map and other children of /cpus.
func isCPU(n *fdt.Node) bool {
	p, ok := n.Property("device_type")
	if !ok {
		return false
	}
	s, err := p.Strings()
	return err == nil && len(s) == 1 && s[0] == "cpu"
}

// addressCells is /cpus' #address-cells: 1 or 2 (cpus.yaml).
func addressCells(cpus *fdt.Node) (int, error) {
	p, ok := cpus.Property("#address-cells")
	if !ok {
		return 0, errors.New("device tree: /cpus has no #address-cells")
	}
	v, err := p.U32s()
	if err != nil || len(v) != 1 || v[0] < 1 || v[0] > 2 {
		return 0, fmt.Errorf("device tree: /cpus #address-cells must be 1 or 2")
	}
	return int(v[0]), nil
}

// cpuID reads one cpu node's reg and checks its enable method.
func cpuID(n *fdt.Node, cells int) (uint64, error) {
	p, ok := n.Property("reg")
	if !ok {
		return 0, fmt.Errorf("device tree: %s has no reg", n.Name)
	}
	v, err := p.U32s()
	if err != nil || len(v) != cells {
		return 0, fmt.Errorf("device tree: %s reg is not %d cell(s)", n.Name, cells)
	}
	id := uint64(v[0])
	if cells == 2 {
		id = id<<32 | uint64(v[1])
	}
	if id&^MPIDRAffinity != 0 {
		return 0, fmt.Errorf("device tree: %s reg %#x has bits outside the MPIDR affinity fields", n.Name, id)
	}
	if m, ok := n.Property("enable-method"); ok {
		s, err := m.Strings()
		if err != nil || len(s) != 1 || s[0] != "psci" {
			return 0, fmt.Errorf("device tree: %s enable-method %q, want psci", n.Name, strings.Join(s, ","))
		}
	}
	return id, nil
}

// checkCPUs refuses an empty list, too many CPUs, or the same CPU twice.
func checkCPUs(ids []uint64) error {
	switch {
	case len(ids) == 0:
		return errors.New("device tree: /cpus lists no cpu")
	case len(ids) > MaxCPUs:
		return fmt.Errorf("device tree: %d CPUs, at most %d are supported", len(ids), MaxCPUs)
	}
	seen := map[uint64]bool{}
	for _, id := range ids {
		if seen[id] {
			return fmt.Errorf("device tree: CPU %#x listed twice", id)
		}
		seen[id] = true
	}
	return nil
}
