package transport

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPipe(t *testing.T) {
	dir := tempDir(t)
	out := filepath.Join(dir, "out")
	cases := []struct {
		name   string
		conf   string
		status Status
		msg    string
		check  func(t *testing.T, r Result)
	}{
		{name: "cat", conf: `command = /bin/sh -c "cat > ` + out + `"`, status: OK, check: func(t *testing.T, r Result) {
			data, _ := os.ReadFile(out)
			want := "From sender@x.org Thu Mar  7 09:05:03 2024\nSubject: hi\nFrom: a@b.c\n\nFrom the start\nline2\n>From x\n.\n\n"
			if string(data) != want {
				t.Errorf("got %q", data)
			}
		}},
		{name: "exit 1", conf: `command = /bin/sh -c "echo oops; exit 1"`, status: Fail,
			msg: "Child process of t transport returned 1 from command: /bin/sh"},
		{name: "temp error", conf: "command = /bin/sh -c \"echo later; exit 75\"\n  log_defer_output", status: Defer,
			msg: "Child process of t transport returned 75 (could mean temporary error) from command: /bin/sh",
			check: func(t *testing.T, r Result) {
				if r.LogOutput != "later" {
					t.Errorf("log output %q", r.LogOutput)
				}
			}},
		{name: "nonexistent", conf: "command = /nonexistent/x arg", status: Fail,
			msg: "Child process of t transport returned 127 (could mean unable to exec or command does not exist) from command: /nonexistent/x"},
		{name: "freeze exec fail", conf: "command = /nonexistent/x\n  freeze_exec_fail", status: Fail,
			check: func(t *testing.T, r Result) {
				if !r.Freeze {
					t.Error("not frozen")
				}
			}},
		{name: "return output", conf: "command = /bin/echo hello\n  return_output", status: Fail, msg: "return message generated",
			check: func(t *testing.T, r Result) {
				if r.Output != "hello\n" {
					t.Errorf("output %q", r.Output)
				}
			}},
		{name: "return fail output", conf: "command = /bin/sh -c \"echo bad; exit 2\"\n  return_fail_output\n  log_fail_output", status: Fail,
			msg: "Child process of t transport returned 2 from command: /bin/sh",
			check: func(t *testing.T, r Result) {
				if r.Output != "bad\n" || r.LogOutput != "bad" {
					t.Errorf("output %q %q", r.Output, r.LogOutput)
				}
			}},
		{name: "ignore status", conf: "command = /bin/false\n  ignore_status", status: OK},
		{name: "timeout", conf: "command = /bin/sleep 5\n  timeout = 1s", status: Fail, msg: "pipe delivery process timed out"},
		{name: "timeout defer", conf: "command = /bin/sleep 5\n  timeout = 1s\n  timeout_defer", status: Defer, msg: "pipe delivery process timed out"},
		{name: "signal", conf: `command = /bin/sh -c "kill -9 \\$\\$"`, status: Fail,
			msg: `Child process of t transport (running command "/bin/sh -c "kill -9 \\$\\$"") was terminated by signal 9 (Killed)`},
		{name: "shell signal status", conf: `command = /bin/sh -c "exit 130"`, status: Fail,
			msg: "Child process of t transport returned 130 (could mean shell command ended by signal 2 (Interrupt)) from command: /bin/sh"},
		{name: "expansion failure", conf: `command = /bin/echo ${foo`, status: Defer,
			msg: `Expansion of "${foo" from command "/bin/echo ${foo" in t transport failed: `},
		{name: "temp_errors star", conf: "command = /bin/sh -c \"exit 3\"\n  temp_errors = *", status: Defer},
		{name: "allow_commands refuses", conf: "command = /bin/true\n  allow_commands = /bin/cat", status: Fail,
			msg: `"/bin/true" command not permitted by t transport`},
		{name: "restrict_to_path finds", conf: "command = true\n  restrict_to_path", status: OK},
		{name: "use_shell", conf: "command = echo $local_part > " + out + "\n  use_shell", status: OK, check: func(t *testing.T, r Result) {
			data, _ := os.ReadFile(out)
			if string(data) != "rcpt\n" {
				t.Errorf("got %q", data)
			}
		}},
		{name: "environment", conf: `command = /bin/sh -c "env > ` + out + `"` + "\n  environment = FOO=bar", status: OK, check: func(t *testing.T, r Result) {
			data, _ := os.ReadFile(out)
			for _, want := range []string{"LOCAL_PART=rcpt\n", "DOMAIN=test.example\n", "SENDER=sender@x.org\n", "MESSAGE_ID=1rhQZS-0001AB-Cd\n", "PATH=/bin:/usr/bin\n", "FOO=bar\n", "RECIPIENT=rcpt@test.example\n", "QUALIFY_DOMAIN=test.example\n"} {
				if !strings.Contains(string(data), want) {
					t.Errorf("no %q in %s", want, data)
				}
			}
		}},
		{name: "pipe addresses", conf: `command = /bin/sh -c "echo \"\\$*\" > ` + out + `" x $pipe_addresses`, status: OK, check: func(t *testing.T, r Result) {
			data, _ := os.ReadFile(out)
			if string(data) != "rcpt@test.example\n" {
				t.Errorf("got %q", data)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(out)
			tr := newTransport(t, "t:\n  driver = pipe\n  "+c.conf+"\n", "t")
			d := newDelivery(t, simpleMsg, "rcpt@test.example")
			rs := deliver(t, tr, d)
			r := rs[0]
			if r.Status != c.status {
				t.Fatalf("status %v want %v (%s)", r.Status, c.status, r.Message)
			}
			if c.msg != "" && !strings.HasPrefix(r.Message, c.msg) {
				t.Errorf("message\n got %q\nwant %q", r.Message, c.msg)
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

func TestPipeFixedNeverUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	tr := newTransport(t, "t:\n  driver = pipe\n  command = /bin/cat\n", "t")
	d := newDelivery(t, simpleMsg, "rcpt@test.example")
	d.Addresses[0].UID, d.Addresses[0].GID = -1, -1
	r := deliver(t, tr, d)[0]
	if r.Status != Defer || r.Errno != -29 || r.Message != "User 0 set for t transport is on the fixed_never_users list" {
		t.Errorf("got %+v", r)
	}
}
