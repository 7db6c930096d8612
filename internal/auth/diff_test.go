package auth

import (
	"bufio"
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/oracletest"
)

// The differential tests run real Exim with -bh (a fake SMTP session from
// 10.0.0.1 that runs AUTH for real) and drive the same client lines
// through Select and an Exchange, then compare the replies, the
// "authenticator failed" log lines and the commentary lines.

const clientHost = "(x) [10.0.0.1]"

// b64 encodes the strings joined with NULs, as a PLAIN client does.
func b64(parts ...string) string {
	return base64.StdEncoding.EncodeToString([]byte(strings.Join(parts, "\x00")))
}

// ldapDown is a Lookuper standing in for an LDAP server that is down: it
// defers with the text Exim gives for the same lookup.
type ldapDown struct{}

func (ldapDown) Find(typ, file, key string, x func(string) (string, error)) (string, bool, error) {
	return "", false, &expand.Error{Msg: "lookup type " + typ + " not available", Defer: true}
}

func (ldapDown) Query(typ, query string, x func(string) (string, error)) (string, bool, error) {
	host := strings.TrimPrefix(query, "ldap://")
	host, _, _ = strings.Cut(host, "/")
	return "", false, &expand.Error{Defer: true, Msg: fmt.Sprintf("lookup of %q gave DEFER: failed to bind the LDAP connection to server %s - ldap_bind() returned -1", query, host)}
}

// session is the exigo side of one test session: the expander with its
// commentary, and the transcript.
type session struct {
	x        *ContextExpander
	comments []string
}

func newSession(helo string) *session {
	s := &session{}
	s.x = &ContextExpander{
		Ctx: &expand.Context{
			Vars:    expand.VarMap{"sender_helo_name": helo, "primary_hostname": "mx.example.com"},
			Lookups: ldapDown{},
		},
		Comments: func(l string) { s.comments = append(s.comments, l) },
	}
	return s
}

// eximTranscript is what one Exim -bh run produced for the commands after
// EHLO: reply lines, LOG: lines and auth commentary lines.
type transcript struct {
	replies, logs, comments []string
}

func (t transcript) String() string {
	return "replies:\n  " + strings.Join(t.replies, "\n  ") + "\nlogs:\n  " + strings.Join(t.logs, "\n  ") + "\ncomments:\n  " + strings.Join(t.comments, "\n  ")
}

// isAuthComment picks the commentary lines that the auth package produces.
func isAuthComment(l string) bool {
	for _, p := range []string{"  $", "expanded string: ", "expansion failed: ", "CRAM-MD5: ", "          "} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return strings.Contains(l, " authenticator server_condition:")
}

// parseExim splits Exim's -bh output into a transcript, from after the
// EHLO reply up to (not including) the QUIT reply.
func parseExim(stdout, stderr string) (transcript, []string) {
	var tr transcript
	var ehlo []string
	lines := strings.Split(strings.ReplaceAll(stdout, "\r\n", "\n"), "\n")
	state := 0
	for _, l := range lines {
		switch state {
		case 0:
			if strings.HasPrefix(l, "250-") || strings.HasPrefix(l, "250 ") {
				ehlo = append(ehlo, l)
				if strings.HasPrefix(l, "250 ") {
					state = 1
				}
			}
		case 1:
			if strings.HasPrefix(l, "221 ") {
				state = 2
				continue
			}
			if l != "" {
				tr.replies = append(tr.replies, l)
			}
		}
	}
	for _, l := range strings.Split(stderr, "\n") {
		switch {
		case strings.HasPrefix(l, "LOG: "):
			tr.logs = append(tr.logs, strings.TrimPrefix(l, "LOG: "))
		case strings.HasPrefix(l, ">>> ") && isAuthComment(strings.TrimPrefix(l, ">>> ")):
			tr.comments = append(tr.comments, strings.TrimPrefix(l, ">>> "))
		}
	}
	return tr, ehlo
}

