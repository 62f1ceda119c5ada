package refinement

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// oracleEnv names the oracle binary; without it the test looks at the path
// proofs/check.sh builds, relative to the repository root.
const (
	oracleEnv  = "BULKHEAD_ORACLE"
	oraclePath = "build/oracle/bulkhead-oracle"
)

// oracle is one running bulkhead-oracle process. Traces are batched through
// it: each starts with a reset line.
type oracle struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// findOracle returns the oracle's path, or skips (fails under CI) with how
// to build it.
func findOracle(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(oracleEnv); p != "" {
		return p
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(wd, "..", "..", oraclePath)
	if _, err := os.Stat(p); err != nil {
		msg := fmt.Sprintf("no oracle at %s: build it with `make proofs` (runs proofs/check.sh), or set %s", p, oracleEnv)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

func startOracle(t testing.TB) *oracle {
	t.Helper()
	cmd := exec.Command(findOracle(t))
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	o := &oracle{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<16)}
	t.Cleanup(o.close)
	return o
}

func (o *oracle) close() {
	o.in.Close()
	o.cmd.Wait()
}

// send writes one command and reads the n lines it answers.
func (o *oracle) send(line string, n int) ([]string, error) {
	if _, err := io.WriteString(o.in, line+"\n"); err != nil {
		return nil, err
	}
	out := make([]string, n)
	for i := range out {
		l, err := o.out.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("oracle: %w", err)
		}
		l = strings.TrimRight(l, "\n")
		if strings.HasPrefix(l, "error ") {
			return nil, fmt.Errorf("oracle rejected %q: %s", line, l)
		}
		out[i] = l
	}
	return out, nil
}
