// The server side of the plaintext, cram_md5 and external drivers.

package auth

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/exigo-mta/exigo/internal/lists"
)

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }

// startPlaintext runs the plaintext driver (spec 34.3): server_prompts is
// expanded and split as a colon list; the strings sent with AUTH and in
// answer to the prompts (each NUL-separated) fill $auth1..; once there are
// at least as many strings as prompts, server_condition decides.
func (e *exchange) startPlaintext(initial string) {
	var prompts []string
	if raw, ok := e.srv.option("server_prompts"); ok {
		v, err := e.expand(raw)
		if err != nil {
			// "If expansion fails, a temporary authentication rejection
			// is given" (spec 34.2), forced or not.
			e.temporary("", "", err.Error())
			return
		}
		prompts = lists.Split(v, ':')
	}
	if initial != "" {
		data, err := decodeInitial(initial)
		if err != nil {
			e.finish(CodeSyntax, TextBadBase64, "", false)
			return
		}
		e.vars = splitNUL(data)
	}
	e.plaintextStep(prompts)
}

func (e *exchange) plaintextStep(prompts []string) {
	if len(e.vars) >= len(prompts) {
		e.conclude(resOK, "", "")
		return
	}
	e.ask([]byte(prompts[len(e.vars)]), func(data []byte) {
		e.vars = append(e.vars, splitNUL(data)...)
		e.plaintextStep(prompts)
	})
}

// startCRAM runs the cram_md5 driver (spec 35.1, RFC 2195): the challenge
// is "<N.TIME@primary_hostname>"; the answer is the user name, one white
// space character and the 32 lower-case hex digits of the HMAC-MD5 of the
// challenge keyed with server_secret, which is expanded with $auth1 set to
// the user name.
func (e *exchange) startCRAM(initial string) {
	if initial != "" {
		e.finish(CodeNoInitial, TextNoInitial, "", false)
		return
	}
	challenge := fmt.Sprintf("<%d.%d@%s>", e.srv.nonce(), e.srv.now().Unix(), e.srv.hostname)
	e.ask([]byte(challenge), func(data []byte) {
		user, digest := string(data), ""
		if i := strings.IndexFunc(user, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) }); i >= 0 {
			user, digest = user[:i], user[i+1:]
		}
		e.vars = []string{user}
		if len(digest) != 32 {
			e.conclude(resFail, "", "")
			return
		}
		raw, _ := e.srv.option("server_secret")
		secret, err := e.expand(raw)
		if err != nil {
			if isForced(err) {
				e.conclude(resFail, "", "")
			} else {
				e.conclude(resDefer, "", err.Error())
			}
			return
		}
		mac := hmac.New(md5.New, []byte(secret))
		mac.Write([]byte(challenge))
		want := hex.EncodeToString(mac.Sum(nil))
		e.comment("CRAM-MD5: user name = %s", user)
		e.comment("          challenge = %s", challenge)
		e.comment("          received  = %s", digest)
		e.comment("          digest    = %s", want)
		if subtle.ConstantTimeCompare([]byte(want), []byte(digest)) != 1 {
			e.conclude(resFail, "", "")
			return
		}
		e.conclude(resOK, "", "")
	})
}

// startExternal runs the external driver (spec 41.2, RFC 4422 appendix
// A): the identity comes with AUTH or in answer to an empty challenge and
// is split like plaintext data into $auth1..; server_param2 and
// server_param3, when set, are expanded in turn into $auth2 and $auth3
// (forced failure fails, another failure is temporary); server_condition
// decides. (Exim 4.96 crashes when either param fails to expand; exigo
// does what the specification says.)
func (e *exchange) startExternal(initial string) {
	if initial != "" {
		data, err := decodeInitial(initial)
		if err != nil {
			e.finish(CodeSyntax, TextBadBase64, "", false)
			return
		}
		e.external(data)
		return
	}
	e.ask(nil, e.external)
}

func (e *exchange) external(data []byte) {
	e.vars = splitNUL(data)
	for i, name := range []string{"server_param2", "server_param3"} {
		raw, ok := e.srv.option(name)
		if !ok {
			continue
		}
		v, err := e.expand(raw)
		if err != nil {
			if isForced(err) {
				e.conclude(resFail, "", "")
			} else {
				e.conclude(resDefer, "", err.Error())
			}
			return
		}
		for len(e.vars) < i+2 {
			e.vars = append(e.vars, "")
		}
		e.vars[i+1] = v
	}
	e.conclude(resOK, "", "")
}