// runExigo plays the client lines through the auth package the way the
// SMTP server will: AUTH commands through Select and Start, answers to
// challenges through Respond.
func runExigo(t *testing.T, servers []*Server, helo string, lines []string) transcript {
	t.Helper()
	s := newSession(helo)
	var tr transcript
	adv := make([]bool, len(servers))
	any := false
	for i, srv := range servers {
		ok, err := srv.Advertised(s.x)
		if err != nil {
			tr.logs = append(tr.logs, err.Error())
		}
		adv[i] = ok
		any = any || ok
	}
	authenticated := false
	for len(lines) > 0 {
		cmd := lines[0]
		lines = lines[1:]
		if !strings.HasPrefix(strings.ToUpper(cmd), "AUTH") {
			t.Fatalf("test script line %q is not an AUTH command", cmd)
		}
		arg := strings.TrimPrefix(cmd[4:], " ")
		switch {
		case !any:
			tr.replies = append(tr.replies, ReplyNotAdvertised)
			continue
		case authenticated:
			tr.replies = append(tr.replies, ReplyAlreadyAuthenticated)
			continue
		}
		srv, initial, reply := Select(servers, adv, arg)
		if srv == nil {
			tr.replies = append(tr.replies, reply)
			continue
		}
		ex := srv.Start(s.x, initial)
		for {
			ch, more := ex.Challenge()
			if !more {
				break
			}
			tr.replies = append(tr.replies, "334 "+ch)
			if len(lines) == 0 {
				t.Fatalf("script ends inside an exchange")
			}
			ex.Respond(lines[0])
			lines = lines[1:]
		}
		out := ex.Outcome()
		tr.replies = append(tr.replies, out.Reply())
		if out.LogText != "" {
			tr.logs = append(tr.logs, srv.FailureLogLine(clientHost, out))
		}
		authenticated = authenticated || out.Succeeded()
	}
	for _, c := range s.comments {
		for _, l := range strings.Split(c, "\n") {
			if isAuthComment(l) {
				tr.comments = append(tr.comments, l)
			}
		}
	}
	return tr
}

type diffCase struct {
	name  string
	conf  string
	macro string // value of -DPR=
	helo  string // EHLO name; "x" when empty
	lines []string
}

