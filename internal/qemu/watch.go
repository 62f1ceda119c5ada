package qemu

import (
	"bytes"
	"sync"
	"time"
)

// Watch is a console writer that notes when a line containing Marker first
// appears, to time boots from outside the machine.
type Watch struct {
	Marker []byte
	Start  time.Time

	mu    sync.Mutex
	buf   []byte
	Found time.Duration // zero until the marker appeared
}

// Write implements io.Writer.
func (w *Watch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.Found == 0 {
		w.buf = append(w.buf, p...)
		if bytes.Contains(w.buf, w.Marker) {
			w.Found = time.Since(w.Start)
			w.buf = nil
		} else if len(w.buf) > len(w.Marker) {
			w.buf = w.buf[len(w.buf)-len(w.Marker):]
		}
	}
	return len(p), nil
}

// Elapsed returns when the marker appeared, if it did.
func (w *Watch) Elapsed() (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.Found, w.Found != 0
}
