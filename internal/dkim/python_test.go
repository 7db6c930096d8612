package dkim

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/oracletest"
)

// pyReq is one request to testdata/dkimpy.py.
type pyReq struct {
	Op       string `json:"op"`
	Msg      string `json:"msg"`
	Record   string `json:"record,omitempty"`
	Key      string `json:"key,omitempty"`
	Domain   string `json:"domain,omitempty"`
	Selector string `json:"selector,omitempty"`
	Canon    string `json:"canon,omitempty"`
	Algo     string `json:"algo,omitempty"`
}

// dkimpy runs testdata/dkimpy.py once for a batch of requests with
// Debian's python3-dkim (skipping, or failing under CI, when it is
// missing).
func dkimpy(t *testing.T, reqs []pyReq) []string {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import dkim, nacl").Run(); err != nil {
		oracletest.Missing(t, "python3-dkim and python3-nacl (apt-get install python3-dkim python3-nacl)")
	}
	in, err := json.Marshal(reqs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "testdata/dkimpy.py")
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("dkimpy: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var answers []string
	if err := json.Unmarshal(out, &answers); err != nil || len(answers) != len(reqs) {
		t.Fatalf("dkimpy answered %q (%v)", out, err)
	}
	return answers
}

func tamperHeader(msg string) string { return strings.Replace(msg, "From: ", "From: X", 1) }

var pyMessages = []string{
	verifyBase,
	"From: a@example.org\nTo: b@example.net\nSubject:  folded\n  subject\t line \nDate: Fri, 27 Nov 2026 09:05:51 +0000\n\nline with trailing space   \n\ttabbed\n\n\n",
	"From: a@example.org\nSubject: " + strings.Repeat("long ", 40) + "\n\n" + strings.Repeat("y", 2000) + "\nend",
}

// TestSignVerifiedByDkimpy signs with exigo and verifies with dkimpy.
func TestSignVerifiedByDkimpy(t *testing.T) {
	keys := testKeys(t)
	var reqs []pyReq
	var want, what []string
	for _, kn := range []string{"rsa1024", "rsa2048", "ed25519"} {
		rec, err := Record(keys[kn].Public())
		if err != nil {
			t.Fatal(err)
		}
		for _, canon := range []string{"relaxed", "simple"} {
			// dkimpy knows no rsa-sha512 (Exim's own check covers it).
			for _, h := range []string{"sha256", "sha1"} {
				if kn == "ed25519" && h == "sha1" {
					continue // RFC 8463 defines ed25519-sha256 only
				}
				for mi, m := range pyMessages {
					signed := signFor(t, m, SignOptions{Domain: "example.org", Selector: kn, Key: keys[kn], Canon: canon, Hash: h, Timestamps: "600"})
					name := fmt.Sprintf("%s %s %s message %d", kn, canon, h, mi)
					reqs = append(reqs, pyReq{Op: "verify", Msg: signed, Record: rec}, pyReq{Op: "verify", Msg: tamperHeader(signed), Record: rec})
					want = append(want, "pass", "fail")
					what = append(what, name, name+" tampered")
				}
			}
		}
	}
	got := dkimpy(t, reqs)
	for i := range reqs {
		if got[i] != want[i] {
			t.Errorf("%s: dkimpy says %s\n%s", what[i], got[i], reqs[i].Msg)
		}
	}
	t.Logf("%d dkimpy verifications", len(reqs))
}

// TestVerifyDkimpySignatures signs with dkimpy and verifies with exigo:
// pass, and fail after tampering with the body or a signed header.
func TestVerifyDkimpySignatures(t *testing.T) {
	keys := testKeys(t)
	n := 0
	for _, kn := range []string{"rsa1024", "rsa2048", "ed25519"} {
		var keyText string
		if kn == "ed25519" {
			// dkimpy takes the base64 of the 32-byte seed.
			keyText = base64.StdEncoding.EncodeToString(keys[kn].(ed25519.PrivateKey).Seed())
		} else {
			b, err := MarshalPrivateKey(keys[kn])
			if err != nil {
				t.Fatal(err)
			}
			keyText = string(b)
		}
		rec, _ := Record(keys[kn].Public())
		lookup := func(ctx context.Context, name string) ([]string, error) {
			if name != kn+"._domainkey.example.org" {
				return nil, errKeyUnavailable
			}
			return []string{rec}, nil
		}
		algo := "rsa-sha256"
		if kn == "ed25519" {
			algo = "ed25519-sha256"
		}
		var reqs []pyReq
		for _, canon := range []string{"relaxed", "simple"} {
			for _, m := range pyMessages {
				reqs = append(reqs, pyReq{Op: "sign", Msg: m, Key: keyText, Domain: "example.org", Selector: kn, Canon: canon, Algo: algo})
			}
		}
		signedAll := dkimpy(t, reqs)
		for ri, req := range reqs {
			{
				canon, mi, signed := req.Canon, ri%len(pyMessages), signedAll[ri]
				check := func(what, msg, want, reason string) {
					n++
					rs := verifyString(t, msg, lookup)
					if len(rs) != 1 || rs[0].Status != want || rs[0].Reason != reason {
						t.Errorf("%s %s message %d %s: got %+v, want %s %s\n%s", kn, canon, mi, what, rs, want, reason, msg)
					}
				}
				check("as signed", signed, StatusPass, "")
				bodyAt := strings.Index(signed, "\r\n\r\n") + 4
				check("body changed", signed[:bodyAt]+"X"+signed[bodyAt:], StatusFail, ReasonBodyhashMismatch)
				check("header changed", tamperHeader(signed), StatusFail, ReasonSignatureIncorrect)
			}
		}
	}
	t.Logf("%d exigo verifications of dkimpy signatures", n)
}

func verifyString(t *testing.T, msg string, lookup KeyLookup) []Result {
	t.Helper()
	hs, _, err := message.ReadHeaders(bufio.NewReader(strings.NewReader(msg)))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(msg, "\r\n\r\n")
	body := ""
	if i >= 0 {
		body = msg[i+4:]
	} else if i = strings.Index(msg, "\n\n"); i >= 0 {
		body = msg[i+2:]
	}
	return Verify(context.Background(), hs, strings.NewReader(body), lookup, VerifyOptions{})
}
