package transport

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestAutoreply(t *testing.T) {
	dir := tempDir(t)
	once := filepath.Join(dir, "once")
	tr := newTransport(t, `t:
  driver = autoreply
  to = Sender <$sender_address>
  from = vacation@test.example
  subject = Re: $h_subject:
  text = I am away.\n
  once = `+once+`
  return_message
`, "t")
	var got []*NewMessage
	submit := func(_ context.Context, m *NewMessage) error { got = append(got, m); return nil }
	for i := 0; i < 2; i++ {
		d := newDelivery(t, "Subject: hello\nMessage-ID: <m1@x.org>\n\nbody\n", "rcpt@test.example")
		d.Submit = submit
		if r := deliver(t, tr, d)[0]; r.Status != OK {
			t.Fatalf("%v %s", r.Status, r.Message)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d messages (once not honoured)", len(got))
	}
	m := got[0]
	if m.Sender != "" || len(m.Recipients) != 1 || m.Recipients[0] != "sender@x.org" {
		t.Errorf("envelope %+v", m)
	}
	want := "From: vacation@test.example\nTo: Sender <sender@x.org>\nSubject: Re: \nIn-Reply-To: <m1@x.org>\nReferences: <m1@x.org>\nAuto-Submitted: auto-replied\n\nI am away.\n" +
		"\n------ This is a copy of the message, including all the headers.\n\nSubject: hello\nMessage-ID: <m1@x.org>\n\nbody\n"
	if string(m.Data) != want {
		t.Errorf("data\n got %q\nwant %q", m.Data, want)
	}
	if data, _ := os.ReadFile(once); !strings.Contains(string(data), "Sender <sender@x.org>") {
		t.Errorf("once file %q", data)
	}
}

func TestAutoreplyNoRecipients(t *testing.T) {
	tr := newTransport(t, "t:\n  driver = autoreply\n  to = me@test.example\n  never_mail = me@test.example\n  text = x\n", "t")
	d := newDelivery(t, "Subject: s\n\nb\n", "rcpt@test.example")
	d.Submit = func(context.Context, *NewMessage) error { t.Error("submitted"); return nil }
	if r := deliver(t, tr, d)[0]; r.Status != OK {
		t.Errorf("%+v", r)
	}
}

func TestAutoreplyNoSubmit(t *testing.T) {
	tr := newTransport(t, "t:\n  driver = autoreply\n  to = x@y.z\n  text = x\n", "t")
	d := newDelivery(t, "Subject: s\n\nb\n", "rcpt@test.example")
	if r := deliver(t, tr, d)[0]; r.Status != Defer {
		t.Errorf("%+v", r)
	}
}

// TestAutoreplyFilesOwned: run as root, the transport gives the once
// and log files it creates to the user it runs as, and reports that
// user through Credentials.
func TestAutoreplyFilesOwned(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files away")
	}
	dir := tempDir(t)
	os.Chmod(dir, 0o777)
	tr := newTransport(t, "t:\n  driver = autoreply\n  user = daemon\n  to = x@y.z\n  text = x\n  once = "+dir+"/once\n  log = "+dir+"/log\n", "t")
	d := newDelivery(t, "Subject: s\n\nb\n", "rcpt@test.example")
	d.Submit = func(context.Context, *NewMessage) error { return nil }
	c, err := tr.(Credentialed).Credentials(d)
	if err != nil || c.UID != 1 {
		t.Fatalf("credentials %+v %v, want uid 1 (daemon)", c, err)
	}
	if r := deliver(t, tr, d)[0]; r.Status != OK {
		t.Fatalf("%+v", r)
	}
	for _, name := range []string{"once", "log"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if uid := st.Sys().(*syscall.Stat_t).Uid; uid != 1 {
			t.Errorf("%s owned by %d, want 1", name, uid)
		}
	}
}
