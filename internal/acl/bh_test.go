package acl

// Differential -bh transcripts: each testdata/bh/NAME.txt case holds a
// configuration and an SMTP dialogue. The test runs real Exim with -bh
// and compares the ACL commentary (">>> " lines of ACL evaluation) and
// the log lines the ACLs write with what this package produces when a
// small in-test driver plays the same dialogue through Engine.Run. The
// SMTP server's own lines (option checks, replies, its rejection log
// lines) are left out on both sides; the full -bh comparison, replies
// included, belongs to the SMTP server's tests.
//
// # Case format
//
//	# comment lines
//	host 10.0.0.1
//	known <reason>     (optional: a difference waiting on another package;
//	                    the case is skipped while it differs)
//	--- conf
//	<configuration; SPOOL is replaced by a temporary spool directory>
//	--- in
//	<SMTP lines, sent with CRLF>

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/instance"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/oracletest"
)

type bhCase struct {
	host, conf, in string
	files          map[string]string // "--- file NAME" sections, written to DIR
	known          string            // reason for a known difference
	// routes is set by a "routes" header line: the case verifies
	// addresses through routers, which only the exigo binary can do, so
	// TestBH (the engine alone) leaves it to TestBHBinary.
	routes bool
}

func readCase(t *testing.T, path string) bhCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := bhCase{host: "10.0.0.1", files: map[string]string{}}
	section := ""
	var conf, in []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "--- file ") {
			section = l[len("--- file "):]
			continue
		}
		switch {
		case l == "--- conf":
			section = "conf"
			continue
		case l == "--- in":
			section = "in"
			continue
		}
		switch section {
		case "":
			if strings.HasPrefix(l, "host ") {
				c.host = strings.TrimSpace(l[5:])
			}
			if l == "routes" {
				c.routes = true
			}
			if strings.HasPrefix(l, "known ") {
				c.known = strings.TrimSpace(l[6:])
			}
		case "conf":
			conf = append(conf, l)
		case "in":
			if l != "" {
				in = append(in, l)
			}
		default:
			c.files[section] += l + "\n"
		}
	}
	c.conf = strings.Join(conf, "\n") + "\n"
	c.in = strings.Join(in, "\r\n") + "\r\n"
	return c
}

// serverLine matches commentary the SMTP server writes about its own
// options ("host in hosts_connection_nolog? no (option unset)").
var serverLine = regexp.MustCompile(`^>>> \S+ in [a-z_]+\? `)

// eximLogMine keeps the LOG lines that ACL statements write.
func keepLog(l string) bool {
	for _, s := range []string{" rejected ", "SMTP call from", " <= ", "unexpected disconnection", "no host name found", "SMTP connection from", "configured error code", "discarded by", "returned ERROR", "frozen by ACL", "no immediate delivery", "=> blackhole", " Completed"} {
		if strings.Contains(l, s) {
			return false
		}
	}
	return true
}

var msgID = regexp.MustCompile(`\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`)

// filter keeps the ACL commentary and ACL log lines of a -bh stderr.
func filter(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		switch {
		case strings.HasPrefix(l, ">>> "):
			if serverLine.MatchString(l) || strings.Contains(l, "verifying EHLO") || strings.HasPrefix(l, ">>> looking up host name") ||
				strings.HasPrefix(l, ">>> IP address lookup") || strings.HasPrefix(l, ">>> getting IP address") {
				continue
			}
			out = append(out, msgID.ReplaceAllString(l, "ID"))
		case strings.HasPrefix(l, "LOG: "):
			if keepLog(l) {
				out = append(out, msgID.ReplaceAllString(l, "ID"))
			}
		}
	}
	return out
}

