// Package smtptest is a small scriptable SMTP and LMTP server on
// 127.0.0.1 for testing SMTP clients: it advertises the extensions a test
// asks for, answers each recipient as a function decides, and records
// the session.
package smtptest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a test SMTP server. Set the fields before Start.
type Server struct {
	// Pipelining, Chunking, DSN and Size are advertised when set.
	Pipelining, Chunking, DSN, Size bool
	// TLS, when set, advertises STARTTLS with this configuration.
	TLS *tls.Config
	// AuthPlain advertises AUTH PLAIN and accepts User/Pass; CRAM
	// advertises CRAM-MD5 with the same credentials.
	AuthPlain, CRAM bool
	User, Pass      string
	// LMTP makes the server speak LMTP (LHLO, one reply per recipient
	// after the data).
	LMTP bool
	// Banner replaces the "220" greeting when set (e.g. "554 go away").
	Banner string
	// NoEHLO rejects EHLO so that the client falls back to HELO.
	NoEHLO bool
	// Mail answers MAIL FROM (default "250 OK").
	Mail func(from string) string
	// Rcpt answers RCPT TO (default "250 Accepted").
	Rcpt func(to string) string
	// Data answers the end of data (default "250 OK id=1abc-000001-AB");
	// for LMTP it is asked once per accepted recipient.
	Data func(rcpt string, msg []byte) string
	// Envelope, when set, answers the end of an SMTP (not LMTP) data
	// phase instead of Data, given the address of the MAIL command and
	// the recipients accepted.
	Envelope func(from string, rcpts []string, msg []byte) string

	ln net.Listener
	mu sync.Mutex
	// Sessions holds the transcripts of finished and running sessions.
	log      []string
	messages [][]byte
	wg       sync.WaitGroup
}

// Start listens on 127.0.0.1 (tcp) and serves until Close.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve serves on ln (tcp or unix) until Close.
func (s *Server) Serve(ln net.Listener) error {
	s.ln = ln
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.ServeConn(c, c)
				c.Close()
			}()
		}
	}()
	return nil
}

// Port is the port the server listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Close stops the server and waits for its sessions.
func (s *Server) Close() {
	s.ln.Close()
	s.wg.Wait()
}

// Log returns the commands received so far, one per line.
func (s *Server) Log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// Messages returns the message data received, dot-unstuffed, with CRLF.
func (s *Server) Messages() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.messages...)
}

func (s *Server) record(line string) {
	s.mu.Lock()
	s.log = append(s.log, line)
	s.mu.Unlock()
}

// ServeConn runs one session reading r and writing w (a network
// connection, or a command's standard input and output for LMTP).
func (s *Server) ServeConn(r io.Reader, w io.Writer) {
	br := bufio.NewReader(r)
	bw := bufio.NewWriter(w)
	reply := func(lines ...string) {
		for _, l := range lines {
			bw.WriteString(l + "\r\n")
		}
		bw.Flush()
	}
	if s.Banner != "" {
		reply(s.Banner)
		return
	}
	reply("220 test.server ESMTP")
	var rcpts []string
	from := ""
	inTLS := false
	mailOK := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		s.record(line)
		verb := strings.ToUpper(line)
		if i := strings.IndexByte(verb, ' '); i >= 0 {
			verb = verb[:i]
		}
		switch verb {
		case "EHLO", "LHLO":
			if s.NoEHLO && verb == "EHLO" {
				reply("500 unrecognized command")
				continue
			}
			ext := []string{"test.server hello"}
			if s.Size {
				ext = append(ext, "SIZE 52428800")
			}
			ext = append(ext, "8BITMIME")
			if s.Pipelining {
				ext = append(ext, "PIPELINING")
			}
			if s.Chunking {
				ext = append(ext, "CHUNKING")
			}
			if s.DSN {
				ext = append(ext, "DSN")
			}
			if s.TLS != nil && !inTLS {
				ext = append(ext, "STARTTLS")
			}
			var mech []string
			if s.AuthPlain {
				mech = append(mech, "PLAIN")
			}
			if s.CRAM {
				mech = append(mech, "CRAM-MD5")
			}
			if len(mech) > 0 {
				ext = append(ext, "AUTH "+strings.Join(mech, " "))
			}
			ext = append(ext, "HELP")
			var out []string
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				out = append(out, "250"+sep+e)
			}
			reply(out...)
		case "HELO":
			reply("250 test.server")
		case "STARTTLS":
			if s.TLS == nil {
				reply("502 no")
				continue
			}
			reply("220 go ahead")
			c, ok := w.(net.Conn)
			if !ok {
				return
			}
			tc := tls.Server(c, s.TLS)
			if err := tc.Handshake(); err != nil {
				return
			}
			br, bw = bufio.NewReader(tc), bufio.NewWriter(tc)
			w = tc
			inTLS = true
		case "AUTH":
			reply(s.auth(line, br, bw))
		case "MAIL":
			rcpts = nil
			from = between(line, '<', '>')
			ans := "250 OK"
			if s.Mail != nil {
				ans = s.Mail(line)
			}
			mailOK = strings.HasPrefix(ans, "2")
			reply(ans)
		case "RCPT":
			to := between(line, '<', '>')
			ans := "250 Accepted"
			if s.Rcpt != nil {
				ans = s.Rcpt(to)
			}
			if !mailOK {
				ans = "503 sender not yet given"
			}
			if strings.HasPrefix(ans, "2") {
				rcpts = append(rcpts, to)
			}
			reply(ans)
		case "DATA":
			if len(rcpts) == 0 {
				reply("503 no valid recipients")
				continue
			}
			reply("354 Enter message")
			msg := readDot(br)
			s.finish(from, msg, rcpts, reply)
		case "BDAT":
			f := strings.Fields(line)
			n, _ := strconv.Atoi(f[1])
			buf := make([]byte, n)
			io.ReadFull(br, buf)
			if len(rcpts) == 0 {
				reply("503 no valid recipients")
				continue
			}
			if s.LMTP {
				reply(fmt.Sprintf("250- %d byte chunk, total %d", n, n))
				s.finish(from, buf, rcpts, func(l ...string) { reply(l...) })
				continue
			}
			// A success is said after the chunk's own line, as Exim's
			// server says it; a failure alone.
			var ans []string
			s.finish(from, buf, rcpts, func(l ...string) { ans = append(ans, l...) })
			if len(ans) > 0 && strings.HasPrefix(ans[0], "2") {
				ans = append([]string{fmt.Sprintf("250- %d byte chunk, total %d", n, n)}, ans...)
			}
			reply(ans...)
		case "RSET":
			rcpts = nil
			reply("250 Reset OK")
		case "QUIT":
			reply("221 bye")
			if tc, ok := w.(*tls.Conn); ok {
				// A well-behaved server ends TLS with close_notify.
				tc.Close()
			}
			return
		default:
			reply("500 unrecognized command")
		}
	}
}

