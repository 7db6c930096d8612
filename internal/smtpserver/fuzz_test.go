package smtpserver

import (
	"context"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/message"
)

const fuzzConf = `primary_hostname = test.example
acl_smtp_rcpt = ok
message_size_limit = 4K
smtp_max_synprot_errors = 1000
smtp_max_unknown_commands = 1000
smtp_accept_max_nonmail = 1000
begin acl
ok:
  accept
`

type nullReceiver struct{}

func (nullReceiver) Receive(_ context.Context, env *Envelope, _ message.Headers, _ []byte) (string, error) {
	return env.ID, nil
}

func fuzzServer(t testing.TB) *Server {
	cfg, err := config.LoadBytes("fuzz.conf", []byte(fuzzConf), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &Server{
		Config: cfg, ACL: acl.New(cfg), Receiver: nullReceiver{},
		Vars: expand.VarMap{"primary_hostname": "test.example", "smtp_active_hostname": "test.example", "version_number": "4.96"},
	}
}

// FuzzCommand feeds command lines to the parser.
func FuzzCommand(f *testing.F) {
	for _, s := range []string{"HELO x", "MAIL FROM:<a@b> SIZE=1", "rcpt to: <a@b>", "DATA", "BDAT 10 LAST", "quit"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		name, arg, ok := ParseCommand(line)
		if ok && (name == "" || len(arg) > len(line)) {
			t.Fatalf("ParseCommand(%q) = %q, %q", line, name, arg)
		}
	})
}

// FuzzSession feeds random input to a whole session over a net.Pipe, as
// chasquid's FuzzConnection does; the session must neither panic nor
// hang.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n",
		"HELO a\r\nMAIL FROM:<a@b> SIZE=1 BODY=8BITMIME\r\nRCPT TO:<c@d> NOTIFY=NEVER\r\nRSET\r\nVRFY a\r\nQUIT\r\n",
		"EHLO a\r\nMAIL FROM:<>\r\nRCPT TO:<c@d>\r\nBDAT 5 LAST\r\nhello",
		"EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n\n.\nMAIL\r\n",
	} {
		f.Add(s)
	}
	srv := fuzzServer(f)
	f.Fuzz(func(t *testing.T, in string) {
		client, server := net.Pipe()
		done := make(chan error, 1)
		go func() {
			done <- srv.Serve(context.Background(), server, server, Peer{Addr: netip.MustParseAddr("10.0.0.1"), Port: 1234})
			server.Close()
		}()
		go io.Copy(io.Discard, client)
		client.SetWriteDeadline(time.Now().Add(2 * time.Second))
		client.Write([]byte(in))
		client.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("session did not end")
		}
	})
}
