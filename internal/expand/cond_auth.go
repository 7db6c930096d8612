package expand

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"io"
	"net"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/strerror"
)

// defaultSaslauthdSocket is where Debian's saslauthd listens.
const defaultSaslauthdSocket = "/var/run/saslauthd/mux"

// saslauthdCond is saslauthd{{user}{password}{service}{realm}}.
// Spec: "Expansion conditions", saslauthd.
type saslauthdCond struct{ args []node }

func parseSaslauthd(p *parser, name string) (condition, error) {
	args, err := p.parseSubArgs(name, 2, 4, true)
	if err != nil {
		return nil, err
	}
	return &saslauthdCond{args: args}, nil
}

func (c *saslauthdCond) test(st *state) (bool, error) {
	args, err := st.strArgs(c.args)
	if err != nil {
		return false, err
	}
	for len(args) < 4 {
		args = append(args, "")
	}
	if args[2] == "" {
		args[2] = "smtp"
	}
	path := st.ctx.Conds.SaslauthdSocket
	if path == "" {
		path = defaultSaslauthdSocket
	}
	return saslauthdCheck(path, args)
}

// saslauthdCheck asks saslauthd over its socket: four strings (user,
// password, service, realm), each with a two-byte big-endian length; the
// answer is one such string starting "OK" or "NO".
func saslauthdCheck(path string, args []string) (bool, error) {
	conn, err := net.DialTimeout("unix", path, 30*time.Second)
	if err != nil {
		return false, errorf("cannot connect to saslauthd daemon at %s: %s", path, strerror.Text(err))
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	var req []byte
	for _, a := range args {
		req = binary.BigEndian.AppendUint16(req, uint16(len(a)))
		req = append(req, a...)
	}
	if _, err := conn.Write(req); err != nil {
		return false, errorf("failed to send request to saslauthd daemon: %s", strerror.Text(err))
	}
	var n [2]byte
	if _, err := io.ReadFull(conn, n[:]); err != nil {
		return false, errorf("failed to read response from saslauthd daemon: %s", strerror.Text(err))
	}
	resp := make([]byte, binary.BigEndian.Uint16(n[:]))
	if _, err := io.ReadFull(conn, resp); err != nil {
		return false, errorf("failed to read response from saslauthd daemon: %s", strerror.Text(err))
	}
	return strings.HasPrefix(string(resp), "OK"), nil
}

// srsCond is inbound_srs{local part}{secret}. Spec: chapter "DKIM, SPF,
// SRS and DMARC", section "SRS".
type srsCond struct{ args []node }

func parseInboundSRS(p *parser, name string) (condition, error) {
	args, err := p.parseSubArgs(name, 2, 2, false)
	if err != nil {
		return nil, err
	}
	return &srsCond{args: args}, nil
}

// srsMaxAge is how many days old an SRS timestamp may be.
const srsMaxAge = 10

func (c *srsCond) test(st *state) (bool, error) {
	args, err := st.strArgs(c.args)
	if err != nil {
		return false, err
	}
	rcpt, ok := srsDecode(args[0], args[1], st.now())
	if ok {
		st.srsRecipient = rcpt
	}
	return ok, nil
}

// srsDecode decodes an SRS0 local part "SRS0=HHHH=TT=domain=local": HHHH
// is the start of the hex HMAC-MD5, keyed by the secret, of the lower-cased
// original address and TT the day it was made. An empty secret skips both
// checks.
func srsDecode(lp, secret string, now time.Time) (string, bool) {
	if len(lp) < 5 || !strings.EqualFold(lp[:5], "SRS0=") {
		return "", false
	}
	f := strings.SplitN(lp[5:], "=", 4)
	if len(f) != 4 || f[2] == "" || f[3] == "" || strings.ContainsRune(f[3], '@') {
		return "", false
	}
	addr := strings.ToLower(f[3] + "@" + f[2])
	if secret == "" {
		return addr, true
	}
	mac := hmac.New(md5.New, []byte(secret))
	mac.Write([]byte(addr))
	if f[0] != hex.EncodeToString(mac.Sum(nil))[:4] {
		return "", false
	}
	if len(f[1]) != 2 {
		return "", false
	}
	hi, lo := strings.IndexByte(srsBase32, f[1][0]), strings.IndexByte(srsBase32, f[1][1])
	if hi < 0 || lo < 0 {
		return "", false
	}
	today := int(now.Unix()/86400) % 1024
	age := (today - (hi<<5 | lo) + 1024) % 1024
	if age > srsMaxAge {
		return "", false
	}
	return addr, true
}