func diffCases() []diffCase {
	good := b64("", "user", "secret")
	c := []diffCase{
		// PLAIN (spec 34.4).
		{name: "plain-good", conf: "plain", lines: []string{"AUTH PLAIN " + good}},
		{name: "plain-bad-password", conf: "plain", lines: []string{"AUTH PLAIN " + b64("", "user", "wrong")}},
		{name: "plain-unknown-user", conf: "plain", lines: []string{"AUTH PLAIN " + b64("", "nobody", "secret")}},
		{name: "plain-empty-prompt", conf: "plain", lines: []string{"AUTH PLAIN", good}},
		{name: "plain-empty-prompt-bad", conf: "plain", lines: []string{"AUTH PLAIN", b64("", "user", "x")}},
		{name: "plain-lowercase", conf: "plain", lines: []string{"auth plain " + good}},
		{name: "plain-equals", conf: "plain", lines: []string{"AUTH PLAIN ="}},
		{name: "plain-four-strings", conf: "plain", lines: []string{"AUTH PLAIN " + b64("", "user", "secret", "extra")}},
		{name: "plain-many-strings", conf: "plain", lines: []string{"AUTH PLAIN " + b64("a", "b", "c", "d", "e", "f")}},
		{name: "plain-trailing-nul", conf: "plain", lines: []string{"AUTH PLAIN " + b64("", "x", "")}},
		{name: "plain-empty-answer", conf: "plain", lines: []string{"AUTH PLAIN", ""}},
		{name: "plain-twice", conf: "plain", lines: []string{"AUTH PLAIN " + good, "AUTH PLAIN " + good}},
		{name: "plain-fail-then-good", conf: "plain", lines: []string{"AUTH PLAIN " + b64("", "user", "x"), "AUTH PLAIN " + good}},
		{name: "plain-escaped-setid", conf: "plain", lines: []string{"AUTH PLAIN " + b64("", "a\tb\nc\rd\be\fg\vh\x1bi\x7fjé\\k", "x")}},
		// Base64 (observed decoder rules).
		{name: "b64-garbage", conf: "plain", lines: []string{"AUTH PLAIN !!!"}},
		{name: "b64-spaces-inside", conf: "plain", lines: []string{"AUTH PLAIN AHVz ZXIA c2Vj\tcmV0"}},
		{name: "b64-extra-word", conf: "plain", lines: []string{"AUTH PLAIN " + good + " extra"}},
		{name: "b64-bad-padding", conf: "plain", lines: []string{"AUTH PLAIN AHVzZXIAc2VjcmV0="}},
		{name: "b64-pad-middle", conf: "plain", lines: []string{"AUTH PLAIN YWI=YQ=="}},
		{name: "b64-short", conf: "plain", lines: []string{"AUTH PLAIN YQ"}},
		{name: "b64-unused-bits", conf: "plain", lines: []string{"AUTH PLAIN YR=="}},
		{name: "b64-split-padding", conf: "plain", lines: []string{"AUTH PLAIN YQ= ="}},
		{name: "b64-url-alphabet", conf: "plain", lines: []string{"AUTH PLAIN YW-j"}},
		{name: "b64-answer-equals", conf: "plain", lines: []string{"AUTH PLAIN", "="}},
		{name: "b64-answer-bad", conf: "plain", lines: []string{"AUTH PLAIN", "Y==="}},
		{name: "b64-star-initial", conf: "plain", lines: []string{"AUTH PLAIN *"}},
		// Cancellation.
		{name: "cancel-plain", conf: "plain", lines: []string{"AUTH PLAIN", "*"}},
		{name: "cancel-star-space", conf: "plain", lines: []string{"AUTH PLAIN", "* "}},
		{name: "cancel-login-password", conf: "plain", lines: []string{"AUTH LOGIN", b64("user"), "*"}},
		// LOGIN (spec 34.5).
		{name: "login-good", conf: "plain", lines: []string{"AUTH LOGIN", b64("user"), b64("secret")}},
		{name: "login-bad", conf: "plain", lines: []string{"AUTH LOGIN", b64("user"), b64("nope")}},
		{name: "login-initial-user", conf: "plain", lines: []string{"AUTH LOGIN " + b64("user"), b64("secret")}},
		{name: "login-both-in-one", conf: "plain", lines: []string{"AUTH LOGIN", b64("user", "secret")}},
		{name: "login-initial-both", conf: "plain", lines: []string{"AUTH LOGIN " + b64("user", "secret")}},
		{name: "login-empty-answers", conf: "plain", lines: []string{"AUTH LOGIN", "", ""}},
		{name: "login-bad-b64-password", conf: "plain", lines: []string{"AUTH LOGIN", b64("user"), "%%%%"}},
		// Mechanism selection.
		{name: "mech-unknown", conf: "plain", lines: []string{"AUTH FOO"}},
		{name: "mech-empty", conf: "plain", lines: []string{"AUTH"}},
		{name: "mech-bad-char", conf: "plain", lines: []string{"AUTH A.B"}},
		{name: "mech-underscore", conf: "plain", lines: []string{"AUTH a_b"}},
		{name: "mech-two-spaces", conf: "plain", lines: []string{"AUTH  PLAIN  " + good}},
		// CRAM-MD5 without a computed digest.
		{name: "cram-initial-data", conf: "plain", lines: []string{"AUTH CRAM-MD5 " + b64("abc")}},
		{name: "cram-initial-equals", conf: "plain", lines: []string{"AUTH CRAM-MD5 ="}},
	}
	// server_condition truth rules (spec 33.1).
	for _, p := range []string{"yes", "YES", "True", "1", "0", "no", "FALSE", "", "maybe", " yes", "yes ", "01", "2", "y", "forced", "error", "defer"} {
		c = append(c, diffCase{name: "cond-" + p, conf: "cond", lines: []string{"AUTH PLAIN " + b64("", "user", p)}})
	}
	// server_set_id failures, on success and on failure.
	for _, u := range []string{"nosetid", "errsetid", "emptyid"} {
		for _, p := range []string{"yes", "no", "maybe", "error"} {
			c = append(c, diffCase{name: "setid-" + u + "-" + p, conf: "cond", lines: []string{"AUTH PLAIN " + b64("", u, p)}})
		}
	}
	// server_prompts lists and expansion failures (spec 34.2).
	x := b64("x")
	for _, pc := range []struct {
		pr    string
		lines []string
	}{
		{"", []string{"AUTH PLAIN"}},
		{":", []string{"AUTH PLAIN", x}},
		{"::", []string{"AUTH PLAIN", x}},
		{"a:b", []string{"AUTH PLAIN", x, x}},
		{"a::b", []string{"AUTH PLAIN", x}},
		{"a : : b", []string{"AUTH PLAIN", x, x, x}},
		{"a : b :", []string{"AUTH PLAIN", x, x}},
		{"<; a;b", []string{"AUTH PLAIN", x, x}},
		{"${if eq{a}{b}{x}fail}", []string{"AUTH PLAIN"}},
		{"${eval:1+}", []string{"AUTH PLAIN " + x}},
		{"$primary_hostname : é", []string{"AUTH PLAIN", x, x}},
		{"a:b:c", []string{"AUTH PLAIN " + b64("x", "y"), x}},
	} {
		c = append(c, diffCase{name: "prompts-" + pc.pr, conf: "prompts", macro: pc.pr, lines: pc.lines})
	}
	// EXTERNAL (spec 41.2).
	for _, id := range []string{"good", "bad", "nocond", "a\x00b"} {
		c = append(c, diffCase{name: "external-" + id, conf: "external", lines: []string{"AUTH EXTERNAL " + b64(id)}})
	}
	c = append(c,
		diffCase{name: "external-prompt", conf: "external", lines: []string{"AUTH EXTERNAL", b64("good")}},
		diffCase{name: "external-cancel", conf: "external", lines: []string{"AUTH EXTERNAL", "*"}},
		diffCase{name: "external-empty", conf: "external", lines: []string{"AUTH EXTERNAL ="}},
		diffCase{name: "external-bad-b64", conf: "external", lines: []string{"AUTH EXTERNAL", "="}},
	)
	// Advertising (spec 33.3).
	for _, h := range []string{"yes", "no", "0", "1", "false", "NO", "False", "x", "00", "forced", "error", "defer", "loginonly"} {
		c = append(c, diffCase{name: "advertise-" + h, conf: "advertise", helo: h, lines: []string{"AUTH PLAIN " + b64("", "a", "b"), "AUTH LOGIN"}})
	}
	return c
}

