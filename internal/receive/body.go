package receive

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// DefaultMemoryThreshold is how much of a body Body keeps in memory before
// it moves the body to a temporary file.
const DefaultMemoryThreshold = 1 << 20

// Body holds a message body with LF line endings: in memory while small,
// in an unlinked-on-Close temporary file past the threshold, so a 50 MB
// message does not sit in memory. The zero value is an empty in-memory
// body with the default threshold.
type Body struct {
	mem       []byte
	file      *os.File
	size      int64
	threshold int64
	dir       string
}

// NewBody returns an empty body that spills to a temporary file in dir
// ("" for os.TempDir) once it holds more than threshold bytes (0 for
// DefaultMemoryThreshold).
func NewBody(dir string, threshold int64) *Body {
	if threshold <= 0 {
		threshold = DefaultMemoryThreshold
	}
	return &Body{dir: dir, threshold: threshold}
}

// Write appends p to the body.
func (b *Body) Write(p []byte) (int, error) {
	if b.threshold == 0 {
		b.threshold = DefaultMemoryThreshold
	}
	if b.file == nil && int64(len(b.mem)+len(p)) > b.threshold {
		f, err := os.CreateTemp(b.dir, "exigo-body-")
		if err != nil {
			return 0, fmt.Errorf("spooling message body: %w", err)
		}
		if _, err := f.Write(b.mem); err != nil {
			f.Close()
			os.Remove(f.Name())
			return 0, fmt.Errorf("spooling message body: %w", err)
		}
		b.file, b.mem = f, nil
	}
	if b.file != nil {
		n, err := b.file.Write(p)
		b.size += int64(n)
		if err != nil {
			return n, fmt.Errorf("spooling message body: %w", err)
		}
		return n, nil
	}
	b.mem = append(b.mem, p...)
	b.size += int64(len(p))
	return len(p), nil
}

// Size returns the number of bytes in the body.
func (b *Body) Size() int64 { return b.size }

// InFile reports whether the body has moved to a temporary file.
func (b *Body) InFile() bool { return b.file != nil }

// Reader returns a reader over the whole body from its start.
func (b *Body) Reader() io.Reader {
	if b.file != nil {
		return io.NewSectionReader(b.file, 0, b.size)
	}
	return bytes.NewReader(b.mem)
}

// Bytes reads the whole body into memory (for tests and small bodies).
func (b *Body) Bytes() ([]byte, error) {
	if b.file == nil {
		return b.mem, nil
	}
	return io.ReadAll(b.Reader())
}

// Slice returns n bytes of the body from offset off (fewer at the end).
func (b *Body) Slice(off, n int64) ([]byte, error) {
	if off < 0 {
		n += off
		off = 0
	}
	if off > b.size || n <= 0 {
		return nil, nil
	}
	if off+n > b.size {
		n = b.size - off
	}
	if b.file == nil {
		return b.mem[off : off+n], nil
	}
	buf := make([]byte, n)
	if _, err := b.file.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading spooled body: %w", err)
	}
	return buf, nil
}

// Close releases the body, removing its temporary file.
func (b *Body) Close() error {
	if b.file == nil {
		b.mem = nil
		return nil
	}
	name := b.file.Name()
	err := b.file.Close()
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	b.file = nil
	return err
}
