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
	"sync"

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
	Test bool // the package's test binary (go test -c), not its program
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

// Build compiles img and returns the path of its ELF file. The modules
// the images need are downloaded first: the TamaGo go command resolves
// GOOSPKG (github.com/usbarmory/tamago) only from the module cache and does
// not fetch it by itself, so a build never relies on a warm cache.
func (b Builder) Build(img Image) (string, error) {
	if err := b.Download(); err != nil {
		return "", err
	}
	out := filepath.Join(b.Out, img.Name+".elf")
	if err := os.MkdirAll(b.Out, 0o755); err != nil {
		return "", err
	}
	args := []string{"build", "-trimpath", "-o", out,
		"-ldflags", fmt.Sprintf("-T %#x -R 0x1000", img.Text)}
	if img.Test {
		args = append([]string{"test", "-c"}, args[1:]...)
	}
	if len(img.Tags) > 0 {
		args = append(args, "-tags", strings.Join(img.Tags, ","))
	}
	if msg, err := b.command(append(args, img.Pkg)...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", img.Name, err, msg)
	}
	return out, nil
}

// TargetEnv is the environment of every TamaGo command.
var TargetEnv = []string{"GOOS=tamago", "GOARCH=arm64", "GOOSPKG=github.com/usbarmory/tamago"}

func (b Builder) command(args ...string) *exec.Cmd {
	cmd := exec.Command(b.Tamago, args...)
	cmd.Dir = b.Root
	cmd.Env = append(os.Environ(), TargetEnv...)
	return cmd
}

// downloaded records the module roots whose modules are in the cache.
var downloaded sync.Map // module root -> *downloadOnce

type downloadOnce struct {
	once sync.Once
	err  error
}

// Download fetches the pinned modules of go.mod into the module cache,
// once per process and module root.
func (b Builder) Download() error {
	v, _ := downloaded.LoadOrStore(b.Root, &downloadOnce{})
	d := v.(*downloadOnce)
	d.once.Do(func() {
		if msg, err := b.command("mod", "download").CombinedOutput(); err != nil {
			d.err = fmt.Errorf("downloading modules: %v\n%s", err, msg)
		}
	})
	return d.err
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
