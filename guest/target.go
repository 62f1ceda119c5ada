//go:build tamago && arm64

package guest

import (
	"fmt"
	"os"

	"bulkhead/arch/el1"
)

// hvc is the conduit of an EL1 program: HVC #0, which the engine takes at
// EL2 (SMCCC 1.2, section 2.5.1).
type hvc struct{}

func (hvc) Call(x [8]uint64) [8]uint64 {
	el1.Call(&x)
	return x
}

func init() {
	conduit = hvc{}
	os.Args = commandLine()
}

// SDKMark is a guest program's os.Args[0], and so in every image built
// with the SDK: `bulkhead exec` looks for it.
var SDKMark = "bulkhead:guest-sdk"

// commandLine is the program's os.Args: SDKMark, then the words of
// /chosen/bootargs (SplitArgs), so that a Go test binary run as a guest
// (bulkhead exec) gets its -test.* flags. A guest whose device tree cannot
// be read, or whose bootargs do not split, gets only its name; Main and
// the testing package report what then goes wrong.
func commandLine() []string {
	args := []string{SDKMark}
	m, err := ThisMachine()
	if err != nil {
		return args
	}
	words, err := SplitArgs(m.Bootargs)
	if err != nil {
		fmt.Println("guest: bootargs:", err)
		return args
	}
	return append(args, words...)
}

// ThisMachine describes the machine from the device tree whose address the
// program was entered with (el1.BootArg).
func ThisMachine() (Machine, error) {
	return ReadMachine(el1.PhysBytes, el1.BootArg())
}

// Main runs the tests of Default that /chosen/bootargs selects (run=<re>;
// none: every test but the controls), reports them on the console in the
// line protocol and powers off, with exit status 1 if a test failed. It
// does not return. In a guest, os.Exit(n) writes n to the machine's
// exit-status register and powers the VM off (arch/el1), so n is the status
// `bulkhead run` exits with.
func Main() {
	m, err := ThisMachine()
	if err != nil {
		fmt.Println(ErrorLine(fmt.Sprintf("cannot read the device tree at %#x: %v", el1.BootArg(), err)))
		fmt.Println(DoneLine(0, 1))
		os.Exit(1)
	}
	if Default.Run(os.Stdout, RunPattern(m.Bootargs)).Failed > 0 {
		os.Exit(1)
	}
	os.Exit(0)
}
