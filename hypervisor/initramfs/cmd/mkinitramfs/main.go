// Command mkinitramfs writes a newc cpio archive (an initramfs) from a file
// list in the format of Linux's usr/gen_init_cpio:
//
//	mkinitramfs -o initramfs.cpio list.txt
//
// Relative file locations are read from the current directory, as
// gen_init_cpio does. The output is written to a temporary file and renamed
// into place, so a failed run never leaves a truncated archive behind.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"bulkhead/hypervisor/initramfs"
)

func main() {
	out := flag.String("o", "", "output archive")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: mkinitramfs -o ARCHIVE LIST")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*out, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "mkinitramfs:", err)
		os.Exit(1)
	}
}

func run(out, list string) error {
	text, err := os.ReadFile(list)
	if err != nil {
		return err
	}
	entries, err := initramfs.ParseList(string(text))
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".mkinitramfs-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := write(tmp, entries); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

func write(f *os.File, entries []initramfs.ListEntry) error {
	bw := bufio.NewWriter(f)
	w := initramfs.NewWriter(bw)
	for _, e := range entries {
		if e.Source != "" {
			data, err := os.ReadFile(e.Source)
			if err != nil {
				return err
			}
			e.Data = data
		}
		if err := w.WriteEntry(e.Entry); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Chmod(0o644)
}
