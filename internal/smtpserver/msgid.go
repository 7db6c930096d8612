package smtpserver

import (
	"os"
	"strings"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func b62(n int64, width int) string {
	b := make([]byte, width)
	for i := width - 1; i >= 0; i-- {
		b[i] = base62[n%62]
		n /= 62
	}
	return string(b)
}

// newMessageID returns a message id in Exim 4.96's shape: the time in
// base 62 (6 digits), the process id (6) and the fraction of a second
// (2), e.g. 1xWrPA-0006l8-0D.
func (s *session) newMessageID() string {
	if src, ok := s.srv.Receiver.(IDSource); ok {
		return src.NewID()
	}
	now := s.srv.now()
	var b strings.Builder
	b.WriteString(b62(now.Unix(), 6))
	b.WriteByte('-')
	b.WriteString(b62(int64(os.Getpid()), 6))
	b.WriteByte('-')
	b.WriteString(b62(int64(now.Nanosecond()/1000/500)%3844, 2))
	return b.String()
}
