package auth

import (
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzDecodeBase64 checks the decoder against the standard library on the
// strings both accept, and that it never panics.
func FuzzDecodeBase64(f *testing.F) {
	for _, s := range []string{"", "YQ==", "YR==", "AHVz ZXIA", "YQ= =", "====", "Y===", "+/+/", "YWI=YQ=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := DecodeBase64(s)
		if err != nil {
			return
		}
		// Canonical encodings must round-trip.
		if back := EncodeBase64(got); !strings.ContainsAny(s, " \t\n\v\f\r") {
			if std, err := base64.StdEncoding.Strict().DecodeString(s); err == nil && string(std) != string(got) {
				t.Fatalf("%q: got %q, std %q", s, got, std)
			}
			if d, err := DecodeBase64(back); err != nil || string(d) != string(got) {
				t.Fatalf("%q: re-encoding %q does not decode back", s, back)
			}
		}
	})
}

// FuzzExchange plays an initial response and client lines (separated by
// newlines in the input) through each driver and checks that every
// exchange ends with one of Exim's replies.
func FuzzExchange(f *testing.F) {
	f.Add("AHVzZXIAc2VjcmV0", "")
	f.Add("", "dXNlcg==\nc2VjcmV0")
	f.Add("", "*")
	f.Add("=", "")
	f.Add("", "dXNlciAwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZg==")
	f.Add("!!", "====")
	conf := "plain:\n driver = plaintext\n public_name = PLAIN\n server_prompts = a : b : c\n server_condition = COND\n server_set_id = {1}\n" +
		"cram:\n driver = cram_md5\n public_name = CRAM-MD5\n server_secret = {1}\n server_set_id = {1}\n" +
		"ext:\n driver = external\n public_name = EXTERNAL\n server_param2 = {1}\n server_condition = COND\n"
	servers, err := NewServers(authConfig(f, conf))
	if err != nil {
		f.Fatal(err)
	}
	codes := map[string]bool{
		"235 " + TextSucceeded: true, "535 " + TextIncorrect: true, "435 " + TextTemporary: true,
		"501 " + TextBadBase64: true, "501 " + TextCancelled: true, "553 " + TextNoInitial: true,
	}
	f.Fuzz(func(t *testing.T, initial, script string) {
		lines := strings.Split(script, "\n")
		for _, s := range servers {
			x := &fakeExpander{table: map[string]string{"COND": "{2}"}}
			ex := s.Start(x, initial)
			for i := 0; ; i++ {
				ch, more := ex.Challenge()
				if !more {
					break
				}
				if _, err := DecodeBase64(ch); err != nil {
					t.Fatalf("bad challenge %q", ch)
				}
				if i > len(lines)+4 {
					t.Fatalf("%s: exchange does not end", s.Name)
				}
				l := "*"
				if i < len(lines) {
					l = lines[i]
				}
				ex.Respond(l)
			}
			out := ex.Outcome()
			r := out.Reply()
			if !codes[r] && !strings.HasPrefix(r, "435 "+TextTemporary+": ") {
				t.Fatalf("%s: unexpected reply %q", s.Name, r)
			}
			if out.Succeeded() != (out.LogText == "" && out.Code == CodeSucceeded) {
				t.Fatalf("%s: %+v", s.Name, out)
			}
		}
	})
}
