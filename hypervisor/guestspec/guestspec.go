// Package guestspec turns the boot files a machine was started with into
// guest descriptions. Guest n is the file named "<n>" (its image) and,
// optionally, "<n>.args": lines of key=value that shape its VM:
//
//	vcpus=2          number of vCPUs (default 1)
//	ram=128          guest RAM in MiB, whole 2 MiB blocks (default 64)
//	bootargs=...     the rest of the line is /chosen/bootargs
//	timeout=30       end the VM after this many seconds (default: never)
//	secret=5ec2...   a 64-bit hex value the guest keeps to itself; the
//	                 hypervisor reports whether it ever saw it
//	memory=shared    a shared-memory VM, whose RAM the host keeps mapped,
//	                 so that it can have virtio devices; memory=protected
//	                 (the default) donates its RAM, which the host then
//	                 cannot read
//	virtio=on        virtio devices for a protected VM too: its guest
//	                 shares its queues and buffers itself (GUEST_SHARE),
//	                 and the devices reach those pages only (a
//	                 shared-memory VM always has them)
//
// A guest's disks are the files "<n>.disk<k>" (k from 0, the order the
// guest sees them in), or "<n>.disk<k>.ro" for a read-only one. The file
// named EntropyFile is not a guest: it seeds the machine's entropy devices.
//
// Blank lines and lines starting with # are ignored; anything else is an
// error that names the line, so a typo never silently changes a VM.
package guestspec

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Guest describes one guest before its VM exists.
type Guest struct {
	Name     string // the image file's name, e.g. "0"
	Image    int    // boot file index of the image
	Initrd   int    // boot file index of the initramfs, or -1
	VCPUs    int
	RAMMiB   uint64
	Bootargs string
	Timeout  int    // seconds, 0 for none
	Secret   uint64 // 0 for none
	Shared   bool   // memory=shared
	Virtio   bool   // virtio=on, or memory=shared: the VM has virtio devices
	noVirtio bool   // virtio=off
	Disks    []Disk // in the order the guest sees them
	// Err, when not nil, is why this guest cannot run (its argument file
	// is unreadable or wrong); the other guests are not affected.
	Err error
}

// Disk is one disk image of a guest.
type Disk struct {
	File     int // boot file index
	ReadOnly bool
}

// EntropyFile names the boot file of random bytes that seeds the virtio
// entropy devices of every shared-memory VM.
const EntropyFile = "entropy"

// MaxDisks bounds the disks of one guest.
const MaxDisks = 8

// Defaults and limits of the argument file.
const (
	DefaultVCPUs  = 1
	DefaultRAMMiB = 64
	MaxVCPUs      = 8
	MaxRAMMiB     = 1024
	MaxArgsBytes  = 4096
	MaxTimeout    = 3600
)

// Group pairs image files with their argument files. names[i] is the name
// of boot file i; args returns the contents of an argument file. A guest
// whose arguments are wrong gets Err; files that belong to no image are an
// error of the whole set.
func Group(names []string, args func(index int) ([]byte, error)) ([]Guest, error) {
	argIndex, initrdIndex := map[string]int{}, map[string]int{}
	disks := map[string][]diskFile{}
	var guests []Guest
	for i, n := range names {
		if n == EntropyFile {
			continue
		}
		if base, d, ok, err := parseDisk(n, i); ok || err != nil {
			if err != nil {
				return nil, err
			}
			disks[base] = append(disks[base], d)
			continue
		}
		if base, ok := strings.CutSuffix(n, ".args"); ok {
			argIndex[base] = i
			continue
		}
		if base, ok := strings.CutSuffix(n, ".initrd"); ok {
			initrdIndex[base] = i
			continue
		}
		guests = append(guests, Guest{Name: n, Image: i, Initrd: -1, VCPUs: DefaultVCPUs, RAMMiB: DefaultRAMMiB})
	}
	for i := range guests {
		if k, ok := initrdIndex[guests[i].Name]; ok {
			guests[i].Initrd = k
			delete(initrdIndex, guests[i].Name)
		}
	}
	if len(initrdIndex) > 0 {
		return nil, fmt.Errorf("initramfs files without an image: %v", sortedKeys(initrdIndex))
	}
	if err := attachDisks(guests, disks); err != nil {
		return nil, err
	}
	for i := range guests {
		k, ok := argIndex[guests[i].Name]
		if !ok {
			continue
		}
		delete(argIndex, guests[i].Name)
		text, err := args(k)
		if err == nil {
			err = guests[i].apply(text)
		}
		if err != nil {
			guests[i].Err = fmt.Errorf("guest %s: %w", guests[i].Name, err)
		}
	}
	if len(argIndex) > 0 {
		return nil, fmt.Errorf("argument files without an image: %v", sortedKeys(argIndex))
	}
	return guests, nil
}

