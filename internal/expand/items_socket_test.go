package expand_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// socketServer answers ${readsocket} requests in one of several ways,
// chosen by the listener it is started on.
type socketServer struct {
	count atomic.Int64 // connections since the last reset
	wg    sync.WaitGroup
}

// serve accepts connections on l until it is closed. Modes: "echo" reads
// to end of file and answers "got<request>\nline2\n"; "first" answers
// after the first read; "slow" answers after two seconds; "count" answers
// with the connection number.
func (s *socketServer) serve(l net.Listener, mode string) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n := s.count.Add(1)
			go s.handle(c, mode, n)
		}
	}()
}

func (s *socketServer) handle(c net.Conn, mode string, n int64) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	switch mode {
	case "echo":
		data, _ := io.ReadAll(c)
		fmt.Fprintf(c, "got<%s>\nline2\n", data)
	case "first":
		buf := make([]byte, 4096)
		k, _ := c.Read(buf)
		fmt.Fprintf(c, "first<%s>\n", buf[:k])
	case "slow":
		time.Sleep(2 * time.Second)
		io.WriteString(c, "late")
	case "count":
		io.ReadAll(c)
		fmt.Fprintf(c, "%d", n)
	case "tls":
		r := bufio.NewReader(c)
		line, _ := r.ReadString('\n')
		fmt.Fprintf(c, "tls<%s>", strings.TrimSpace(line))
	}
}

// selfSigned makes a TLS certificate for the loopback server.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestReadsocketOracle compares ${readsocket} (spec: "Expansion items")
// in exim -be and exigo -be against unix and TCP servers on loopback, and
// ${readfile} of files under testdata/diff/files.
func TestReadsocketOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	srv := &socketServer{}
	subst := map[string]string{}
	for _, mode := range []string{"echo", "first", "slow", "count"} {
		path := filepath.Join(dir, mode+".sock")
		ul, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer ul.Close()
		srv.serve(ul, mode)
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer tl.Close()
		srv.serve(tl, mode)
		subst["UNIX_"+strings.ToUpper(mode)] = path
		subst["INET_"+strings.ToUpper(mode)] = "inet:" + tl.Addr().String()
		_, port, _ := net.SplitHostPort(tl.Addr().String())
		subst["PORT_"+strings.ToUpper(mode)] = port
	}
	tlsl, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer tlsl.Close()
	srv.serve(tlsl, "tls")
	subst["INET_TLS"] = "inet:" + tlsl.Addr().String()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	subst["INET_CLOSED"] = "inet:" + closed.Addr().String()
	closed.Close()
	files, err := filepath.Abs("testdata/diff/files")
	if err != nil {
		t.Fatal(err)
	}
	subst["FILES"] = files
	subst["NOSOCK"] = filepath.Join(dir, "none.sock")

	conf, err := filepath.Abs("testdata/diff/default.conf")
	if err != nil {
		t.Fatal(err)
	}
	// Each case is one invocation; "\x00" separates strings expanded by
	// the same process. (tls=yes is tested without the oracle: Exim 4.96
	// crashes on it in -be mode.)
	cases := []string{
		"${readsocket{UNIX_ECHO}{hello}}",
		"${readsocket{UNIX_ECHO}{hello}{1s}{|}}",
		"${readsocket{UNIX_ECHO}{}}",
		"${readsocket{UNIX_ECHO}{two\\nlines}{2s}{}}",
		"${readsocket{INET_ECHO}{hi\\n}}",
		"${readsocket{INET_ECHO}{hi}{2s}{<eol>}{failed}}",
		"${readsocket{inet:[127.0.0.1]:PORT_ECHO}{hi}}",
		"${readsocket{inet:localhost:PORT_ECHO}{hi}}",
		"${readsocket {UNIX_ECHO} {spaced} {3s} {+} }",
		"${uc:${readsocket{UNIX_ECHO}{nested}}}",
		"${readsocket{UNIX_FIRST}{abc}{2s:shutdown=no}}",
		"${readsocket{INET_FIRST}{abc}{2s:shutdown=no}}",
		"${readsocket{UNIX_FIRST}{abc}{2s:shutdown=yes}}",
		"${readsocket{UNIX_ECHO}{abc}{1s:shutdown=no}}",
		"${readsocket{UNIX_SLOW}{abc}{1s}}",
		"${readsocket{UNIX_SLOW}{abc}{1s}{}{slow failed}}",
		"${readsocket{INET_SLOW}{abc}{1s}}",
		"${readsocket{UNIX_ECHO}{x}{2s:nosuchoption=1}}",
		"${readsocket{INET_ECHO}{x}{2s:tls=no}}",
		// Several strings in one process: the cache outlives one string.
		"${readsocket{UNIX_COUNT}{a}{2s:cache=yes}}\x00${readsocket{UNIX_COUNT}{a}{2s:cache=yes}}\x00${readsocket{UNIX_COUNT}{b}{2s:cache=yes}}\x00${readsocket{UNIX_COUNT}{a}{2s}}\x00${readsocket{UNIX_COUNT}{a}{2s:cache=yes}}",
		"${readsocket{UNIX_COUNT}{a}{2s:cache=yes}}-${readsocket{UNIX_COUNT}{a}{2s:cache=yes}}",
		"${readsocket{NOSOCK}{x}}",
		"${readsocket{NOSOCK}{x}{1s}{}{no socket $value}}",
		"${readsocket{NOSOCK}{x}{1s}{}{}}<end>",
		"${readsocket{FILES}{x}}",
		"${readsocket{INET_CLOSED}{x}}",
		"${readsocket{INET_CLOSED}{x}{1s}{}{refused}}",
		"${readsocket{inet:127.0.0.1}{x}}",
		"${readsocket{inet:127.0.0.1}{x}{1s}{}{no port}}",
		"${readsocket{inet:127.0.0.1:nosuchservice}{x}}",
		"${readsocket{UNIX_ECHO}}",
		"${readsocket{UNIX_ECHO}{a}{1s}{}{f}{extra}}",
		"${readsocket{UNIX_ECHO}{a}x}",
		"${readsocket{NOSOCK}{a}x}",
		"${readsocket{UNIX_ECHO}{a}",
		"${readfile{FILES/xitems-lines.txt}}",
		"${readfile{FILES/xitems-lines.txt}{ | }}",
		"${readfile{FILES/xitems-lines.txt}{}}",
		"${readfile{FILES/xitems-nonl.txt}{X}}<end>",
		"${readfile{FILES/xitems-none.txt}}",
		"${readfile{FILES}}<dir>",
	}
	for _, c := range cases {
		for k, v := range subst {
			c = strings.ReplaceAll(c, k, v)
		}
		args := append([]string{"-C", conf, "-be"}, strings.Split(c, "\x00")...)
		srv.count.Store(0)
		want := oracletest.Run(t, exim, "", args...)
		srv.count.Store(0)
		got := oracletest.Run(t, exigo, "", args...)
		if want.Stdout != got.Stdout {
			t.Errorf("%q\n exim:  %q\n exigo: %q\n exim stderr: %q", c, want.Stdout, got.Stdout, want.Stderr)
		}
	}
}
