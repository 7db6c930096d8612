package dkim

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/oracletest"
)

// signCase is one set of smtp transport dkim_* options. Selectors are key
// names (rsa1024, rsa2048, ed25519): the key file is KEYDIR/$dkim_selector.pem.
type signCase struct {
	domains, selectors      []string
	canon, hash, identity   string
	signHeaders, timestamps string
}

var signCases = []signCase{
	{domains: []string{"example.org"}, selectors: []string{"rsa1024"}},
	{domains: []string{"example.org"}, selectors: []string{"rsa2048"}, canon: "simple"},
	{domains: []string{"example.org"}, selectors: []string{"ed25519"}},
	{domains: []string{"example.org"}, selectors: []string{"ed25519"}, canon: "simple"},
	{domains: []string{"example.org"}, selectors: []string{"rsa1024"}, hash: "sha512", identity: "someone@example.org", timestamps: "1209600"},
	{domains: []string{"example.org"}, selectors: []string{"rsa2048"}, hash: "sha1", canon: "simple"},
	{domains: []string{"averyveryverylongdomain.example.org"}, selectors: []string{"rsa1024"}},
	{domains: []string{"sub.example.org"}, selectors: []string{"rsa2048"}, identity: "@sub.example.org", timestamps: "60"},
	{domains: []string{"example.org"}, selectors: []string{"rsa1024"}, signHeaders: "From:subject:x-a:=Subject:+To:+Cc:=Bcc:Sender:Sender:x-a"},
	{domains: []string{"example.org"}, selectors: []string{"ed25519"}, signHeaders: OversignHeaders},
	{domains: []string{"a.example", "b.example"}, selectors: []string{"rsa1024", "ed25519"}},
	{domains: []string{"example.org"}, selectors: []string{"rsa1024"}, signHeaders: "From : Subject : Received"},
	{domains: []string{"ex.org"}, selectors: []string{"ed25519"}, hash: "sha512", canon: "simple"},
}

var signMessages = []string{
	"From: a@example.org\nTo: b@example.net\nSubject: hello\n\nbody line\n\n\n",
	"from: A <a@example.org>\nSubject:   one  \n\tcontinued\t here \nX-A: 1\nSubject: two\nX-A:\t2\nTo: x@example.net,\n  y@example.net\nMIME-Version: 1.0\n\n  leading and trailing  \t\n\tTabs\there\n\n\nlast\n\n",
	"From: a@example.org\nSubject: empty body\n\n",
	"From: a@example.org\nSubject: empty lines\n\n\n\n\n",
	"From: a@example.org\nSubject: " + strings.Repeat("long ", 30) + "\nCc: c@example.net\n\n" + strings.Repeat("x", 1500) + "\n.dot line\n..two\nno final newline",
}

// TestEximSignDifferential makes real Exim sign messages in its smtp
// transport (delivering to a sink on 127.0.0.1) and signs what Exim sent
// (without Exim's signatures) with the same options: the DKIM-Signature
// fields must be identical, byte for byte (t= taken from Exim's).
func TestEximSignDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	keys := testKeys(t)
	dir := eximDir(t)
	for name, k := range keys {
		writeKey(t, dir, name, k)
	}
	s := startSink(t)
	var conf strings.Builder
	fmt.Fprintf(&conf, `spool_directory = %s/spool
log_file_path = %s/%%slog
deliver_drop_privilege = true
primary_hostname = mx.example.org
keep_environment =
begin routers
`, dir, dir)
	for i := range signCases {
		fmt.Fprintf(&conf, "r_c%d:\n  driver = manualroute\n  local_parts = c%d\n  route_list = * 127.0.0.1\n  self = send\n  transport = t_c%d\n", i, i, i)
	}
	conf.WriteString("begin transports\n")
	for i, c := range signCases {
		fmt.Fprintf(&conf, "t_c%d:\n  driver = smtp\n  port = %d\n  allow_localhost\n  hosts_avoid_tls = *\n  hosts_try_chunking =\n  hosts_try_fastopen =\n", i, s.port())
		fmt.Fprintf(&conf, "  dkim_domain = %s\n  dkim_selector = %s\n  dkim_private_key = %s/${dkim_selector}.pem\n",
			strings.Join(c.domains, " : "), strings.Join(c.selectors, " : "), dir)
		for _, kv := range [][2]string{{"dkim_canon", c.canon}, {"dkim_hash", c.hash}, {"dkim_identity", c.identity}, {"dkim_sign_headers", c.signHeaders}, {"dkim_timestamps", c.timestamps}} {
			if kv[1] != "" {
				fmt.Fprintf(&conf, "  %s = %s\n", kv[0], kv[1])
			}
		}
	}
	cf := filepath.Join(dir, "exim.conf")
	if err := os.WriteFile(cf, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var rcpts []string
	for i := range signCases {
		rcpts = append(rcpts, fmt.Sprintf("c%d@example.net", i))
	}
	compared := 0
	for mi, msg := range signMessages {
		args := append([]string{"-C", cf, "-odi", "-f", "a@example.org"}, rcpts...)
		res := oracletest.Run(t, exim, msg, args...)
		if res.Code != 0 {
			t.Fatalf("exim: %d %s %s", res.Code, res.Stdout, res.Stderr)
		}
		for i, c := range signCases {
			got := s.get(rcpts[i])
			if got == "" {
				log, _ := os.ReadFile(filepath.Join(dir, "mainlog"))
				t.Fatalf("message %d case %d: nothing delivered\n%s", mi, i, log)
			}
			hs, rest, err := message.ReadHeaders(bufio.NewReader(strings.NewReader(got)))
			if err != nil {
				t.Fatal(err)
			}
			body := got[strings.Index(got, "\r\n\r\n")+4:]
			_ = rest
			n := len(c.domains) * len(c.selectors)
			var want []string
			for _, h := range hs[:n] {
				if h.Name != "DKIM-Signature" {
					t.Fatalf("message %d case %d: header %q where a signature was expected", mi, i, h.Text)
				}
				want = append(want, h.Text)
			}
			var opts []SignOptions
			for _, d := range c.domains {
				for _, sel := range c.selectors {
					o := SignOptions{Domain: d, Selector: sel, Key: keys[sel], Canon: c.canon, Hash: c.hash,
						Identity: c.identity, SignHeaders: c.signHeaders, Timestamps: c.timestamps}
					if c.timestamps != "" {
						o.Now = eximSignTime(t, want[len(opts)])
					}
					opts = append(opts, o)
				}
			}
			sigs, err := Sign(hs[n:], strings.NewReader(body), opts...)
			if err != nil {
				t.Fatalf("message %d case %d: %v", mi, i, err)
			}
			for j := range want {
				compared++
				if sigs[j] != want[j] {
					t.Errorf("message %d case %d signature %d:\nexigo:\n%s\nexim:\n%s", mi, i, j, sigs[j], want[j])
				}
			}
		}
	}
	t.Logf("%d signatures compared", compared)
}

func eximSignTime(t *testing.T, field string) time.Time {
	tags, err := ParseTags(field[strings.IndexByte(field, ':')+1:])
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.ParseInt(tagMap(tags)["t"].Value, 10, 64)
	if err != nil {
		t.Fatalf("no t= in %q", field)
	}
	return time.Unix(v, 0)
}

// eximDir makes a directory that Exim's unprivileged delivery processes can
// use for the spool and logs.
func eximDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "exigo-dkim-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}