func TestBH(t *testing.T) {
	files, _ := filepath.Glob("testdata/bh/*.txt")
	if len(files) == 0 {
		t.Fatal("no cases")
	}
	exim := oracletest.Exim(t)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		t.Run(name, func(t *testing.T) {
			c := readCase(t, f)
			if c.routes {
				t.Skip("routes addresses: TestBHBinary plays it")
			}
			path, spool := writeBHCase(t, c)
			res := oracletest.Run(t, exim, c.in, "-C", path, "-bh", c.host)
			want := filter(res.Stderr)
			if len(want) == 0 {
				t.Fatalf("exim gave no ACL commentary:\n%s\n%s", res.Stdout, res.Stderr)
			}
			os.RemoveAll(filepath.Join(spool, "db"))
			os.MkdirAll(filepath.Join(spool, "db"), 0o777)
			got := filter(playBH(t, path, c))
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				if c.known != "" {
					t.Skipf("known difference (%s):\n%s", c.known, diffLines(want, got))
				}
				t.Errorf("transcripts differ\n%s", diffLines(want, got))
			}
		})
	}
}

// diffLines shows the first difference with some context.
func diffLines(want, got []string) string {
	var b strings.Builder
	n := len(want)
	if len(got) > n {
		n = len(got)
	}
	for i := 0; i < n; i++ {
		w, g := "", ""
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			for j := max(0, i-3); j < i; j++ {
				fmt.Fprintf(&b, "  %s\n", want[j])
			}
			fmt.Fprintf(&b, "- %s\n+ %s\n", w, g)
			for j := i + 1; j < min(n, i+4); j++ {
				if j < len(want) {
					fmt.Fprintf(&b, "- %s\n", want[j])
				}
				if j < len(got) {
					fmt.Fprintf(&b, "+ %s\n", got[j])
				}
			}
			break
		}
	}
	return b.String()
}

