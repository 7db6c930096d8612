package smtpserver

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/message"
)

// reasonReceiver keeps the QueueReason of each message it is given.
type reasonReceiver struct{ reasons []string }

func (r *reasonReceiver) Receive(_ context.Context, env *Envelope, _ message.Headers, _ []byte) (string, error) {
	r.reasons = append(r.reasons, env.QueueReason)
	return env.ID, nil
}

// loads returns a load reader giving the values in turn (the last one
// from then on), and counts its calls.
func loads(calls *int, values ...int) func() (int, error) {
	return func() (int, error) {
		i := min(*calls, len(values)-1)
		*calls++
		return values[i], nil
	}
}

func loadServer(t *testing.T, main string) *Server {
	t.Helper()
	cfg, err := config.LoadBytes("load.conf", []byte("primary_hostname = test.example\nacl_smtp_rcpt = ok\n"+main+"begin acl\nok:\n  accept\n"), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &Server{
		Config: cfg, ACL: acl.New(cfg),
		Vars: expand.VarMap{"primary_hostname": "test.example", "smtp_active_hostname": "test.example", "version_number": "4.96"},
	}
}

// TestQueueOnlyLoad checks queue_only_load over three messages of one
// session while the load goes up and down again: with the latch (the
// default) the first message queued for the load keeps the rest queued
// with the same reason; without it each message reads the load.
func TestQueueOnlyLoad(t *testing.T) {
	const msg = "MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\n"
	for _, tc := range []struct {
		name, conf string
		values     []int
		want       []string
		calls      int
	}{
		{"unset", "", []int{5000}, []string{"", "", ""}, 0},
		{"below", "queue_only_load = 9999\n", []int{5000}, []string{"", "", ""}, 3},
		{"equal", "queue_only_load = 1.5\n", []int{1500}, []string{"", "", ""}, 3},
		{"latch", "queue_only_load = 1\n", []int{500, 2000, 500},
			[]string{"", "load average 2.00", "load average 2.00"}, 2},
		{"nolatch", "queue_only_load = 1\nno_queue_only_load_latch\n", []int{500, 2000, 500},
			[]string{"", "load average 2.00", ""}, 3},
		// The load comes before smtp_accept_queue_per_connection
		// (observed with Exim 4.96).
		{"perconn", "queue_only_load = 1\nsmtp_accept_queue_per_connection = 1\n", []int{500, 1234, 500},
			[]string{"", "load average 1.23", "load average 1.23"}, 2},
		{"perconn-below", "queue_only_load = 1\nsmtp_accept_queue_per_connection = 1\nno_queue_only_load_latch\n", []int{500},
			[]string{"", "more than 1 messages received in one connection", "more than 1 messages received in one connection"}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := loadServer(t, tc.conf)
			rec := &reasonReceiver{}
			srv.Receiver = rec
			calls := 0
			srv.Load = loads(&calls, tc.values...)
			in := "EHLO client\r\n" + msg + msg + msg + "QUIT\r\n"
			var out bytes.Buffer
			if err := srv.Serve(context.Background(), strings.NewReader(in), &out, Peer{Addr: netip.MustParseAddr("10.0.0.1")}); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(rec.reasons, "|"); got != strings.Join(tc.want, "|") {
				t.Errorf("reasons %q, want %q\n%s", rec.reasons, tc.want, out.String())
			}
			if calls != tc.calls {
				t.Errorf("load read %d times, want %d", calls, tc.calls)
			}
		})
	}
}

// TestSMTPLoadReserve checks smtp_load_reserve on connections the
// daemon would hand over (a net.Conn from a remote host): above the
// load only smtp_reserve_hosts are served.
func TestSMTPLoadReserve(t *testing.T) {
	for _, tc := range []struct {
		name, conf, peer string
		load             int
		local            bool
		want, log        string
	}{
		{"refused", "smtp_load_reserve = 1\nsmtp_reserve_hosts = 10.0.0.1\n", "10.0.0.2", 1500, false,
			"421 test.example: Too much load; please try again later\r\n",
			"temporarily refused connection from [10.0.0.2]: not in reserve list and load average = 1.50"},
		{"reserved", "smtp_load_reserve = 1\nsmtp_reserve_hosts = 10.0.0.1\n", "10.0.0.1", 1500, false, "220 ", ""},
		// Without smtp_reserve_hosts, the daemon's own refusal.
		{"no reserve list", "smtp_load_reserve = 0\n", "10.0.0.1", 10, false,
			"421 Too much load; please try again later.\r\n",
			"Connection from [10.0.0.1] refused: load average = 0.01"},
		{"empty reserve list", "smtp_load_reserve = 0\nsmtp_reserve_hosts =\n", "10.0.0.1", 10, false,
			"421 test.example: Too much load; please try again later\r\n",
			"temporarily refused connection from [10.0.0.1]: not in reserve list and load average = 0.01"},
		{"below", "smtp_load_reserve = 1\n", "10.0.0.2", 1000, false, "220 ", ""},
		{"below with list", "smtp_load_reserve = 1\nsmtp_reserve_hosts = 10.0.0.1\n", "10.0.0.2", 1000, false, "220 ", ""},
		{"active hostname", "smtp_load_reserve = 1\nsmtp_reserve_hosts = 10.0.0.1\nsmtp_active_hostname = act.example\nlog_selector = -connection_reject\n", "10.0.0.2", 1500, false,
			"421 act.example: Too much load; please try again later\r\n", ""},
		{"-bs", "smtp_load_reserve = 1\n", "10.0.0.2", 1500, true, "220 ", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := loadServer(t, tc.conf)
			srv.Receiver = nullReceiver{}
			srv.Local = tc.local
			lg := &lineLog{}
			srv.Log = lg
			calls := 0
			srv.Load = loads(&calls, tc.load)
			client, server := net.Pipe()
			done := make(chan error, 1)
			go func() {
				done <- srv.Serve(context.Background(), server, server, Peer{Addr: netip.MustParseAddr(tc.peer), Port: 1234})
				server.Close()
			}()
			client.SetDeadline(time.Now().Add(5 * time.Second))
			go func() { io.WriteString(client, "QUIT\r\n") }()
			out, _ := io.ReadAll(client)
			client.Close()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(out), tc.want) {
				t.Errorf("replies %q, want them to start %q", out, tc.want)
			}
			got := ""
			for _, l := range lg.lines {
				if strings.Contains(l, "refused") {
					got = l
				}
			}
			if got != tc.log {
				t.Errorf("log %q, want %q", got, tc.log)
			}
		})
	}
}