func (s *Server) finish(from string, msg []byte, rcpts []string, reply func(...string)) {
	s.mu.Lock()
	s.messages = append(s.messages, msg)
	s.mu.Unlock()
	if s.LMTP {
		for _, r := range rcpts {
			ans := "250 OK delivered"
			if s.Data != nil {
				ans = s.Data(r, msg)
			}
			reply(ans)
		}
		return
	}
	ans := "250 OK id=1abc-000001-AB"
	if s.Envelope != nil {
		ans = s.Envelope(from, rcpts, msg)
	} else if s.Data != nil {
		ans = s.Data("", msg)
	}
	reply(ans)
}

func (s *Server) auth(line string, br *bufio.Reader, bw *bufio.Writer) string {
	f := strings.Fields(line)
	if len(f) < 2 {
		return "501 syntax"
	}
	switch strings.ToUpper(f[1]) {
	case "PLAIN":
		var data string
		if len(f) > 2 {
			data = f[2]
		} else {
			bw.WriteString("334 \r\n")
			bw.Flush()
			l, _ := br.ReadString('\n')
			data = strings.TrimSpace(l)
		}
		dec, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			return "501 bad base64"
		}
		parts := strings.Split(string(dec), "\x00")
		if len(parts) == 3 && parts[1] == s.User && parts[2] == s.Pass {
			return "235 Authentication succeeded"
		}
		return "535 Incorrect authentication data"
	case "CRAM-MD5":
		chal := "<1896.697170952@test.server>"
		bw.WriteString("334 " + base64.StdEncoding.EncodeToString([]byte(chal)) + "\r\n")
		bw.Flush()
		l, _ := br.ReadString('\n')
		dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(l))
		if err != nil {
			return "501 bad base64"
		}
		m := hmac.New(md5.New, []byte(s.Pass))
		m.Write([]byte(chal))
		if string(dec) == s.User+" "+hex.EncodeToString(m.Sum(nil)) {
			return "235 Authentication succeeded"
		}
		return "535 Incorrect authentication data"
	}
	return "504 unknown mechanism"
}

func between(s string, a, b byte) string {
	i := strings.IndexByte(s, a)
	j := strings.LastIndexByte(s, b)
	if i < 0 || j < i {
		return s
	}
	return s[i+1 : j]
}

// readDot reads a dot-terminated block and undoes dot-stuffing; lines
// keep their CRLF.
func readDot(br *bufio.Reader) []byte {
	var out []byte
	for {
		l, err := br.ReadString('\n')
		if err != nil || l == ".\r\n" {
			return out
		}
		l = strings.TrimPrefix(l, ".")
		out = append(out, l...)
	}
}

// SelfSigned makes a self-signed ECDSA P-256 certificate for name (a
// host name, or an IP address), valid for an hour either side of now,
// for a test server's TLS configuration.
func SelfSigned(name string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generating a key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{name}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("making a certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
