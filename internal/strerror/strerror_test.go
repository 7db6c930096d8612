package strerror

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"testing"
)

func TestText(t *testing.T) {
	_, openErr := os.Open("/nonexistent/x")
	cases := []struct {
		err   error
		want  string
		errno int
	}{
		{syscall.EACCES, "Permission denied", 13},
		{syscall.ENOENT, "No such file or directory", 2},
		{syscall.ENOSPC, "No space left on device", 28},
		{openErr, "No such file or directory", 2},
		{fmt.Errorf("creating: %w", &fs.PathError{Op: "mkdir", Path: "/a", Err: syscall.EACCES}), "Permission denied", 13},
		{errors.New("lock timed out"), "Lock timed out", 0},
		{&fs.PathError{Op: "open", Path: "/a", Err: errors.New("bad thing")}, "Bad thing", 0},
		{errors.New(""), "", 0},
		{fmt.Errorf("reading: %w", fs.ErrNotExist), "No such file or directory", 0},
		{nil, "", 0},
	}
	for _, c := range cases {
		if got := Text(c.err); got != c.want {
			t.Errorf("Text(%v) = %q, want %q", c.err, got, c.want)
		}
		if got := Errno(c.err); got != c.errno {
			t.Errorf("Errno(%v) = %d, want %d", c.err, got, c.errno)
		}
	}
}
