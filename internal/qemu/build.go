// Package qemu builds bulkhead's images with the TamaGo compiler and runs
// them under QEMU `virt`, for the bulkhead command and the QEMU test suites.
// The machine's shape (link addresses, memory, devices) comes from
// boot/virt, so the images, the command line and the tests cannot disagree.
package qemu

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"bulkhead/boot/virt"
)

// TamagoVersion is the TamaGo compiler release the images are built with.
const TamagoVersion = "tamago-go1.26.0"

// ErrNoTamago reports a missing TamaGo compiler.
var ErrNoTamago = errors.New("no TamaGo compiler")

// FindTamago returns the TamaGo compiler's go command: $TAMAGO, or the
// place upstream's installer uses, ~/.cache/tamago-go/<version>/bin/go.
func FindTamago() (string, error) {
	path := os.Getenv("TAMAGO")
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("%w: $TAMAGO is unset and there is no home directory", ErrNoTamago)
		}
		path = filepath.Join(home, ".cache", "tamago-go", TamagoVersion, "bin", "go")
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%w at %s: install %s (github.com/usbarmory/tamago-go, tag %s: "+
			"cd src && ./make.bash) to ~/.cache/tamago-go/%s, or set TAMAGO to its bin/go",
			ErrNoTamago, path, TamagoVersion, TamagoVersion, TamagoVersion)
	}
	return path, nil
}

// Image is a TamaGo program and the address its text is linked at.
type Image struct {
	Name string // output file is <Name>.elf
	Pkg  string // import path relative to the module root, e.g. ./cmd/engine
	Text uint64
	Tags []string
}

// Engine and Hypervisor are the two images of a bulkhead machine.
var (
	Engine     = Image{Name: "engine", Pkg: "./cmd/engine", Text: virt.EngineText}
	Hypervisor = Image{Name: "hypervisor", Pkg: "./cmd/hypervisor", Text: virt.HostText}
)

// Builder builds images from the module at Root into Out.
type Builder struct {
	Tamago string
	Root   string
	Out    string
}

// Build compiles img and returns the path of its ELF file.
func (b Builder) Build(img Image) (string, error) {
	out := filepath.Join(b.Out, img.Name+".elf")
	if err := os.MkdirAll(b.Out, 0o755); err != nil {
		return "", err
	}
	args := []string{"build", "-trimpath", "-o", out,
		"-ldflags", fmt.Sprintf("-T %#x -R 0x1000", img.Text)}
	if len(img.Tags) > 0 {
		args = append(args, "-tags", strings.Join(img.Tags, ","))
	}
	cmd := exec.Command(b.Tamago, append(args, img.Pkg)...)
	cmd.Dir = b.Root
	cmd.Env = append(os.Environ(), "GOOS=tamago", "GOARCH=arm64", "GOOSPKG=github.com/usbarmory/tamago")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", img.Name, err, msg)
	}
	return out, nil
}

// ModuleRoot walks up from dir to the directory holding go.mod.
func ModuleRoot(dir string) (string, error) {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// GhostEngine checks its ledger against its page tables after every host
// call (debug build, tag bulkhead_ghost).
var GhostEngine = Image{Name: "engine-ghost", Pkg: "./cmd/engine", Text: virt.EngineText, Tags: []string{"bulkhead_ghost"}}

// Images for benchmarks: the engine with its baseline vector table
// (bulkhead_bench) and the EL1 image that measures against it.
var (
	BenchEngine = Image{Name: "engine-bench", Pkg: "./cmd/engine", Text: virt.EngineText, Tags: []string{"bulkhead_bench"}}
	BenchHost   = Image{Name: "benchhost", Pkg: "./cmd/benchhost", Text: virt.HostText}
)
