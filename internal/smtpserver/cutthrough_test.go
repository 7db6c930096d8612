package smtpserver

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/cutthrough"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/transport/smtptest"
)

// lineLog keeps the log lines written.
type lineLog struct{ lines []string }

func (l *lineLog) Write(text string, _ ...mainlog.Which) error {
	l.lines = append(l.lines, text)
	return nil
}

// TestCutthroughSession checks the session's side of cutthrough
// delivery against a scripted destination (the comparison with Exim is
// in package cutthrough).
func TestCutthroughSession(t *testing.T) {
	dest := &smtptest.Server{}
	dest.Rcpt = func(to string) string {
		switch {
		case strings.HasPrefix(to, "rej"):
			return "550 no such user"
		case strings.HasPrefix(to, "tmp"):
			return "451 try later"
		}
		return "250 Accepted"
	}
	dest.Data = func(_ string, msg []byte) string {
		if bytes.Contains(msg, []byte("DATA5")) {
			return "550 content rejected"
		}
		return "250 OK id=remote"
	}
	if err := dest.Start(); err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	for _, tc := range []struct {
		name, control, rcpt, body string
		wantReply, wantLog        string
		received, marked          int
	}{
		{"accept", "cutthrough_delivery", "b@dest.example", "hi", "250 OK id=", `>> b@dest.example R=out T=remote H=mx [127.0.0.1] C="250 OK id=remote"`, 1, 1},
		{"rcpt5xx", "cutthrough_delivery", "rej@dest.example", "hi", "550 Administrative prohibition", "rejected RCPT <rej@dest.example>", 0, 0},
		{"rcpt4xx", "cutthrough_delivery", "tmp@dest.example", "hi", "250 OK id=", "", 1, 0},
		{"passRcpt4xx", "cutthrough_delivery/defer=pass", "tmp@dest.example", "hi", "451 try later", "temporarily rejected RCPT <tmp@dest.example>", 0, 0},
		{"data5xx", "cutthrough_delivery", "b@dest.example", "DATA5", "550 content rejected", `b@dest.example F=<a@client.example> rejected after DATA: R=out T=remote H=mx [127.0.0.1] C="550 content rejected"`, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := "acl_smtp_rcpt = r\nbegin acl\nr:\n  accept control = " + tc.control + "\n"
			cfg, err := config.LoadBytes("ct.conf", []byte(conf), config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			rec := &recordingReceiver{}
			lg := &lineLog{}
			marked := 0
			srv := &Server{
				Config: cfg, ACL: acl.New(cfg), Receiver: rec, Log: lg,
				Vars: expand.VarMap{"primary_hostname": "test.example", "smtp_active_hostname": "test.example", "version_number": "4.96"},
				Cutthrough: &cutthrough.Manager{
					Route: func(_ map[string]string, addr string) (cutthrough.Target, bool) {
						return cutthrough.Target{Router: "out", Transport: "remote", Helo: "test.example", CommandTimeout: 5 * time.Second,
							Hosts: []cutthrough.Host{{Name: "mx", Addr: "127.0.0.1", Port: dest.Port()}}}, true
					},
					MarkDelivered: func(string, []string) error { marked++; return nil },
				},
			}
			in := "EHLO client\r\nMAIL FROM:<a@client.example>\r\nRCPT TO:<" + tc.rcpt + ">\r\nDATA\r\nSubject: x\r\n\r\n" + tc.body + "\r\n.\r\nQUIT\r\n"
			var out bytes.Buffer
			if err := srv.Serve(context.Background(), strings.NewReader(in), &out, Peer{Addr: netip.MustParseAddr("10.0.0.1")}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tc.wantReply) {
				t.Errorf("no %q in\n%s", tc.wantReply, out.String())
			}
			if log := strings.Join(lg.lines, "\n"); tc.wantLog != "" && !strings.Contains(log, tc.wantLog) {
				t.Errorf("no %q in the log:\n%s", tc.wantLog, log)
			}
			if len(rec.bodies) != tc.received || marked != tc.marked {
				t.Errorf("received %d, marked %d; want %d, %d", len(rec.bodies), marked, tc.received, tc.marked)
			}
		})
	}
}