// playBH plays a dialogue through the Engine the way Exim's -bh runs
// ACLs, and returns the commentary and log lines it produced.
func playBH(t *testing.T, path string, c bhCase) string {
	cfg, err := config.Load(path, config.Options{})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	e := New(cfg)
	in := instance.New(cfg, instance.Options{})
	e.Context = func(s *Session) *expand.Context { return in.Context(s.Vars, s.Message) }
	e.ListEnv = in.ListEnv
	var out bytes.Buffer
	vars := expand.VarMap{"sender_host_address": c.host, "primary_hostname": "test.example"}
	s := &Session{Vars: vars, Trace: &out, HostChecking: true}
	s.LogWrite = func(text string, to ...mainlog.Which) { fmt.Fprintf(&out, "LOG: %s\n", text) }
	s.LogPrefix = func() string {
		if h := vars["sender_helo_name"]; h != "" {
			return "H=(" + h + ") [" + c.host + "] "
		}
		return "H=[" + c.host + "] "
	}
	set := func(st Stage) bool { return cfg.Main.String(st.OptionName()) != "" }
	run := func(st Stage) Verdict {
		if !set(st) {
			return defaultResult(st).Verdict
		}
		return e.Run(st, s).Verdict
	}
	resetMsg := func() {
		for k := range vars {
			if strings.HasPrefix(k, "acl_m") {
				delete(vars, k)
			}
		}
		for _, k := range []string{"sender_address", "sender_address_domain", "sender_address_local_part", "recipients", "recipients_count", "local_part", "domain"} {
			delete(vars, k)
		}
		s.AddedHeaders, s.RemovedHeaders = nil, nil
		s.ResetMessage()
	}
	if set(Connect) {
		if v := run(Connect); v != Accept {
			return out.String()
		}
	}
	haveSender, heloOK := false, false
	var rcpts []string
	lines := strings.Split(strings.TrimSuffix(c.in, "\r\n"), "\r\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		cmd := strings.ToUpper(l)
		switch {
		case strings.HasPrefix(cmd, "HELO ") || strings.HasPrefix(cmd, "EHLO "):
			resetMsg()
			haveSender, rcpts = false, nil
			vars["sender_helo_name"] = strings.TrimSpace(l[5:])
			vars["smtp_command"] = l
			vars["smtp_command_argument"] = strings.TrimSpace(l[5:])
			v := run(HELO)
			if v == Drop {
				return out.String()
			}
			heloOK = v == Accept
			if !heloOK {
				delete(vars, "sender_helo_name")
			}
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			if !heloOK {
				continue
			}
			delete(vars, "message_exim_id")
			addr := strings.Trim(strings.TrimSpace(l[10:]), "<>")
			vars["sender_address"] = addr
			if at := strings.LastIndexByte(addr, '@'); at >= 0 {
				vars["sender_address_local_part"], vars["sender_address_domain"] = addr[:at], addr[at+1:]
			}
			vars["smtp_command"] = l
			v := run(MAIL)
			if v == Drop {
				return out.String()
			}
			haveSender = v == Accept || v == Discard
		case strings.HasPrefix(cmd, "RCPT TO:"):
			if !haveSender {
				continue
			}
			addr := strings.Trim(strings.TrimSpace(l[8:]), "<>")
			at := strings.LastIndexByte(addr, '@')
			lp, dom := addr, ""
			if at >= 0 {
				lp, dom = addr[:at], addr[at+1:]
			}
			s.CasefulLocalPart = lp
			for _, k := range []string{"domain_data", "local_part_data", "recipient_data"} {
				delete(vars, k)
			}
			vars["local_part"], vars["domain"] = strings.ToLower(lp), strings.ToLower(dom)
			vars["smtp_command"] = l
			vars["recipients_count"] = fmt.Sprint(len(rcpts))
			v := run(RCPT)
			if v == Drop {
				return out.String()
			}
			if v == Accept {
				rcpts = append(rcpts, addr)
			}
		case cmd == "DATA":
			if len(rcpts) == 0 {
				continue
			}
			delete(vars, "local_part")
			delete(vars, "domain")
			vars["recipients"] = strings.Join(rcpts, ", ")
			vars["recipients_count"] = fmt.Sprint(len(rcpts))
			v := run(Predata)
			if v == Drop {
				return out.String()
			}
			if v != Accept {
				continue
			}
			var body []string
			for i++; i < len(lines) && lines[i] != "."; i++ {
				body = append(body, lines[i])
			}
			text := strings.Join(body, "\n") + "\n"
			hs, _, _ := message.ReadHeaders(bufio.NewReader(strings.NewReader(text)))
			for _, h := range s.AddedHeaders {
				h = strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(h, ":at_start:"), ":after_received:"), ":at_start_rfc:")
				name, _, _ := strings.Cut(h, ":")
				hs = append(hs, message.Header{Name: name, Text: h + "\n", Type: ' '})
			}
			s.AddedHeaders = nil
			s.Message = &expand.HeaderBlock{Block: hs}
			vars["message_exim_id"] = "1abcde-000000-00"
			if run(Data) == Drop {
				return out.String()
			}
			s.Message = nil
			resetMsg()
			haveSender, rcpts = false, nil
		case cmd == "RSET":
			resetMsg()
			haveSender, rcpts = false, nil
		case cmd == "QUIT":
			if set(Quit) {
				run(Quit)
			}
			return out.String()
		}
	}
	return out.String()
}

// writeBHCase writes a case's configuration and files into a new
// temporary directory and returns the configuration's path and the spool.
func writeBHCase(t *testing.T, c bhCase) (path, spool string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "exigo-acl-bh-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	spool = filepath.Join(dir, "spool")
	if err := os.MkdirAll(filepath.Join(spool, "db"), 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	os.Chmod(spool, 0o777)
	os.Chmod(filepath.Join(spool, "db"), 0o777)
	for n, text := range c.files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(strings.ReplaceAll(text, "DIR", dir)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	conf := strings.ReplaceAll(c.conf, "SPOOL", spool)
	conf = strings.ReplaceAll(conf, "DIR", dir)
	if !strings.Contains(conf, "spool_directory") {
		conf = "spool_directory = " + spool + "\n" + conf
	}
	conf = "primary_hostname = test.example\n" + conf
	path = filepath.Join(dir, "exim.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, spool
}
