// Package strerror gives the C library's text for an error, as Exim
// prints it after a failed system call ("Permission denied", "No such
// file or directory"). Go's texts for errno values are the C library's
// words with a lower-case first letter.
package strerror

import (
	"errors"
	"io/fs"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// Text is strerror(errno) for the errno inside err. An error without an
// errno gives "No such file or directory" when it says a file does not
// exist, else its own text (the underlying error's, for an
// *fs.PathError) with a capital first letter.
func Text(err error) string {
	if err == nil {
		return ""
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return capital(errno.Error())
	}
	if errors.Is(err, fs.ErrNotExist) {
		return capital(syscall.ENOENT.Error())
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return capital(err.Error())
}

// Errno is the errno inside err, 0 when there is none.
func Errno(err error) int {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return int(errno)
	}
	return 0
}

func capital(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || !unicode.IsLower(r) {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