func loadConfig(t *testing.T, conf, macro string) (string, *config.Config) {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("testdata", conf+".conf"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.Options{Macros: []config.Macro{{Name: "PR", Value: macro}}})
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	return path, cfg
}

func TestDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	cases := diffCases()
	t.Logf("%d cases", len(cases))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path, cfg := loadConfig(t, tc.conf, tc.macro)
			servers, err := NewServers(cfg)
			if err != nil {
				t.Fatal(err)
			}
			helo := tc.helo
			if helo == "" {
				helo = "x"
			}
			in := "EHLO " + helo + "\r\n" + strings.Join(tc.lines, "\r\n") + "\r\nQUIT\r\n"
			res := oracletest.Run(t, exim, in, "-C", path, "-DPR="+tc.macro, "-bh", "10.0.0.1")
			want, ehlo := parseExim(res.Stdout, res.Stderr)
			got := runExigo(t, servers, helo, tc.lines)
			// The AUTH line of the EHLO reply.
			var wantAdv string
			for _, l := range ehlo {
				if strings.HasPrefix(l, "250-AUTH") {
					wantAdv = l
				}
			}
			var mechs []string
			s := newSession(helo)
			for _, srv := range servers {
				if ok, _ := srv.Advertised(s.x); ok {
					mechs = append(mechs, srv.Mechanism())
				}
			}
			gotAdv := ""
			if len(mechs) > 0 {
				gotAdv = "250-AUTH " + strings.Join(mechs, " ")
			}
			if gotAdv != wantAdv || strings.Join(got.replies, "\n") != strings.Join(want.replies, "\n") ||
				strings.Join(got.logs, "\n") != strings.Join(want.logs, "\n") ||
				strings.Join(got.comments, "\n") != strings.Join(want.comments, "\n") {
				t.Errorf("advertised: got %q want %q\nexigo:\n%s\nexim:\n%s", gotAdv, wantAdv, got, want)
			}
		})
	}
}

// cramRun drives one CRAM-MD5 exchange through a live Exim -bh over pipes:
// it reads Exim's challenge, answers it with answer(challenge), and
// returns Exim's transcript and the challenge.
func cramRun(t *testing.T, exim, path string, answer func(ch string) string) (transcript, string, string) {
	t.Helper()
	cmd := exec.Command(exim, "-C", path, "-bh", "10.0.0.1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
	}()
	r := bufio.NewReader(stdout)
	var out strings.Builder
	readUntil := func(prefix string) string {
		for {
			l, err := r.ReadString('\n')
			out.WriteString(l)
			if strings.HasPrefix(l, prefix) {
				return strings.TrimRight(l, "\r\n")
			}
			if err != nil {
				t.Fatalf("exim output ended before %q: %v\n%s", prefix, err, out.String())
			}
		}
	}
	readUntil("220 ")
	io.WriteString(stdin, "EHLO x\r\n")
	readUntil("250 ")
	io.WriteString(stdin, "AUTH CRAM-MD5\r\n")
	l := readUntil("334 ")
	raw, err := base64.StdEncoding.DecodeString(l[4:])
	if err != nil {
		t.Fatalf("challenge %q: %v", l, err)
	}
	resp := answer(string(raw))
	io.WriteString(stdin, resp+"\r\nQUIT\r\n")
	stdin.Close()
	rest, _ := io.ReadAll(r)
	out.Write(rest)
	_ = cmd.Wait()
	tr, _ := parseExim(out.String(), stderr.String())
	return tr, string(raw), resp
}

