package tools

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestExiwhat records activities, adds a stale file of a process that
// does not exist, and checks exiwhat's listing and process_log_path.
func TestExiwhat(t *testing.T) {
	spool := t.TempDir()
	plog := filepath.Join(spool, "exim-process.info")
	var out bytes.Buffer
	if err := Exiwhat(spool, plog, &out); err != nil || out.String() != "No exim process data\n" {
		t.Fatalf("empty: %v %q", err, out.String())
	}
	p := NewProcessInfo(spool)
	endD := p.Start("daemon(4.96): -q30m, listening for SMTP on port 25 (IPv6 and IPv4)")
	endC := p.Start("handling incoming connection from [192.0.2.1]")
	// A process that is gone: pid 2^22+1 is above Linux's pid_max limit.
	os.WriteFile(filepath.Join(spool, ProcessInfoDir, "4194305.1"), []byte("4194305 gone\n"), 0o640)
	os.WriteFile(filepath.Join(spool, ProcessInfoDir, "junk"), []byte("x\n"), 0o640)
	out.Reset()
	if err := Exiwhat(spool, plog, &out); err != nil {
		t.Fatal(err)
	}
	pid := os.Getpid()
	want := fmt.Sprintf("%5d daemon(4.96): -q30m, listening for SMTP on port 25 (IPv6 and IPv4)\n%5d handling incoming connection from [192.0.2.1]\n", pid, pid)
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	if b, _ := os.ReadFile(plog); string(b) != want {
		t.Errorf("process log %q", b)
	}
	if _, err := os.Stat(filepath.Join(spool, ProcessInfoDir, "4194305.1")); err == nil {
		t.Errorf("stale file kept")
	}
	endC()
	out.Reset()
	Exiwhat(spool, plog, &out)
	if out.String() != fmt.Sprintf("%5d daemon(4.96): -q30m, listening for SMTP on port 25 (IPv6 and IPv4)\n", pid) {
		t.Errorf("after end: %q", out.String())
	}
	endD()
	out.Reset()
	Exiwhat(spool, plog, &out)
	if out.String() != "No exim process data\n" {
		t.Errorf("after all ended: %q", out.String())
	}
	var nilp *ProcessInfo
	nilp.Start("x")()
}

// TestProcessInfoReuse checks that an ended activity's file is emptied
// and reused by the next activity, and that exiwhat skips it meanwhile.
func TestProcessInfoReuse(t *testing.T) {
	spool := t.TempDir()
	p := NewProcessInfo(spool)
	p.Start("first")()
	end := p.Start("second")
	ents, _ := os.ReadDir(filepath.Join(spool, ProcessInfoDir))
	if len(ents) != 1 {
		t.Fatalf("%d activity files, want 1 (reused)", len(ents))
	}
	var out bytes.Buffer
	Exiwhat(spool, "", &out)
	if want := fmt.Sprintf("%5d second\n", os.Getpid()); out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	end()
	out.Reset()
	Exiwhat(spool, "", &out)
	if out.String() != "No exim process data\n" {
		t.Errorf("after end: %q", out.String())
	}
}
