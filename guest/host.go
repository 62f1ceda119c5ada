//go:build !(tamago && arm64)

package guest

import (
	"os"
	"strings"
)

// Main runs the tests of Default that the command line selects (run=<re>
// among the arguments), reports them on standard output in the line
// protocol and exits, 1 if any failed. Off the target every call reaches
// the conduit a test installed, or answers NOT_SUPPORTED.
func Main() {
	sum := Default.Run(os.Stdout, RunPattern(strings.Join(os.Args[1:], " ")))
	if sum.Failed > 0 {
		os.Exit(1)
	}
	os.Exit(0)
}
