package transport

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/transport/smtptest"
)

func lmtpData(rcpt string, _ []byte) string {
	if strings.HasPrefix(rcpt, "full") {
		return "452 4.2.2 mailbox full"
	}
	return "250 2.0.0 <" + rcpt + "> delivered"
}

func TestLMTPSocket(t *testing.T) {
	dir := tempDir(t)
	sock := filepath.Join(dir, "lmtp.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(sock, 0o777)
	srv := &smtptest.Server{LMTP: true, Rcpt: perRcpt, Data: lmtpData}
	srv.Serve(ln)
	defer srv.Close()
	tr := newTransport(t, "t:\n  driver = lmtp\n  socket = "+sock+"\n  batch_max = 10\n", "t")
	rs := deliver(t, tr, newDelivery(t, "Subject: x\n\nb\n", "ok@test.example", "full@test.example", "rej@test.example"))
	if rs[0].Status != OK || rs[0].Confirmation != "250 2.0.0 <ok@test.example> delivered" {
		t.Errorf("%+v", rs[0])
	}
	if rs[1].Status != Defer || rs[1].Message != "LMTP error after end of data: 452 4.2.2 mailbox full" {
		t.Errorf("%+v", rs[1])
	}
	if rs[2].Status != Fail || rs[2].Message != "LMTP error after RCPT TO:<rej@test.example>: 550 5.1.1 no such user" {
		t.Errorf("%+v", rs[2])
	}
	if log := strings.Join(srv.Log(), "\n"); !strings.HasPrefix(log, "LHLO test.example\n") {
		t.Errorf("%s", log)
	}
}

// TestLMTPCommand runs this test binary as the LMTP command: with
// EXIGO_LMTP_SERVER set, TestMain serves LMTP on stdin and stdout.
func TestLMTPCommand(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	if os.Geteuid() == 0 {
		// Run a copy that the delivery user can reach.
		data, err := os.ReadFile(exe)
		if err != nil {
			t.Skip(err)
		}
		exe = filepath.Join(tempDir(t), "lmtpd")
		os.WriteFile(exe, data, 0o755)
	}
	tr := newTransport(t, "t:\n  driver = lmtp\n  command = /usr/bin/env EXIGO_LMTP_SERVER=1 "+exe+"\n", "t")
	d := newDelivery(t, "Subject: x\n\nb\n", "ok@test.example")
	r := deliver(t, tr, d)[0]
	if r.Status != OK || r.Confirmation != "250 2.0.0 <ok@test.example> delivered" {
		t.Errorf("%+v", r)
	}
}

func TestMain(m *testing.M) {
	if os.Getenv("EXIGO_LMTP_SERVER") != "" {
		srv := &smtptest.Server{LMTP: true, Data: lmtpData}
		srv.ServeConn(os.Stdin, os.Stdout)
		os.Exit(0)
	}
	os.Exit(m.Run())
}
