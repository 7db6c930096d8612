package checks

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/dns/dnstest"
	"github.com/exigo-mta/exigo/internal/oracletest"
)

// The oracle tests compare exigo with real Exim 4.96 running the same
// configurations with -bh. Exim (and libspf2) read only /etc/resolv.conf,
// so the test re-runs itself inside new mount and network namespaces
// (unshare -m -n) where it brings lo up, bind-mounts a resolv.conf naming
// 127.0.0.1 and serves testdata/zone.txt on port 53; clamd, when
// installed, is started there too with a signature database the test
// writes.

const netnsEnv = "EXIGO_CHECKS_NETNS"

// inNamespace re-runs the named test in private namespaces, or returns
// true when already there.
func inNamespace(t *testing.T, name string) bool {
	t.Helper()
	oracletest.Exim(t)
	if os.Getenv(netnsEnv) != "" {
		for _, c := range [][]string{{"ip", "link", "set", "lo", "up"}} {
			if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
				t.Fatalf("%v: %v %s", c, err, out)
			}
		}
		dir := t.TempDir()
		resolv := filepath.Join(dir, "resolv.conf")
		os.WriteFile(resolv, []byte("nameserver 127.0.0.1\n"), 0o644)
		if out, err := exec.Command("mount", "--bind", resolv, "/etc/resolv.conf").CombinedOutput(); err != nil {
			t.Fatalf("mount: %v %s", err, out)
		}
		return true
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil || os.Geteuid() != 0 {
		oracletest.Missing(t, "root and unshare(1) (to give Exim a private DNS server)")
	}
	bin := oracletest.Exigo(t)
	cmd := exec.Command(unshare, "-m", "-n", os.Args[0], "-test.run=^"+name+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), netnsEnv+"=1", "EXIGO_CHECKS_BIN="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("in namespaces: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Skipf("child skipped:\n%s", out)
	}
	t.Logf("%s", out)
	return false
}

// startDNS serves the test zone on 127.0.0.1:53.
func startDNS(t *testing.T) {
	zone, err := os.ReadFile("testdata/zone.txt")
	if err != nil {
		t.Fatal(err)
	}
	srv := dnstest.Start(t, "127.0.0.1:53", string(zone))
	srv.ServFail("servfail.example.")
	srv.ServFail("10.2.0.192.servfail.example.")
}

var (
	maskDate = regexp.MustCompile(`(?m)^220 (.*) \w{3}, \d+ \w{3} \d{4} \d\d:\d\d:\d\d [-+]\d{4}`)
	// exigo's -bh "<=" line does not show id= yet (smtpserver).
	maskMsgID = regexp.MustCompile(`(?m)^(LOG: .* <= .*) id=\S+$`)
	maskID    = regexp.MustCompile(`\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2,4}\b`)
)

// session is what is compared: the replies and the log lines (and the
// commentary lines of the checks).
func session(stdout, stderr string, trace *regexp.Regexp) string {
	var b strings.Builder
	b.WriteString(maskID.ReplaceAllString(maskDate.ReplaceAllString(stdout, "220 $1 DATE"), "ID"))
	b.WriteString("--- log\n")
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "LOG: ") || trace != nil && trace.MatchString(l) {
			l = maskMsgID.ReplaceAllString(l, "$1")
			b.WriteString(maskID.ReplaceAllString(l, "ID") + "\n")
		}
	}
	return b.String()
}

// compare runs exim and exigo with the same arguments and input.
func compare(t *testing.T, name, input string, trace *regexp.Regexp, args ...string) {
	t.Helper()
	exim := oracletest.Run(t, oracletest.Exim(t), input, args...)
	exigo := oracletest.Run(t, os.Getenv("EXIGO_CHECKS_BIN"), input, args...)
	want := session(exim.Stdout, exim.Stderr, trace)
	got := session(exigo.Stdout, exigo.Stderr, trace)
	if got != want {
		t.Errorf("%s: exigo differs from Exim\n--- exim\n%s\n--- exigo\n%s", name, want, got)
	}
}

var checkTrace = regexp.MustCompile(`^>>> (dnslists|new DNS lookup|DNS lookup for|=> |\S+ in dns_again_means_nonexist)`)

func TestOracleSPF(t *testing.T) {
	if !inNamespace(t, "TestOracleSPF") {
		return
	}
	startDNS(t)
	conf, _ := filepath.Abs("testdata/spf.conf")
	cases := []struct{ ip, cond, sender string }{}
	for _, s := range []string{"pass", "fail", "softfail", "neutral", "none", "perm", "permmulti",
		"amx", "inc", "temp", "exp", "nomatch", "redir", "ipv6", "badmacro", "toomany", "nx",
		"servfail", "incbad", "incnone", "redirbad", "redirnone", "spfbad2", "upper", "empty", "ex"} {
		cases = append(cases, struct{ ip, cond, sender string }{"192.0.2.10", "spf = pass:fail:softfail:neutral:none:permerror:temperror:invalid", "u@" + s + ".example"})
	}
	cases = append(cases,
		struct{ ip, cond, sender string }{"192.0.2.10", "spf = pass", ""},
		struct{ ip, cond, sender string }{"127.0.0.1", "spf = pass", "u@fail.example"},
		struct{ ip, cond, sender string }{"192.0.2.10", "spf = !fail", "u@fail.example"},
		struct{ ip, cond, sender string }{"192.0.2.10", "spf = !fail : softfail", "u@softfail.example"},
		struct{ ip, cond, sender string }{"192.0.2.20", "spf_guess = pass", "u@guessa.example"},
		struct{ ip, cond, sender string }{"192.0.2.20", "spf_guess = fail", "u@fail.example"},
		struct{ ip, cond, sender string }{"198.51.100.9", "spf_guess = pass", "u@guessmx.example"},
		struct{ ip, cond, sender string }{"198.51.100.9", "spf_guess = neutral", "u@none.example"},
	)
	for _, c := range cases {
		in := fmt.Sprintf("EHLO client.example\r\nMAIL FROM:<%s>\r\nQUIT\r\n", c.sender)
		compare(t, c.ip+" "+c.cond+" "+c.sender, in, nil, "-C", conf, "-DSPFCOND="+c.cond, "-bh", c.ip)
	}
	t.Logf("%d SPF cases", len(cases))
}

func TestOracleDNSLists(t *testing.T) {
	if !inNamespace(t, "TestOracleDNSLists") {
		return
	}
	startDNS(t)
	conf, _ := filepath.Abs("testdata/dnsbl.conf")
	var in strings.Builder
	in.WriteString("EHLO client.example\r\nMAIL FROM:<u@sender.example>\r\n")
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&in, "RCPT TO:<t%d@x.example>\r\n", i)
	}
	in.WriteString("QUIT\r\n")
	compare(t, "dnslists", in.String(), checkTrace, "-C", conf, "-bh", "192.0.2.10")
	// Another client address: nothing listed.
	compare(t, "dnslists unlisted", in.String(), checkTrace, "-C", conf, "-bh", "192.0.2.11")
}
