package deliver

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFileOp runs a worker's file operations: reads with their limit,
// appends that create the file 0600, and errno answers for a missing
// file and a symbolic link.
func TestFileOp(t *testing.T) {
	dir := t.TempDir()
	fwd := filepath.Join(dir, ".forward")
	os.WriteFile(fwd, []byte("# Exim filter\n"), 0o644)
	os.Symlink(fwd, filepath.Join(dir, "link"))
	log := filepath.Join(dir, "filter.log")
	list := filepath.Join(dir, "list")
	nested := filepath.Join(dir, "nested")
	secret := filepath.Join(dir, "secret")
	os.WriteFile(filepath.Join(dir, "fwdlist"), []byte("a@b, :include:"+list+"\n"), 0o644)
	os.WriteFile(list, []byte(":include:"+nested+"\n"), 0o644)
	os.WriteFile(nested, []byte("n@b\n"), 0o644)
	os.WriteFile(secret, []byte("s\n"), 0o644)
	fwdlist := filepath.Join(dir, "fwdlist")
	tests := []struct {
		name      string
		req       LocalRequest
		data      string
		errno     syscall.Errno
		errorText bool
	}{
		{"read", LocalRequest{Op: OpRead, Path: fwd, Limit: 100}, "# Exim filter\n", 0, false},
		{"read over the limit", LocalRequest{Op: OpRead, Path: fwd, Limit: 3}, "# Ex", 0, false},
		{"read missing", LocalRequest{Op: OpRead, Path: filepath.Join(dir, "none"), Limit: 3}, "", syscall.ENOENT, false},
		{"read an included file", LocalRequest{Op: OpRead, Path: list, Include: fwdlist, Limit: 100}, ":include:" + nested + "\n", 0, false},
		{"read a nested included file", LocalRequest{Op: OpRead, Path: nested, Include: fwdlist, Limit: 100}, "n@b\n", 0, false},
		{"read a file not included", LocalRequest{Op: OpRead, Path: secret, Include: fwdlist, Limit: 100}, "", syscall.EACCES, false},
		{"read a file data includes", LocalRequest{Op: OpRead, Path: nested, IncludeData: ":include:" + list, Limit: 100}, "n@b\n", 0, false},
		{"read a file data does not include", LocalRequest{Op: OpRead, Path: secret, IncludeData: ":include:" + list, Limit: 100}, "", syscall.EACCES, false},
		{"read a directory", LocalRequest{Op: OpRead, Path: dir, Limit: 3}, "", 0, false},
		{"append creates", LocalRequest{Op: OpAppend, Path: log, Data: []byte("a\n")}, "", 0, false},
		{"append appends", LocalRequest{Op: OpAppend, Path: log, Data: []byte("b\n")}, "", 0, false},
		{"append through a link", LocalRequest{Op: OpAppend, Path: filepath.Join(dir, "link"), Data: []byte("x")}, "", syscall.ELOOP, false},
		{"unknown", LocalRequest{Op: "unlink", Path: fwd}, "", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := fileOp(&tc.req)
			if string(resp.Data) != tc.data || resp.Errno != int(tc.errno) || (resp.Error != "") != tc.errorText {
				t.Errorf("got data %q errno %d error %q; want %q %d %v", resp.Data, resp.Errno, resp.Error, tc.data, tc.errno, tc.errorText)
			}
		})
	}
	b, _ := os.ReadFile(log)
	st, _ := os.Stat(log)
	if string(b) != "a\nb\n" || st.Mode().Perm() != 0o600 {
		t.Errorf("log file %q mode %o, want \"a\\nb\\n\" 0600", b, st.Mode().Perm())
	}
	if b, _ := os.ReadFile(fwd); string(b) != "# Exim filter\n" {
		t.Errorf("append through a link changed its target: %q", b)
	}
	// A read answers with the file's owner, group and st_mode (for
	// the redirect router's check_owner, check_group and modemask).
	os.Chmod(fwd, 0o640)
	resp := fileOp(&LocalRequest{Op: OpRead, Path: fwd, Limit: 100})
	if resp.FileMode != syscall.S_IFREG|0o640 || resp.FileUID != os.Geteuid() || resp.FileGID != os.Getegid() {
		t.Errorf("attributes %d/%d/%o, want %d/%d/%o", resp.FileUID, resp.FileGID, resp.FileMode, os.Geteuid(), os.Getegid(), syscall.S_IFREG|0o640)
	}
}
