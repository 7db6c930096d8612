package auth

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
)

func TestDecodeBase64(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"", "", true},
		{"AHVzZXIAc2VjcmV0", "\x00user\x00secret", true},
		{"AHVz ZXIA\tc2Vj\vcmV0\f\r\n", "\x00user\x00secret", true},
		{"YQ==", "a", true},
		{"YR==", "a", true},
		{"YWI=", "ab", true},
		{"YWJ=", "ab", true},
		{"YQ= =", "a", true},
		{"YWJjZA==", "abcd", true},
		{"+/+/", "\xfb\xff\xbf", true},
		{"YQ", "", false},
		{"YQ=", "", false},
		{"YQ==YQ==", "", false},
		{"YQ=a", "", false},
		{"Y===", "", false},
		{"====", "", false},
		{"=", "", false},
		{"YW-j", "", false},
		{"YW_j", "", false},
		{"YQ\xc3\xa9==", "", false},
		{"*", "", false},
	}
	for _, tt := range tests {
		got, err := DecodeBase64(tt.in)
		if (err == nil) != tt.ok || string(got) != tt.want {
			t.Errorf("DecodeBase64(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestEncodeBase64(t *testing.T) {
	for _, s := range []string{"", "a", "ab", "abc", "abcd", "Username:", "<1.2@mx.example.com>", "\x00\xff\x10"} {
		if got, want := EncodeBase64([]byte(s)), base64.StdEncoding.EncodeToString([]byte(s)); got != want {
			t.Errorf("EncodeBase64(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestSplitNUL(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", []string{""}},
		{"\x00", []string{""}},
		{"\x00\x00", []string{"", ""}},
		{"x\x00", []string{"x"}},
		{"\x00u\x00p", []string{"", "u", "p"}},
		{"x\x00\x00y", []string{"x", "", "y"}},
	}
	for _, tt := range tests {
		if got := splitNUL([]byte(tt.in)); strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("splitNUL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPrinting(t *testing.T) {
	in := "a\tb\nc\rd\be\fg\vh\x1bi\x7fj\xc3\xa9\\k"
	want := `a` + "\t" + `b\nc\rd\be\fg\vh\033i\177j\303\251\k`
	if got := printing(in); got != want {
		t.Errorf("printing = %q, want %q", got, want)
	}
}

// fakeExpander expands by table: the key is the raw string, values may
// use {1} {2} {3} for $auth1..3; "FORCED", "ERROR" and "DEFER" results
// become failures.
type fakeExpander struct {
	table    map[string]string
	comments []string
}

func (f *fakeExpander) Expand(s string, vars []string) (string, error) {
	v, ok := f.table[s]
	if !ok {
		v = s
	}
	for i := 0; i < 3; i++ {
		a := ""
		if i < len(vars) {
			a = vars[i]
		}
		v = strings.ReplaceAll(v, "{"+string(rune('1'+i))+"}", a)
	}
	switch v {
	case "FORCED":
		return "", &expand.Error{Msg: "forced", Forced: true}
	case "ERROR":
		return "", &expand.Error{Msg: "some error"}
	case "DEFER":
		return "", &expand.Error{Msg: "lookup deferred", Defer: true}
	}
	return v, nil
}

func (f *fakeExpander) Comment(l string) { f.comments = append(f.comments, l) }

func authConfig(t testing.TB, text string) *config.Config {
	t.Helper()
	cfg, err := config.LoadBytes("test.conf", []byte("primary_hostname = mx.example.com\nbegin authenticators\n"+text), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func oneServer(t *testing.T, text string) *Server {
	t.Helper()
	servers, err := NewServersOptions(authConfig(t, text), Options{
		Now:   func() time.Time { return time.Unix(1700000000, 0) },
		Nonce: func() uint32 { return 4242 },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(servers) != 1 {
		t.Fatalf("%d servers", len(servers))
	}
	return servers[0]
}

// play runs an exchange with the given answers and returns the challenges
// and the outcome.
func play(s *Server, x Expander, initial string, answers ...string) ([]string, *Outcome) {
	ex := s.Start(x, initial)
	var chs []string
	for {
		ch, more := ex.Challenge()
		if !more {
			break
		}
		chs = append(chs, ch)
		a := "*"
		if len(answers) > 0 {
			a, answers = answers[0], answers[1:]
		}
		ex.Respond(a)
	}
	return chs, ex.Outcome()
}

func TestExternalParams(t *testing.T) {
	s := oneServer(t, "ext:\n driver = external\n public_name = EXTERNAL\n server_param2 = P2\n server_param3 = P3\n server_condition = COND\n server_set_id = ID\n")
	tests := []struct {
		p2, p3, cond string
		reply, log   string
	}{
		{"x{1}", "y{2}", "yes", "235 Authentication succeeded", ""},
		{"FORCED", "y", "yes", "535 Incorrect authentication data", "535 Incorrect authentication data (set_id=id)"},
		{"ERROR", "y", "yes", "435 Unable to authenticate at present", "435 Unable to authenticate at present (set_id=id): some error"},
		{"x", "DEFER", "yes", "435 Unable to authenticate at present", "435 Unable to authenticate at present (set_id=id): lookup deferred"},
		{"x", "y", "{3}", "435 Unable to authenticate at present: y", "435 Unable to authenticate at present (set_id=id): y"},
	}
	for _, tt := range tests {
		x := &fakeExpander{table: map[string]string{"P2": tt.p2, "P3": tt.p3, "COND": tt.cond, "ID": "{1}"}}
		_, out := play(s, x, b64("id"))
		if out.Reply() != tt.reply || out.LogText != tt.log {
			t.Errorf("%+v: got %q / %q", tt, out.Reply(), out.LogText)
		}
		if out.Succeeded() && (out.AuthenticatedID != "id" || strings.Join(out.Vars, ",") != "id,xid,yxid") {
			t.Errorf("%+v: id %q vars %q", tt, out.AuthenticatedID, out.Vars)
		}
	}
}

func TestFailIDAndSetID(t *testing.T) {
	s := oneServer(t, "p:\n driver = plaintext\n public_name = PLAIN\n server_prompts = :\n server_condition = COND\n server_set_id = ID\n")
	tests := []struct {
		cond, id     string
		reply        string
		setFail      bool
		failID, auth string
		logged       bool
	}{
		{"yes", "{2}", "235 Authentication succeeded", true, "", "user", false},
		{"no", "{2}", "535 Incorrect authentication data", true, " (set_id=user)", "", true},
		{"no", "", "535 Incorrect authentication data", true, "", "", true},
		{"no", "FORCED", "535 Incorrect authentication data", true, "", "", true},
		{"yes", "FORCED", "435 Unable to authenticate at present", true, "", "", false},
		{"yes", "ERROR", "435 Unable to authenticate at present", true, "", "", false},
		{"DEFER", "{2}", "435 Unable to authenticate at present", true, " (set_id=user)", "", true},
	}
	for _, tt := range tests {
		x := &fakeExpander{table: map[string]string{"COND": tt.cond, "ID": tt.id}}
		_, out := play(s, x, b64("", "user", "pw"))
		if out.Reply() != tt.reply || out.SetFailID != tt.setFail || out.FailID != tt.failID || out.AuthenticatedID != tt.auth || (out.LogText != "") != tt.logged {
			t.Errorf("%+v: got %+v", tt, out)
		}
	}
	// Outcomes that never reach server_set_id leave $authenticated_fail_id alone.
	x := &fakeExpander{table: map[string]string{"COND": "no", "ID": "{2}"}}
	for _, in := range [][]string{{"!!!"}, {"", "*"}, {"", "%"}} {
		_, out := play(s, x, in[0], in[1:]...)
		if out.SetFailID || out.Code != CodeSyntax {
			t.Errorf("%q: got %+v", in, out)
		}
	}
}

func TestCRAMChallenge(t *testing.T) {
	s := oneServer(t, "cram:\n driver = cram_md5\n public_name = CRAM-MD5\n server_secret = secret\n")
	chs, out := play(s, &fakeExpander{}, "", "*")
	raw, _ := DecodeBase64(chs[0])
	if string(raw) != "<4242.1700000000@mx.example.com>" || out.Reply() != "501 Authentication cancelled" {
		t.Errorf("challenge %q, outcome %q", raw, out.Reply())
	}
	// Default nonces differ between exchanges.
	servers, err := NewServers(authConfig(t, "cram:\n driver = cram_md5\n public_name = CRAM-MD5\n server_secret = secret\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := servers[0].Start(&fakeExpander{}, "").Challenge()
	b, _ := servers[0].Start(&fakeExpander{}, "").Challenge()
	if a == b {
		t.Errorf("two challenges alike: %q", a)
	}
}

func TestExchangeAfterEnd(t *testing.T) {
	s := oneServer(t, "p:\n driver = plaintext\n server_condition = yes\n")
	ex := s.Start(&fakeExpander{}, "=")
	if _, more := ex.Challenge(); more {
		t.Fatal("exchange wants more")
	}
	ex.Respond("YQ==")
	if ex.Outcome().Reply() != "235 Authentication succeeded" {
		t.Errorf("got %q", ex.Outcome().Reply())
	}
	if s.Mechanism() != "P" {
		t.Errorf("mechanism %q", s.Mechanism())
	}
}

func TestNewServers(t *testing.T) {
	tests := []struct {
		conf  string
		names string
		err   string
	}{
		{"p:\n driver = plaintext\n server_prompts = :\n", "", ""},
		{"p:\n driver = plaintext\n server_condition = yes\n", "p/p", ""},
		{"p:\n driver = plaintext\n public_name = plain\n server_condition = yes\nq:\n driver = plaintext\n public_name = login\n client_send = x\n", "p/plain", ""},
		{"p:\n driver = external\n server_param2 = x\n", "", ""},
		{"p:\n driver = external\n server_condition = x\n", "p/p", ""},
		{"p:\n driver = cram_md5\n server_set_id = x\n", "", "no public name specified for the p authenticator"},
		{"p:\n driver = cram_md5\n public_name = C\n server_set_id = x\n", "", ""},
		{"p:\n driver = cram_md5\n public_name = C\n server_secret = x\n", "p/C", ""},
		{"p:\n driver = plaintext\n server_condition = yes\nq:\n driver = plaintext\n public_name = P\n server_condition = yes\n", "", "two server authenticators (p and q) have the same public name (p)"},
		{"p:\n driver = plaintext\n server_condition = yes\nq:\n driver = plaintext\n public_name = P\n client_send = yes\n", "p/p", ""},
		{"t:\n driver = tls\n server_param1 = x\n server_condition = yes\n", "", ""},
	}
	for _, tt := range tests {
		servers, err := NewServers(authConfig(t, tt.conf))
		gotErr := ""
		if err != nil {
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Errorf("%q: error %T", tt.conf, err)
			}
			gotErr = ce.Msg
		}
		var names []string
		for _, s := range servers {
			names = append(names, s.Name+"/"+s.PublicName)
		}
		if gotErr != tt.err || strings.Join(names, " ") != tt.names {
			t.Errorf("%q: got %q, %q; want %q, %q", tt.conf, names, gotErr, tt.names, tt.err)
		}
	}
}

func TestSelect(t *testing.T) {
	servers, err := NewServers(authConfig(t, "a:\n driver = plaintext\n public_name = PLAIN\n server_condition = yes\nb:\n driver = plaintext\n public_name = LOGIN\n server_condition = yes\n"))
	if err != nil {
		t.Fatal(err)
	}
	adv := []bool{true, false}
	tests := []struct{ arg, name, initial, reply string }{
		{"PLAIN", "a", "", ""},
		{"plain AHVz ", "a", "AHVz", ""},
		{"  PLAIN\t=", "a", "=", ""},
		{"LOGIN", "", "", "504 LOGIN authentication mechanism not supported"},
		{"", "", "", "504  authentication mechanism not supported"},
		{"X.Y", "", "", ReplyBadMechanism},
		{"A\xc3\xa9", "", "", ReplyBadMechanism},
	}
	for _, tt := range tests {
		s, initial, reply := Select(servers, adv, tt.arg)
		name := ""
		if s != nil {
			name = s.Name
		}
		if name != tt.name || initial != tt.initial || reply != tt.reply {
			t.Errorf("Select(%q) = %q %q %q", tt.arg, name, initial, reply)
		}
	}
}

func TestAdvertised(t *testing.T) {
	s := oneServer(t, "p:\n driver = plaintext\n server_advertise_condition = ADV\n server_condition = yes\n")
	for _, tt := range []struct {
		v    string
		want bool
		err  string
	}{
		{"", false, ""}, {"0", false, ""}, {"No", false, ""}, {"FALSE", false, ""},
		{"00", true, ""}, {"x", true, ""}, {" no", true, ""},
		{"FORCED", false, ""}, {"DEFER", false, ""},
		{"ERROR", false, `failed to expand condition "ADV" for p authenticator: some error`},
	} {
		ok, err := s.Advertised(&fakeExpander{table: map[string]string{"ADV": tt.v}})
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if ok != tt.want || gotErr != tt.err {
			t.Errorf("%q: got %v %q", tt.v, ok, gotErr)
		}
	}
}

func TestLogField(t *testing.T) {
	if got := LogField("plain", "", ""); got != "A=plain" {
		t.Error(got)
	}
	if got := LogField("plain", "user", "a@b"); got != "A=plain:user:a@b" {
		t.Error(got)
	}
	var b bytes.Buffer
	b.WriteString(oneServer(t, "p:\n driver = plaintext\n server_condition = no\n").FailureLogLine("(x) [1.2.3.4]", &Outcome{LogText: "535 Incorrect authentication data"}))
	if b.String() != "p authenticator failed for (x) [1.2.3.4]: 535 Incorrect authentication data" {
		t.Error(b.String())
	}
}
