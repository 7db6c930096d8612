package dkim

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
)

// sink is a minimal SMTP server on 127.0.0.1 that keeps each message's
// DATA (dot-unstuffed, CRLF kept) under its first recipient.
type sink struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs map[string]string
}

func startSink(t *testing.T) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{ln: ln, msgs: map[string]string{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *sink) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *sink) get(rcpt string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.msgs[rcpt]
}

func (s *sink) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	reply := func(l string) { w.WriteString(l + "\r\n"); w.Flush() }
	reply("220 sink ESMTP")
	var rcpt string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "RCPT TO:"):
			if rcpt == "" {
				a := strings.TrimSpace(line[8:])
				rcpt = strings.ToLower(strings.Trim(strings.Fields(a)[0], "<>"))
			}
			reply("250 OK")
		case cmd == "DATA":
			reply("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			s.mu.Lock()
			s.msgs[rcpt] = b.String()
			s.mu.Unlock()
			rcpt = ""
			reply("250 OK")
		case cmd == "QUIT":
			reply("221 bye")
			return
		default:
			reply("250 OK")
		}
	}
}
