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
	// Err, when not nil, is why this guest cannot run (its argument file
	// is unreadable or wrong); the other guests are not affected.
	Err error
}

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
	var guests []Guest
	for i, n := range names {
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
	case "secret":
		n, err := strconv.ParseUint(value, 16, 64)
		if err != nil || n == 0 {
			return fmt.Errorf("secret must be a non-zero 64-bit hex value")
		}
		g.Secret = n
	default:
		return fmt.Errorf("unknown key %q (want vcpus, ram, bootargs, timeout or secret)", key)
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
