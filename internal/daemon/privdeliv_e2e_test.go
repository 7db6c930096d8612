package daemon_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// forwardConfig routes "fwd-" local parts of local users through their
// .forward file (an Exim filter may save, pipe, reply and log), and
// "inc-" ones through a list the router includes from the home
// directory, and "bad-" ones through a file with a forbidden mode
// (modemask), "lst-" ones through a file that includes that list,
// and "auto-" ones to an autoreply transport with once and log files in the
// user's home; replies to client.example are thrown away.
func forwardConfig(dir string) string {
	return fmt.Sprintf(`primary_hostname = test.example
spool_directory = %[1]s/spool
log_file_path = %[1]s/log/%%slog
acl_smtp_rcpt = acl_r
host_lookup =
begin acl
acl_r:
  accept
begin routers
sink:
  driver = redirect
  domains = client.example
  data = :blackhole:
userforward:
  driver = redirect
  local_part_prefix = fwd-
  check_local_user
  file = $home/.forward
  allow_filter
  file_transport = address_file
  pipe_transport = address_pipe
  reply_transport = address_reply
badforward:
  driver = redirect
  local_part_prefix = bad-
  check_local_user
  file = $home/bad.forward
listforward:
  driver = redirect
  local_part_prefix = lst-
  check_local_user
  file = $home/list.forward
  file_transport = address_file
incuser:
  driver = redirect
  local_part_prefix = inc-
  check_local_user
  data = :include:$home/inc.list
  file_transport = address_file
autouser:
  driver = accept
  local_part_prefix = auto-
  check_local_user
  transport = auto
begin transports
address_file:
  driver = appendfile
address_pipe:
  driver = pipe
  return_output
address_reply:
  driver = autoreply
auto:
  driver = autoreply
  to = sink@client.example
  from = $local_part@test.example
  subject = auto
  text = auto reply
  once = $home/auto.once
  log = $home/auto.log
`, dir)
}

// forwardFilter is the throwaway user's .forward.
const forwardFilter = `# Exim filter
logfile $home/filter.log
logwrite "filtered $local_part"
save $home/saved
pipe "/bin/sh -c 'id -u > $home/fpipe.out'"
mail to "sink@client.example" subject "reply" text "filter reply" once $home/mail.once log $home/mail.log
`

// inMountNamespace reruns test name in a private mount namespace where
// /etc/exim4/trusted_configs is bind-mounted (see
// TestPrivsepDifferential); it returns false in the parent, which has
// then checked the child's outcome.
func inMountNamespace(t *testing.T, name string) bool {
	t.Helper()
	if os.Getenv("EXIGO_PRIVSEP_NS") != "" {
		return true
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		oracletest.Missing(t, "unshare(1)")
	}
	cmd := exec.Command(unshare, "-m", os.Args[0], "-test.run=^"+name+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "EXIGO_PRIVSEP_NS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("in a mount namespace: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Skipf("child skipped:\n%s", out)
	}
	t.Logf("%s", out)
	return false
}

// ownersIn lists the files of dir (but .forward) as "name uid" with
// "uid" replaced by "USER" for uid, and the contents of the files whose
// names end in ".out".
func ownersIn(t *testing.T, dir string, uid int) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.Name() == ".forward" || e.Name() == "inc.list" || e.Name() == "bad.forward" || e.Name() == "list.forward" {
			continue
		}
		st, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		sys := st.Sys().(*syscall.Stat_t)
		owner := fmt.Sprint(sys.Uid)
		if int(sys.Uid) == uid {
			owner = "USER"
		}
		line := fmt.Sprintf("%s owner=%s mode=%o", e.Name(), owner, st.Mode().Perm())
		if strings.HasSuffix(e.Name(), ".out") {
			b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			content := strings.TrimSpace(string(b))
			if content == fmt.Sprint(uid) {
				content = "USER"
			}
			line += " content=" + content
		}
		out = append(out, line)
	}
	sort.Strings(out)
	return out
}