// TestDifferentialCRAM answers Exim's own CRAM-MD5 challenge (read from a
// live -bh session) and feeds the same challenge, through Options, and the
// same answer to an exigo exchange.
func TestDifferentialCRAM(t *testing.T) {
	exim := oracletest.Exim(t)
	digest := func(secret, ch string) string {
		m := hmac.New(md5.New, []byte(secret))
		m.Write([]byte(ch))
		return hex.EncodeToString(m.Sum(nil))
	}
	long := "0123456789012345678901234567890123456789012345678901234567890123456789"
	cases := []struct {
		name   string
		answer func(ch string) string
	}{
		{"good", func(ch string) string { return "user " + digest("secret", ch) }},
		{"wrong-secret", func(ch string) string { return "user " + digest("wrong", ch) }},
		{"upper-hex", func(ch string) string { return "user " + strings.ToUpper(digest("secret", ch)) }},
		{"short-digest", func(ch string) string { return "user " + digest("secret", ch)[1:] }},
		{"long-digest", func(ch string) string { return "user " + digest("secret", ch) + "00" }},
		{"two-spaces", func(ch string) string { return "user  " + digest("secret", ch) }},
		{"tab", func(ch string) string { return "user\t" + digest("secret", ch) }},
		{"no-space", func(ch string) string { return "user" }},
		{"empty-user", func(ch string) string { return " " + digest("secret", ch) }},
		{"space-in-user", func(ch string) string { return "us er " + digest("secret", ch) }},
		{"long-key", func(ch string) string { return "long " + digest(long, ch) }},
		{"secret-forced", func(ch string) string { return "forced " + digest("secret", ch) }},
		{"secret-error", func(ch string) string { return "error " + digest("secret", ch) }},
		{"secret-error-short", func(ch string) string { return "error 0123" }},
		{"condition-no", func(ch string) string { return "condno " + digest("secret", ch) }},
		{"hex-garbage", func(ch string) string { return "user 0123456789abcdef0123456789abcdeX" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path, cfg := loadConfig(t, "cram", "")
			want, ch, resp := cramRun(t, exim, path, func(ch string) string {
				return base64.StdEncoding.EncodeToString([]byte(tc.answer(ch)))
			})
			var nonce uint32
			var stamp int64
			if _, err := fmt.Sscanf(ch, "<%d.%d@", &nonce, &stamp); err != nil {
				t.Fatalf("challenge %q: %v", ch, err)
			}
			servers, err := NewServersOptions(cfg, Options{
				Now:   func() time.Time { return time.Unix(stamp, 0) },
				Nonce: func() uint32 { return nonce },
			})
			if err != nil {
				t.Fatal(err)
			}
			got := runExigo(t, servers, "x", []string{"AUTH CRAM-MD5", resp})
			if strings.Join(got.replies, "\n") != strings.Join(want.replies, "\n") ||
				strings.Join(got.logs, "\n") != strings.Join(want.logs, "\n") ||
				strings.Join(got.comments, "\n") != strings.Join(want.comments, "\n") {
				t.Errorf("exigo:\n%s\nexim:\n%s", got, want)
			}
		})
	}
}

// TestDifferentialConfig compares the configuration errors of NewServers
// with Exim's -bV.
func TestDifferentialConfig(t *testing.T) {
	exim := oracletest.Exim(t)
	for _, conf := range []string{
		"p:\n driver = cram_md5\n server_secret = x\n",
		"p:\n driver = cram_md5\n client_secret = x\n",
		"p:\n driver = plaintext\n server_condition = yes\nq:\n driver = plaintext\n public_name = P\n server_condition = yes\n",
		"p:\n driver = plaintext\n public_name = plain\n server_condition = yes\nq:\n driver = cram_md5\n public_name = PLAIN\n server_secret = yes\n",
		"p:\n driver = plaintext\n public_name = plain\n server_condition = yes\nq:\n driver = plaintext\n public_name = PLAIN\n client_send = x\n",
	} {
		text := "primary_hostname = mx.example.com\nkeep_environment =\nbegin authenticators\n" + conf
		path := oracletest.WriteConfig(t, text)
		res := oracletest.Run(t, exim, "", "-C", path, "-bV")
		want := ""
		if i := strings.Index(res.Stderr, "Exim configuration error"); i >= 0 {
			want = strings.TrimSpace(res.Stderr[i:])
		}
		cfg, err := config.Load(path, config.Options{})
		if err != nil {
			t.Fatalf("config: %v", err)
		}
		got := ""
		if _, err := NewServers(cfg); err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("%q:\n got %q\nwant %q", conf, got, want)
		}
	}
}
