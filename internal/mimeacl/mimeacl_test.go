package mimeacl

import (
	"fmt"
	"strings"
	"testing"
)

// The expected values below were observed with Exim 4.96 (the
// differential cases in internal/smtpserver/testdata/bh/mime_*.txt
// compare them live).

func TestMainValue(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{" Text/Plain; charset=x", "text/plain"},
		{" text/pl(c)ain", "text/plain"},
		{` Hello "Big  World" X (comment) ; z`, `hello"bigworld"x`},
		{"  Quoted-Printable (x)", "quoted-printable"},
		{` "text/plain"`, `"text/plain"`},
		{"", ""},
	} {
		if got := mainValue(c.in); got != c.want {
			t.Errorf("mainValue(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestHeaderFields(t *testing.T) {
	for _, c := range []struct {
		lines []string
		want  string // type|charset|boundary|filename
	}{
		{[]string{`Content-Type: Text/Plain; Charset="A B" ; Name = "x y.txt"`}, "text/plain|A B |||x y.txt"},
		{[]string{"Content-Type: text/plain;  charset=abc;\tname=\"q\\\"r\""}, `text/plain|abc|||q\r;`},
		{[]string{`Content-Type: multipart/mixed; boundary="b1" (comment) `}, "multipart/mixed||b1 (comment) ||"},
		{[]string{`Content-Type: text/plain; name*=iso-8859-1''f%FCo.txt`}, "text/plain||||f\xfco.txt"},
		{[]string{`Content-Type: text/plain; name*0*=utf-8''a%41; name*1=b%41`}, "text/plain||||aAbA"},
		{[]string{`Content-Type: text/plain; name*0="ab"; name*1="cd.txt"`}, "text/plain||||abcd.txt"},
		{[]string{`Content-Type: text/plain; name="=?iso-8859-1?q?f=FCo?=.txt"`}, "text/plain||||f\xfco.txt"},
		{[]string{`Content-Type: text/plain; name="=?utf-8?b?Zm9v?= =?utf-8?b?YmFy?="`}, "text/plain||||foobar"},
		{[]string{`Content-Type: text/plain; charset="a;b"`}, "text/plain|a;b|||"},
		{[]string{`Content-Type: text/plain; charset=a"b;c"d`}, "text/plain|ab;cd|||"},
		{[]string{`Content-Type: text/plain;;charset=q`}, "text/plain|q|||"},
		{[]string{"Content-Type: text/plain; name=b.txt", "Content-Disposition: attachment; filename=a.txt"}, "text/plain||||a.txt"},
		{[]string{"Content-Disposition: attachment; filename=a.txt", "Content-Type: text/html; name=b.txt"}, "text/html||||b.txt"},
	} {
		var f headerFields
		for _, l := range c.lines {
			f.apply(l)
		}
		got := strings.Join([]string{f.contentType, f.charset, f.boundary, "", f.filename}, "|")
		if got != c.want {
			t.Errorf("%q: got %q, want %q", c.lines, got, c.want)
		}
	}
}

func TestBase64(t *testing.T) {
	for _, c := range []struct {
		in, want string
		broken   bool
	}{
		{"aGVsbG8K\n", "hello\n", false},
		{"aGVsbG8K d29y\n", "hello\nwor", true},
		{"aGVsbG8\n", "hello\x00", false},
		{"aGVsbG=8K\n", "hell\x7c(", false},
		{"aGVsbA==aGVsbA==\n", "hellhell", false},
		{"a\n", "h", false},
		{"aG\n", "h`", false},
		{"====\n", "", false},
		{"b=G8K\n", "\x6d\xbc(", false},
		{"bG\n8K\n", "lo\n", false},
		{"-bG8K\n", "lo\n", true},
	} {
		got, broken := decodeBase64([]byte(c.in))
		if string(got) != c.want || broken != c.broken {
			t.Errorf("base64 %q = %q %v, want %q %v", c.in, got, broken, c.want, c.broken)
		}
	}
}

// TestBase64StaleBuffer checks that a group starting with "=" shows a
// byte left in the buffer by an earlier decoding, as Exim's does.
func TestBase64StaleBuffer(t *testing.T) {
	var d Decoder
	d.Base64([]byte("aGV\n"))
	if got, _ := d.Base64([]byte("=\n")); string(got) != "\x40" {
		t.Errorf("got %q, want \\x40", got)
	}
}

func TestQP(t *testing.T) {
	for _, c := range []struct {
		in, want string
		broken   bool
	}{
		{"a=3Db\n", "a=b\n", false},
		{"a=3db\n", "a=b\n", false},
		{"a=\nb\n", "ab\n", false},
		{"a=  \t\nb\n", "ab\n", false},
		{"a=ZZb\n", "a=ZZb\n", true},
		{"a=3\n", "a=3\n", true},
		{"a=\n", "a", false},
		{"trail  \nx\n", "trail  \nx\n", false},
		{"a=\r\nb\n", "a\nb\n", false},
		{"=\n", "", false},
	} {
		got, broken := decodeQP([]byte(c.in))
		if string(got) != c.want || broken != c.broken {
			t.Errorf("qp %q = %q %v, want %q %v", c.in, got, broken, c.want, c.broken)
		}
	}
}

func TestWalk(t *testing.T) {
	msg := "Content-Type: multipart/mixed; boundary=\"b1\"\n\n" +
		"pre\n--b1x\nContent-Type: text/plain\n\none\n" +
		"--b1\nContent-Type: multipart/alternative; boundary=b2\n\n--b2\nContent-Type: text/plain\n\na\n--b2--\nepi\n" +
		"--b1\nContent-Type: message/rfc822\n\nContent-Type: text/x\n\ninner\n" +
		"--b1\nContent-Type: image/png\n\nx\n--b1--\n--b1\n\nafter\n"
	h, b := SplitMessage([]byte(msg))
	var got []string
	n := Walk(nil, h, b, func(p *Part) bool {
		got = append(got, fmt.Sprintf("%d %s cl=%v rfc=%v %q", p.Count, p.ContentType, p.CoverLetter, p.RFC822, p.Content))
		return true
	})
	want := []string{
		`0 multipart/mixed cl=true rfc=false "pre\n--b1x\nContent-Type: text/plain\n\none\n--b1\nContent-Type: multipart/alternative; boundary=b2\n\n--b2\nContent-Type: text/plain\n\na\n--b2--\nepi\n--b1\nContent-Type: message/rfc822\n\nContent-Type: text/x\n\ninner\n--b1\nContent-Type: image/png\n\nx\n--b1--\n--b1\n\nafter\n"`,
		`1 text/plain cl=true rfc=false "one\n"`,
		`2 multipart/alternative cl=false rfc=false "--b2\nContent-Type: text/plain\n\na\n--b2--\nepi\n"`,
		`3 text/plain cl=false rfc=false "a\n"`,
		`4 message/rfc822 cl=false rfc=false "Content-Type: text/x\n\ninner\n"`,
		`5 image/png cl=false rfc=false "x\n"`,
		`0 text/x cl=true rfc=true "inner\n"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("walk:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n != 5 {
		t.Errorf("count %d, want 5", n)
	}
}

func TestMatchAllLastFirst(t *testing.T) {
	vars := map[string]string{}
	var sc *Scan
	ok, err := sc.matchLines(vars, []byte("first second third\n"), "(fir)st : (sec)ond : (t)(hi)rd")
	if err != nil || !ok || vars["regex_match_string"] != "(t)(hi)rd" || vars["regex1"] != "t" || vars["regex2"] != "hi" {
		t.Errorf("got %v %v %v", ok, err, vars)
	}
}
