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
	"time"
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
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Reader
	lines chan line
	timer *time.Timer
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
		msg := fmt.Sprintf("no oracle at %s: build it with `make oracle` (proofs/oracle.sh), or set %s", p, oracleEnv)
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
	o := &oracle{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<16), lines: make(chan line, 1024)}
	go o.readLines()
	t.Cleanup(o.close)
	return o
}

// close ends the oracle: it exits at the end of its input, and is killed
// if it does not within a second, so a test never waits on it for ever.
func (o *oracle) close() {
	o.in.Close()
	done := make(chan struct{})
	go func() { o.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		o.cmd.Process.Kill()
		<-done
	}
}

// answerTimeout bounds how long one call may take in the oracle; a call
// that takes longer is reported with its trace instead of hanging the test.
const answerTimeout = 20 * time.Second

// line is one line the oracle printed, or the error that ended its output.
type line struct {
	text string
	err  error
}

// readLines reads the oracle's output for as long as it runs, one line at a
// time into o.lines.
func (o *oracle) readLines() {
	for {
		l, err := o.out.ReadString('\n')
		o.lines <- line{l, err}
		if err != nil {
			close(o.lines)
			return
		}
	}
}

// readLine returns the next line within answerTimeout; on a timeout the
// oracle is killed, which ends its output.
func (o *oracle) readLine() (string, error) {
	if o.timer == nil {
		o.timer = time.NewTimer(answerTimeout)
	} else {
		o.timer.Reset(answerTimeout)
	}
	select {
	case r, ok := <-o.lines:
		o.timer.Stop()
		if !ok {
			return "", io.EOF
		}
		return r.text, r.err
	case <-o.timer.C:
		o.cmd.Process.Kill()
		return "", fmt.Errorf("no answer within %v", answerTimeout)
	}
}

// send writes one command and reads the n lines it answers.
func (o *oracle) send(line string, n int) ([]string, error) {
	if _, err := io.WriteString(o.in, line+"\n"); err != nil {
		return nil, err
	}
	out := make([]string, n)
	for i := range out {
		l, err := o.readLine()
		if err != nil {
			return nil, fmt.Errorf("oracle, answering %q: %w", line, err)
		}
		l = strings.TrimRight(l, "\n")
		if strings.HasPrefix(l, "error ") {
			return nil, fmt.Errorf("oracle rejected %q: %s", line, l)
		}
		out[i] = l
	}
	return out, nil
}

// batch writes every line at once (from a goroutine, so that a long trace
// cannot fill both pipes) and reads the n lines they answer: a trace costs
// one round trip instead of one per call.
func (o *oracle) batch(lines []string, n int) ([]string, error) {
	werr := make(chan error, 1)
	go func() {
		_, err := io.WriteString(o.in, strings.Join(lines, "\n")+"\n")
		werr <- err
	}()
	out := make([]string, n)
	for i := range out {
		l, err := o.readLine()
		if err != nil {
			return nil, fmt.Errorf("oracle, answering line %d of a batch of %d: %w", i, len(lines), err)
		}
		l = strings.TrimRight(l, "\n")
		if strings.HasPrefix(l, "error ") {
			return nil, fmt.Errorf("oracle rejected a line of the batch: %s", l)
		}
		out[i] = l
	}
	return out, <-werr
}