// Check reads an argument file as Group would and returns the first error
// it finds, so a tool can refuse a bad file before a machine starts.
func Check(text []byte) error {
	g := Guest{VCPUs: DefaultVCPUs, RAMMiB: DefaultRAMMiB}
	return g.apply(text)
}

func (g *Guest) apply(text []byte) error {
	if len(text) > MaxArgsBytes {
		return fmt.Errorf("argument file of %d bytes exceeds %d", len(text), MaxArgsBytes)
	}
	for n, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := g.set(line); err != nil {
			return fmt.Errorf("line %d %q: %w", n+1, line, err)
		}
	}
	if g.Shared && g.Secret != 0 {
		// The host reads a shared-memory VM's RAM by design: watching
		// it for a secret would prove nothing.
		return fmt.Errorf("secret= needs a protected VM, not memory=shared")
	}
	if g.Shared && g.noVirtio {
		return fmt.Errorf("virtio=off: a shared-memory VM always has its virtio devices")
	}
	g.Virtio = g.Virtio || g.Shared
	return nil
}

func (g *Guest) set(line string) error {
	key, value, ok := strings.Cut(line, "=")
	if !ok {
		return fmt.Errorf("want key=value")
	}
	switch key {
	case "vcpus":
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 || n > MaxVCPUs {
			return fmt.Errorf("vcpus must be 1 to %d", MaxVCPUs)
		}
		g.VCPUs = n
	case "ram":
		n, err := strconv.ParseUint(value, 10, 64)
		if err != nil || n < 4 || n > MaxRAMMiB || n%2 != 0 {
			return fmt.Errorf("ram must be an even number of MiB from 4 to %d", MaxRAMMiB)
		}
		g.RAMMiB = n
	case "bootargs":
		g.Bootargs = value
	case "timeout":
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 || n > MaxTimeout {
			return fmt.Errorf("timeout must be 1 to %d seconds", MaxTimeout)
		}
		g.Timeout = n
	case "memory":
		switch value {
		case "shared", "protected":
			g.Shared = value == "shared"
		default:
			return fmt.Errorf("memory must be shared or protected")
		}
	case "virtio":
		switch value {
		case "on", "off":
			g.Virtio, g.noVirtio = value == "on", value == "off"
		default:
			return fmt.Errorf("virtio must be on or off")
		}
	case "secret":
		n, err := strconv.ParseUint(value, 16, 64)
		if err != nil || n == 0 {
			return fmt.Errorf("secret must be a non-zero 64-bit hex value")
		}
		g.Secret = n
	default:
		return fmt.Errorf("unknown key %q (want vcpus, ram, bootargs, timeout, secret, memory or virtio)", key)
	}
	return nil
}

func sortedKeys(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// diskFile is a disk file found among the boot files.
type diskFile struct {
	k int // its position among the guest's disks
	Disk
}

// parseDisk recognises "<n>.disk<k>" and "<n>.disk<k>.ro".
func parseDisk(name string, index int) (base string, d diskFile, ok bool, err error) {
	base, rest, found := strings.Cut(name, ".disk")
	if !found || base == "" {
		return "", d, false, nil
	}
	num, ro := strings.CutSuffix(rest, ".ro")
	k, convErr := strconv.Atoi(num)
	if convErr != nil || k < 0 || k >= MaxDisks || strconv.Itoa(k) != num {
		return "", d, false, fmt.Errorf("disk file %q: want <guest>.disk<k>[.ro] with k from 0 to %d", name, MaxDisks-1)
	}
	return base, diskFile{k, Disk{File: index, ReadOnly: ro}}, true, nil
}

// attachDisks gives each guest its disks in order; the positions of one
// guest's disks must be 0, 1, ... without gaps or repeats.
func attachDisks(guests []Guest, disks map[string][]diskFile) error {
	for i := range guests {
		ds := disks[guests[i].Name]
		delete(disks, guests[i].Name)
		sort.Slice(ds, func(a, b int) bool { return ds[a].k < ds[b].k })
		for j, d := range ds {
			if d.k != j {
				return fmt.Errorf("guest %s: disks are not numbered 0 to %d without gaps or repeats", guests[i].Name, len(ds)-1)
			}
			guests[i].Disks = append(guests[i].Disks, d.Disk)
		}
	}
	if len(disks) > 0 {
		var names []string
		for n := range disks {
			names = append(names, n)
		}
		sort.Strings(names)
		return fmt.Errorf("disk files without an image: %v", names)
	}
	return nil
}
