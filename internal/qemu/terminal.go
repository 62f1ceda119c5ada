package qemu

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// EscapeKey is the key that starts a console command when the console is a
// terminal, as in QEMU's -nographic: Ctrl-A, then x to quit, or Ctrl-A
// again to send one Ctrl-A to the guest.
const (
	EscapeKey = 0x01 // Ctrl-A
	QuitKey   = 'x'
	EscapeUse = "Ctrl-A x quits; Ctrl-A Ctrl-A sends Ctrl-A"
)

// Terminal is a terminal in raw input mode, as a guest's console needs it:
// every key, Ctrl-C included, goes to the guest as typed. Output processing
// stays on, so the machine's "\n" still starts a new line.
type Terminal struct {
	fd    int
	saved unix.Termios
}

// RawTerminal puts f in raw input mode if it is a terminal; ok is false
// (and nothing changed) if it is not.
func RawTerminal(f *os.File) (t *Terminal, ok bool, err error) {
	fd := int(f.Fd())
	saved, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, false, nil // not a terminal
	}
	raw := *saved
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN] = 1
	raw.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, false, err
	}
	return &Terminal{fd: fd, saved: *saved}, true, nil
}

// Restore puts the terminal back as it was. It is safe to call more than
// once, and after the terminal has gone (a hang-up).
func (t *Terminal) Restore() {
	if t != nil {
		_ = unix.IoctlSetTermios(t.fd, unix.TCSETS, &t.saved)
	}
}

// EscapeReader passes keys through to the guest and reads the escape
// sequence out of them: after EscapeKey, QuitKey calls quit and ends the
// stream, EscapeKey sends one EscapeKey, and any other key is dropped with
// the escape.
type EscapeReader struct {
	r       io.Reader
	quit    func()
	escaped bool
	done    bool
	buf     [256]byte
}

// NewEscapeReader reads keys from r; quit is called once, on Ctrl-A x.
func NewEscapeReader(r io.Reader, quit func()) *EscapeReader {
	return &EscapeReader{r: r, quit: quit}
}

// Read implements io.Reader.
func (e *EscapeReader) Read(p []byte) (int, error) {
	for !e.done {
		n, err := e.r.Read(e.buf[:min(len(p), len(e.buf))])
		out := e.filter(e.buf[:n], p)
		if out > 0 || err != nil {
			return out, err
		}
	}
	return 0, io.EOF
}

// filter copies the keys of in that go to the guest into p.
func (e *EscapeReader) filter(in, p []byte) int {
	out := 0
	for _, c := range in {
		switch {
		case e.done:
			return out
		case e.escaped:
			e.escaped = false
			if c == EscapeKey {
				p[out] = c
				out++
			} else if c == QuitKey {
				e.done = true
				e.quit()
			}
		case c == EscapeKey:
			e.escaped = true
		default:
			p[out] = c
			out++
		}
	}
	return out
}