// TestPrivsepForwardDifferential starts exigo and real Exim as root and
// sends each a message for a user whose .forward filter logs, saves,
// pipes and replies, and one for an autoreply transport routed with
// check_local_user: every file they make must belong to the same user
// in both, the pipes must run as the same uid, and the delivery lines
// must agree.
func TestPrivsepForwardDifferential(t *testing.T) {
	needRoot(t)
	exim := oracletest.Exim(t)
	if !inMountNamespace(t, "TestPrivsepForwardDifferential") {
		return
	}
	bin := oracletest.Exigo(t)
	top, err := os.MkdirTemp("", "exigo-privfwd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	os.Chmod(top, 0o755)
	home := filepath.Join(top, "home")
	login, uid := throwawayUser(t, home)
	etc := filepath.Join(top, "etc-exim4")
	os.Mkdir(etc, 0o755)
	if err := os.WriteFile(filepath.Join(etc, "trusted_configs"), []byte(filepath.Join(top, "exim", "conf")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "--bind", etc, "/etc/exim4").CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, out)
	}
	st, _ := os.Stat(home)
	gid := int(st.Sys().(*syscall.Stat_t).Gid)
	run := func(name, b string) (files, lines []string) {
		ents, _ := os.ReadDir(home)
		for _, e := range ents {
			os.RemoveAll(filepath.Join(home, e.Name()))
		}
		fwd := filepath.Join(home, ".forward")
		if err := os.WriteFile(fwd, []byte(forwardFilter), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chown(fwd, uid, gid)
		inc := filepath.Join(home, "inc.list")
		if err := os.WriteFile(inc, []byte(filepath.Join(home, "incsaved")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chown(inc, uid, gid)
		for f, text := range map[string]string{"bad.forward": "nobody@client.example\n", "list.forward": ":include:" + inc + "\n"} {
			p := filepath.Join(home, f)
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			os.Chown(p, uid, gid)
		}
		os.Chmod(filepath.Join(home, "bad.forward"), 0o664)
		dir, conf := privsepDirWith(t, top, name, forwardConfig)
		port := freePort(t)
		cmd := startPrivsep(t, b, conf, filepath.Join(dir, "pid"), port)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		for _, rcpt := range []string{"fwd-" + login, "auto-" + login, "inc-" + login, "lst-" + login, "bad-" + login} {
			msg := "Subject: privsep\r\nMessage-ID: <" + rcpt + "@x>\r\n\r\nbody\r\n"
			if err := sendGo(addr, "a@client.example", rcpt+"@test.example", msg); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		// Five messages, two replies and the bounce of "bad-" (with no
		// retry rules its defer times out at once).
		log := waitLog(t, dir, "Completed", 8)
		stop(t, cmd)
		if name == "exigo" && strings.Count(log, " => :blackhole: <sink@client.example> R=sink") != 2 {
			t.Errorf("exigo: replies not delivered:\n%s", log)
		}
		// Exim's autoreply hands its message to a new Exim process run
		// as the user, which refuses the test's configuration file
		// ("Failed to send message ... (1)", then a bounce); exigo
		// submits it. The files and lines of the replies are compared
		// apart from that.
		files = nil
		for _, f := range ownersIn(t, home, uid) {
			if !strings.HasPrefix(f, "auto.log ") && !strings.HasPrefix(f, "mail.log ") {
				files = append(files, f)
			} else if !strings.Contains(f, "owner=USER") {
				t.Errorf("%s: %s", name, f)
			}
		}
		for _, l := range deliveryLines(log) {
			if strings.Contains(l, " ** bad-") {
				lines = append(lines, l)
				continue
			}
			if strings.Contains(l, "T=auto") || strings.Contains(l, "T=address_reply") || strings.Contains(l, " ** ") || strings.Contains(l, ":blackhole:") {
				if name == "exigo" && !strings.Contains(l, " => ") {
					t.Errorf("exigo: %s", l)
				}
				continue
			}
			lines = append(lines, l)
		}
		return files, lines
	}
	wantFiles, wantLines := run("exim", exim)
	gotFiles, gotLines := run("exigo", bin)
	if strings.Join(gotFiles, "\n") != strings.Join(wantFiles, "\n") {
		t.Errorf("files differ\nexim:\n%s\nexigo:\n%s", strings.Join(wantFiles, "\n"), strings.Join(gotFiles, "\n"))
	}
	if strings.Join(gotLines, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("log lines differ\nexim:\n%s\nexigo:\n%s", strings.Join(wantLines, "\n"), strings.Join(gotLines, "\n"))
	}
	t.Logf("exim files:\n%s\nexim lines:\n%s", strings.Join(wantFiles, "\n"), strings.Join(wantLines, "\n"))
}
