package smtpserver

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Cases observed with Exim 4.96 (see ident.go); the query was about
// client port 4321 and server port 25.
func TestParseIdentReply(t *testing.T) {
	tests := []struct {
		reply string
		want  string
		ok    bool
	}{
		{"4321 , 25 : USERID : UNIX : alice\r\n", "alice", true},
		{"4321,25:USERID:UNIX:tight\r\n", "tight", true},
		{"  4321  ,  25  :  USERID  :  UNIX  :  bob\r\n", "bob", true},
		{"+4321 , 25 : USERID : UNIX : plus\r\n", "plus", true},
		{"04321 , 025 : USERID : UNIX : zeros\r\n", "zeros", true},
		{"4321 , 25 : USERID : UNIX,US-ASCII : cs\r\n", "cs", true},
		{"4321 , 25 : USERID :: emptyos\r\n", "emptyos", true},
		{"4321 , 25 : USERID : OTHER : other\r\n", "other", true},
		{"4321 , 25 : USERID : : UNIX : extra\r\n", "UNIX : extra", true},
		{"4321 , 25 : USERID : UNIX : a:b:c\r\n", "a:b:c", true},
		{"4321 , 25 : USERID : UNIX :  bob  \r\n", "bob  ", true},
		{"4321 , 25 : USERID : UNIX :\t\v\fvt\r\n", "vt", true},
		{"4321 , 25 : USERID : UNIX : mid\rcr\r\n", "mid\rcr", true},
		{"4321 , 25 : USERID : UNIX : x\r\r\n", "x\r", true},
		{"4321 , 25 : USERID : UNIX : bare-lf\nmore\r\n", "bare-lf", true},
		{"4321 , 25 : USERID : UNIX : first\r\n4321 , 25 : USERID : UNIX : second\r\n", "first", true},
		{"4321 , 25 : USERID : UNIX : " + strings.Repeat("x", 126) + "AB\r\n", strings.Repeat("x", 126) + "A", true},
		{"4321 , 25 : USERID : UNIX : ok\r\n\x00", "ok", true},
		{"4321 , 25 : ERROR : NO-USER\r\n", "", false},
		{"garbage\r\n", "", false},
		{"", "", false},
		{"4321 , 25 : USERID : UNIX : noeol", "", false},
		{"4321 , 25 : USERID : UNIX : cronly\r", "", false},
		{"1 , 2 : USERID : UNIX : wrongports\r\n", "", false},
		{"4321x , 25 : USERID : UNIX : junk\r\n", "", false},
		{"4321 , 25x : USERID : UNIX : junk\r\n", "", false},
		{"4321 , 25 , 7 : USERID : UNIX : three\r\n", "", false},
		{"-0 , 25 : USERID : UNIX : neg\r\n", "", false},
		{"4321 , 25 USERID : UNIX : nocolon\r\n", "", false},
		{"4321 , 25 : userid : UNIX : lower\r\n", "", false},
		{"4321 , 25 : USERIDX : UNIX : idx\r\n", "", false},
		{"4321 , 25 : USERID : UNIX\r\n", "", false},
		{"4321 , 25 : USERID : UNIX :    \r\n", "", false},
		{"4321 , 25 : USERID : UNIX : \r\n", "", false},
		{"4321 , 25 : USERID : UNIX : a\x00b\r\n", "", false},
		{"\r\n4321 , 25 : USERID : UNIX : afterblank\r\n", "", false},
		{"99999999999999999999 , 25 : USERID : UNIX : huge\r\n", "", false},
	}
	for _, tt := range tests {
		got, ok := ParseIdentReply([]byte(tt.reply), 4321, 25)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseIdentReply(%q) = %q, %v; want %q, %v", tt.reply, got, ok, tt.want, tt.ok)
		}
	}
}

func TestIdentPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice", "alice"},
		{"a\x01b\x7fc\xe9d\tz", `a\001b\177c\351d` + "\tz"},
		{"a\bb\vc\fd\x1be\tf\x1fg\x80h\xffi", `a\bb\vc\fd\033e` + "\t" + `f\037g\200h\377i`},
		{"a\x07b", `a\007b`},
		{"mid\rcr", `mid\rcr`},
		{"\xc3\xa9t\xc3\xa9", `\303\251t\303\251`},
		{`a"b'c<d>e@f\g`, `a"b'c<d>e@f\g`},
	}
	for _, tt := range tests {
		if got := identPrintable(tt.in); got != tt.want {
			t.Errorf("identPrintable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// fakeIdentd serves one reply on a loopback port and returns the
// address; hold keeps each connection open that long afterwards.
func fakeIdentd(t *testing.T, reply string, hold time.Duration) *net.TCPListener {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 100)
				c.Read(buf)
				c.Write([]byte(reply))
				time.Sleep(hold)
			}()
		}
	}()
	return ln
}

// TestIdentReadBounds checks the reply buffer: a line that fits in what
// the query leaves of 2048 bytes is read, a longer one or a silent
// server gives nothing within the timeout.
func TestIdentReadBounds(t *testing.T) {
	const q = len("4321 , 25\r\n")
	prefix := "4321 , 25 : USERID : UNIX : "
	fits := prefix + strings.Repeat("x", identBuffer-q-len(prefix)-2) + "\r\n"
	tests := []struct {
		name  string
		reply string
		hold  time.Duration
		want  string
	}{
		{"fits", fits, 0, strings.Repeat("x", identUserMax)},
		{"one-too-long", fits[:len(fits)-2] + "x\r\n", 0, ""},
		{"flood", strings.Repeat("y", 1<<20), 0, ""},
		{"silent", "", 5 * time.Second, ""},
		{"no-newline", prefix + "bob", 5 * time.Second, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln := fakeIdentd(t, tt.reply, tt.hold)
			start := time.Now()
			got, err := queryIdent(context.Background(), 300*time.Millisecond, "127.0.0.1:0", ln.Addr().String(), 4321, 25)
			if got != tt.want {
				t.Errorf("got %q (%v), want %q", got, err, tt.want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestLookupIdentRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	got, err := queryIdent(context.Background(), time.Second, "127.0.0.1:0", addr, 4321, 25)
	if got != "" || err == nil {
		t.Errorf("got %q, %v; want an error", got, err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Errorf("error %v is not a network error", err)
	}
}

func FuzzParseIdentReply(f *testing.F) {
	for _, s := range []string{
		"4321 , 25 : USERID : UNIX : alice\r\n",
		"4321 , 25 : ERROR : NO-USER\r\n",
		"4321,25:USERID:UNIX,US-ASCII:\t  b o\x01\x7f\xe9\b\r\t:x  \r\n",
		"+04321 , 25 : USERID :: a:b:c\n",
		"garbage",
	} {
		f.Add([]byte(s), 4321, 25)
	}
	f.Fuzz(func(t *testing.T, reply []byte, cp, sp int) {
		user, ok := ParseIdentReply(reply, cp, sp)
		if !ok {
			if user != "" {
				t.Fatalf("no identity but user %q", user)
			}
			return
		}
		if user == "" || len(user) > identUserMax {
			t.Fatalf("user %q of length %d", user, len(user))
		}
		if strings.ContainsAny(user, "\n\x00") {
			t.Fatalf("user %q holds a newline or NUL", user)
		}
		nl := bytes.IndexByte(reply, '\n')
		if !bytes.Contains(reply[:nl], []byte(user)) || !bytes.Contains(reply[:nl], []byte("USERID")) {
			t.Fatalf("user %q is not from the first line of %q", user, reply)
		}
		p := identPrintable(user)
		if !utf8.ValidString(p) || strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 && r != '\t' || r >= 0x7f }) {
			t.Fatalf("identPrintable(%q) = %q is not printable", user, p)
		}
	})
}
