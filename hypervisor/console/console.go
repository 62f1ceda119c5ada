// Package console merges the consoles of several VMs into the hypervisor's
// one output: each VM's bytes go through a Writer that starts every line
// with the VM's name ("[vm1] "), so the lines of different VMs can be told
// apart and a test reading the serial log can tell which guest said what.
//
// A Writer buffers up to MaxLine bytes and writes each complete line with
// its prefix in a single Write, so that lines of VMs sharing one output do
// not interleave mid-line. Memory stays bounded: a longer line is written
// in pieces, and Flush writes a partial line (a shell prompt) when the
// hypervisor decides to show it, e.g. when the VM goes idle.
package console

import "io"

// MaxLine is the longest run of bytes a Writer holds before writing it out
// unfinished.
const MaxLine = 512

// Writer prefixes each line written through it. A line ends at "\n"; a
// "\r" that is not followed by "\n" also ends one (a guest redrawing a line,
// such as a progress counter), and the redrawn line gets the prefix again.
// "\r\n" ends a line once. Bytes are passed through unchanged otherwise.
//
// Not safe for concurrent use.
type Writer struct {
	out    io.Writer
	prefix []byte
	buf    []byte // the current line, without its prefix
	line   []byte // scratch for prefix+buf, reused

	// midLine: part of the current line was already written, with its
	// prefix, by Flush or because it grew past MaxLine.
	midLine bool
	// pendingCR: the last byte was "\r"; the next byte decides whether
	// it ended the line alone or with "\n".
	pendingCR bool
	// count is how many bytes were written through w.
	count uint64
}

// New returns a Writer that writes to out, prefixing lines with "[name] ".
func New(out io.Writer, name string) *Writer {
	prefix := []byte("[" + name + "] ")
	return &Writer{
		out:    out,
		prefix: prefix,
		buf:    make([]byte, 0, MaxLine),
		line:   make([]byte, 0, len(prefix)+MaxLine),
	}
}

// Write buffers p and writes every line it completes. It returns len(p),
// or on an error of the underlying writer the count of bytes consumed
// before the failed write together with that error; the failed line is
// dropped.
func (w *Writer) Write(p []byte) (int, error) {
	w.count += uint64(len(p))
	for i, c := range p {
		if err := w.put(c); err != nil {
			return i, err
		}
	}
	return len(p), nil
}

func (w *Writer) put(c byte) error {
	if w.pendingCR {
		w.pendingCR = false
		if c == '\n' {
			return w.add(c, true)
		}
		// The "\r" ended its line. If it was written already (Flush), the
		// line is finished; otherwise write it now.
		if err := w.endLine(); err != nil {
			return err
		}
	}
	switch c {
	case '\n':
		return w.add(c, true)
	case '\r':
		w.pendingCR = true
		return w.add(c, false)
	}
	return w.add(c, false)
}

// add appends c to the line, writing the line out when it ends or when the
// buffer is full.
func (w *Writer) add(c byte, ends bool) error {
	if len(w.buf) == MaxLine {
		if err := w.emit(); err != nil {
			return err
		}
		w.midLine = true
	}
	w.buf = append(w.buf, c)
	if ends {
		return w.endLine()
	}
	return nil
}

// endLine writes what is left of the current line and starts a new one.
func (w *Writer) endLine() error {
	err := w.emit()
	w.midLine = false
	return err
}

// emit writes the buffered bytes, prefixed unless the line was begun.
func (w *Writer) emit() error {
	if len(w.buf) == 0 {
		return nil
	}
	w.line = w.line[:0]
	if !w.midLine {
		w.line = append(w.line, w.prefix...)
	}
	w.line = append(w.line, w.buf...)
	w.buf = w.buf[:0]
	_, err := w.out.Write(w.line)
	return err
}

// Count is how many bytes were written through w: a caller that sees it
// unchanged over a while knows the VM was silent.
func (w *Writer) Count() uint64 { return w.count }

// Flush writes the buffered part of the current line, with the prefix if
// it is the line's first part. The rest of the line follows without one.
func (w *Writer) Flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.emit()
	w.midLine = true
	return err
}
