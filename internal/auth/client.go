// The client side of the plaintext, cram_md5 and external drivers, used
// by the smtp transport for hosts_require_auth and hosts_try_auth (Exim
// specification chapter "SMTP authentication", section "Authentication
// by an Exim client", and the client options of each driver).

package auth

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/lists"
)

// Client is one configured authenticator with its client side enabled.
// It is immutable and safe for concurrent use.
type Client struct {
	// Name is the instance name; Driver the driver; PublicName the
	// mechanism it offers (public_name, or the instance name).
	Name, Driver, PublicName string

	opts *config.OptionSet
}

// NewClients returns the authenticators of cfg whose client side is
// configured (client_send, or client_name and client_secret), in
// configuration order.
func NewClients(cfg *config.Config) []*Client {
	var out []*Client
	for _, d := range cfg.Authenticators {
		o := d.Options
		ok := false
		switch d.Driver {
		case "plaintext", "external":
			ok = o.IsSet("client_send")
		case "cram_md5":
			ok = o.IsSet("client_secret")
		}
		if !ok {
			continue
		}
		pub := d.Name
		if o.IsSet("public_name") {
			pub = o.String("public_name")
		}
		out = append(out, &Client{Name: d.Name, Driver: d.Driver, PublicName: pub, opts: o})
	}
	return out
}

// ClientResult is the outcome of a client authentication.
type ClientResult int

// Client outcomes: the server accepted; the server rejected (5xx, try
// the next authenticator); a temporary failure (4xx, an expansion
// failure, a lost connection: the host is deferred); the authenticator
// declined (a forced expansion failure, client_condition false: try the
// next one).
const (
	ClientOK ClientResult = iota
	ClientFailed
	ClientDefer
	ClientDeclined
)

// ClientConn is the SMTP connection as the authenticator sees it. Command
// sends one line (without CRLF) and returns the reply's code and its text
// (the lines after the code, joined by newlines).
type ClientConn interface {
	Command(line string) (code int, text string, err error)
}

// ClientExpander expands client options with $auth1.. set from the
// server's challenges (vars), as Expander does for the server side.
type ClientExpander = Expander

// Authenticate runs the client exchange on conn. The error, when set,
// explains a ClientDefer or ClientFailed result in Exim's words.
func (c *Client) Authenticate(conn ClientConn, x ClientExpander) (ClientResult, error) {
	if cond := c.opts.String("client_condition"); cond != "" {
		v, err := x.Expand(cond, nil)
		if err != nil || v == "" || v == "0" || strings.EqualFold(v, "no") || strings.EqualFold(v, "false") {
			return ClientDeclined, nil
		}
	}
	switch c.Driver {
	case "plaintext", "external":
		return c.plaintext(conn, x)
	case "cram_md5":
		return c.cramMD5(conn, x)
	}
	return ClientDeclined, nil
}

// plaintext sends the items of client_send (spec 34.5): the first with
// the AUTH command, the others in answer to 334 challenges; "^" stands
// for a NUL byte ("^^" for a caret). $auth1.. hold the decoded
// challenges.
func (c *Client) plaintext(conn ClientConn, x ClientExpander) (ClientResult, error) {
	items := lists.Split(c.opts.String("client_send"), ':')
	var challenges []string
	cmd := "AUTH " + c.PublicName
	for i, item := range items {
		v, err := x.Expand(item, challenges)
		if err != nil {
			if isForced(err) {
				if i > 0 {
					conn.Command("*")
				}
				return ClientDeclined, nil
			}
			return ClientDefer, fmt.Errorf("expansion of \"%s\" failed: %w", item, err)
		}
		data := EncodeBase64([]byte(caretNUL(v)))
		line := data
		if i == 0 {
			line = cmd
			if data != "" {
				line += " " + data
			} else {
				line += " ="
			}
		}
		code, text, err := conn.Command(line)
		if err != nil {
			return ClientDefer, err
		}
		last := i == len(items)-1
		switch {
		case code == 334 && !last:
			dec, err := DecodeBase64(strings.TrimSpace(text))
			if err != nil {
				conn.Command("*")
				//lint:ignore ST1005 the text is Exim's
				return ClientFailed, errors.New("Invalid base64 string in server response")
			}
			challenges = append(challenges, string(dec))
		case code == 334 && last:
			conn.Command("*")
			//lint:ignore ST1005 the text is Exim's
			return ClientFailed, fmt.Errorf("Too few items in client_send in %s authenticator", c.Name)
		default:
			return codeResult(code, text)
		}
	}
	return ClientFailed, nil
}

// cramMD5 answers the challenge with client_name, a space and the hex
// HMAC-MD5 of the challenge keyed with client_secret (spec 35.3).
func (c *Client) cramMD5(conn ClientConn, x ClientExpander) (ClientResult, error) {
	name, err := x.Expand(c.opts.String("client_name"), nil)
	if err == nil && !c.opts.IsSet("client_name") {
		name = ""
	}
	if err != nil {
		if isForced(err) {
			return ClientDeclined, nil
		}
		return ClientDefer, fmt.Errorf("expansion of client_name failed: %w", err)
	}
	secret, err := x.Expand(c.opts.String("client_secret"), nil)
	if err != nil {
		if isForced(err) {
			return ClientDeclined, nil
		}
		return ClientDefer, fmt.Errorf("expansion of client_secret failed: %w", err)
	}
	code, text, err := conn.Command("AUTH " + c.PublicName)
	if err != nil {
		return ClientDefer, err
	}
	if code != 334 {
		return codeResult(code, text)
	}
	chal, err := DecodeBase64(strings.TrimSpace(text))
	if err != nil {
		conn.Command("*")
		//lint:ignore ST1005 the text is Exim's
		return ClientFailed, errors.New("Invalid base64 string in server response")
	}
	code, text, err = conn.Command(EncodeBase64([]byte(CRAMResponse(name, secret, string(chal)))))
	if err != nil {
		return ClientDefer, err
	}
	return codeResult(code, text)
}

// CRAMResponse is the CRAM-MD5 answer for a challenge (RFC 2195).
func CRAMResponse(name, secret, challenge string) string {
	m := hmac.New(md5.New, []byte(secret))
	m.Write([]byte(challenge))
	return name + " " + hex.EncodeToString(m.Sum(nil))
}

func codeResult(code int, text string) (ClientResult, error) {
	switch {
	case code == 235:
		return ClientOK, nil
	case code >= 400 && code < 500:
		return ClientDefer, fmt.Errorf("%d %s", code, text)
	}
	return ClientFailed, fmt.Errorf("%d %s", code, text)
}

// caretNUL turns "^" into NUL and "^^" into "^".
func caretNUL(s string) string {
	if !strings.Contains(s, "^") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '^' {
			if i+1 < len(s) && s[i+1] == '^' {
				b.WriteByte('^')
				i++
				continue
			}
			b.WriteByte(0)
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
