package tlsserver

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/strerror"
)

// Session is what the TLS layer needs from the SMTP session.
type Session interface {
	// Expand expands an option value in the session's context with
	// $tls_in_sni set to sni (empty before the client's hello is read).
	// A forced failure must satisfy expand.IsForced.
	Expand(s, sni string) (string, error)
	// MatchHosts reports whether the client host matches a host list
	// option value (unexpanded; the session expands and matches it).
	MatchHosts(list string) (bool, error)
}

// LogLine is a line to write at startup or when TLS fails.
type LogLine struct {
	Text string
	// Panic says the line goes to the paniclog as well as the mainlog.
	Panic bool
}

// SetupError means TLS cannot start: the client's STARTTLS gets Reply
// and the session goes on in clear. Exim writes Log lines first, then
// "TLS error on connection from HOST " + Detail (see LogText).
type SetupError struct {
	Log    []LogLine
	Detail string
}

// Reply is the SMTP answer to STARTTLS when the setup failed.
const Reply = "454 TLS currently unavailable"

func (e *SetupError) Error() string { return "TLS setup failed: " + e.Detail }

// LogText is the mainlog line for a client described as host
// ("(helo) [ip]").
func (e *SetupError) LogText(host string) string {
	return "TLS error on connection from " + host + " " + e.Detail
}

// HandshakeError is a failed handshake: Exim logs Log lines (e.g. "TLS ALPN
// (a:b) rejected"), then "TLS error on connection from HOST " + Detail,
// and drops the connection. A handshake timeout also makes Exim log
// "SMTP command timeout on connection from HOST" and answer "421 HOST:
// SMTP command timeout - closing connection" in clear (Timeout is set).
type HandshakeError struct {
	Log     []LogLine
	Detail  string
	Timeout bool
	Err     error // Go's error
}

func (e *HandshakeError) Error() string { return "TLS handshake failed: " + e.Detail }

// Unwrap returns Go's error.
func (e *HandshakeError) Unwrap() error { return e.Err }

// LogText is the mainlog line for a client described as host.
func (e *HandshakeError) LogText(host string) string {
	return "TLS error on connection from " + host + " " + e.Detail
}

// Config is the server TLS configuration from the main options.
type Config struct {
	certificate, privatekey, crl, ocspFile string
	verifyCerts, verifyHosts, tryVerify    string
	advertise, alpn, requireCiphers        string
	sniReexpand                            bool
	static                                 *Priority // parsed at New when the option has no "$"
	self                                   *selfSigned
	// HandshakeTimeout bounds the handshake (smtp_receive_timeout).
	HandshakeTimeout time.Duration
	// Warnings are what tls_require_ciphers asks for that Go cannot do.
	Warnings []string
	// Startup lists what Exim logs when a daemon starts with this
	// configuration (no certificate, missing tls_verify_certificates).
	Startup []LogLine
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// New reads the main TLS options. x, if not nil, expands
// tls_require_ciphers for the startup check (Exim checks it when the
// daemon starts: an invalid string is a configuration error, returned as
// a *config.Error with Exim's text).
func New(cfg *config.Config, x Session) (*Config, error) {
	m := cfg.Main
	c := &Config{
		certificate:      m.String("tls_certificate"),
		privatekey:       m.String("tls_privatekey"),
		crl:              m.String("tls_crl"),
		ocspFile:         m.String("tls_ocsp_file"),
		verifyCerts:      m.String("tls_verify_certificates"),
		verifyHosts:      m.String("tls_verify_hosts"),
		tryVerify:        m.String("tls_try_verify_hosts"),
		advertise:        m.String("tls_advertise_hosts"),
		alpn:             m.String("tls_alpn"),
		requireCiphers:   m.String("tls_require_ciphers"),
		HandshakeTimeout: 5 * time.Minute,
	}
	// Spec 43.12: tls_in_sni in tls_certificate makes the certificate
	// options be expanded again once the client's SNI is known.
	c.sniReexpand = strings.Contains(c.certificate, "tls_in_sni")
	if d, ok := config.ParseTime(m.String("smtp_receive_timeout")); ok {
		c.HandshakeTimeout = d
	}
	host := m.String("primary_hostname")
	if host == "" {
		host, _ = os.Hostname()
	}
	c.self = &selfSigned{hostname: host}
	rc := c.requireCiphers
	if x != nil && strings.Contains(rc, "$") {
		if v, err := x.Expand(rc, ""); err == nil {
			rc = v
		}
	}
	if !strings.Contains(rc, "$") {
		p, err := priorityFor(rc)
		if err != nil {
			return nil, &config.Error{Msg: "tls_require_ciphers invalid: " + err.Error()}
		}
		c.static = p
		c.Warnings = p.Warnings
	}
	if strings.TrimSpace(c.certificate) == "" && strings.TrimSpace(c.advertise) != "" {
		c.Startup = append(c.Startup, LogLine{Text: "Warning: No server certificate defined; will use a selfsigned one.\n Suggested action: either install a certificate or change tls_advertise_hosts option"})
	}
	if (c.verifyHosts != "" || c.tryVerify != "") && !strings.Contains(c.verifyCerts, "$") && strings.HasPrefix(c.verifyCerts, "/") {
		if _, err := os.Stat(c.verifyCerts); err != nil {
			c.Startup = append(c.Startup, LogLine{Text: fmt.Sprintf("could not stat '%s' (tls_verify_certificates): %s", c.verifyCerts, strerror.Text(err)), Panic: true})
		}
	}
	return c, nil
}

// priorityFor parses a tls_require_ciphers value; unset means GnuTLS's
// NORMAL.
func priorityFor(s string) (*Priority, error) {
	if strings.TrimSpace(s) == "" {
		s = "NORMAL"
	}
	return ParsePriority(s)
}

// Advertise reports whether STARTTLS is offered to this client
// (tls_advertise_hosts, default "*"; set empty to never advertise). Exim
// advertises it even when no certificate is configured.
func (c *Config) Advertise(s Session) (bool, error) {
	if strings.TrimSpace(c.advertise) == "" {
		return false, nil
	}
	return s.MatchHosts(c.advertise)
}

// verify modes.
const (
	verifyNone = iota
	verifyTry
	verifyRequire
)

// Pending is a TLS setup that succeeded; Handshake runs the handshake.
type Pending struct {
	c       *Config
	sess    Session
	certs   []*serverCert
	ocsp    [][]byte
	prio    *Priority
	mode    int
	roots   *x509.CertPool
	sendCAs bool
	crls    []*x509.RevocationList
	alpn    []string
}

// expandOpt expands an option; forced failure and empty give "".
func expandOpt(s Session, name, value, sni string) (string, *SetupError) {
	if value == "" || !strings.ContainsAny(value, "$\\") {
		return value, nil
	}
	v, err := s.Expand(value, sni)
	if err != nil {
		if expand.IsForced(err) {
			return "", nil
		}
		return "", &SetupError{Log: []LogLine{{Text: "expansion of " + name + " failed: " + err.Error(), Panic: true}}, Detail: "Internal error"}
	}
	return v, nil
}

// Prepare expands and loads what the handshake needs, as Exim does when it
// receives STARTTLS (before it answers 220). A *SetupError means: answer
// Reply and carry on unencrypted.
func (c *Config) Prepare(s Session) (*Pending, error) {
	p := &Pending{c: c, sess: s}
	if err := p.loadCerts(""); err != nil {
		return nil, err
	}
	p.prio = c.static
	if p.prio == nil {
		rc, serr := expandOpt(s, "tls_require_ciphers", c.requireCiphers, "")
		if serr != nil {
			return nil, serr
		}
		pr, err := priorityFor(rc)
		if err != nil {
			return nil, &SetupError{Detail: "(gnutls_priority_init): " + err.(*PriorityError).Reason}
		}
		p.prio = pr
	}
	// Spec 43.7: tls_verify_hosts / tls_try_verify_hosts.
	for _, v := range []struct {
		list string
		mode int
	}{{c.verifyHosts, verifyRequire}, {c.tryVerify, verifyTry}} {
		if strings.TrimSpace(v.list) == "" {
			continue
		}
		ok, err := s.MatchHosts(v.list)
		if err != nil {
			return nil, &SetupError{Detail: "Internal error"}
		}
		if ok {
			p.mode = v.mode
			break
		}
	}
	if p.mode != verifyNone {
		if err := p.loadVerify(""); err != nil {
			return nil, err
		}
	}
	alpn, serr := expandOpt(s, "tls_alpn", c.alpn, "")
	if serr != nil {
		return nil, serr
	}
	p.alpn = lists.Split(alpn, ':')
	return p, nil
}

// loadCerts expands tls_certificate/tls_privatekey (and tls_ocsp_file) and
// loads them; no certificate means Exim's self-signed one.
func (p *Pending) loadCerts(sni string) *SetupError {
	c, s := p.c, p.sess
	certs, serr := expandOpt(s, "tls_certificate", c.certificate, sni)
	if serr != nil {
		return serr
	}
	keys, serr := expandOpt(s, "tls_privatekey", c.privatekey, sni)
	if serr != nil {
		return serr
	}
	certList := lists.Split(certs, ':')
	keyList := lists.Split(keys, ':')
	p.certs = p.certs[:0]
	if len(certList) == 0 {
		sc, err := c.self.get(c.now())
		if err != nil {
			return &SetupError{Detail: "Internal error"}
		}
		p.certs = append(p.certs, sc)
		return nil
	}
	for i, cf := range certList {
		kf := cf
		if i < len(keyList) && keyList[i] != "" {
			kf = keyList[i]
		}
		sc, reason := loadPair(cf, kf)
		if reason != "" {
			return &SetupError{Detail: fmt.Sprintf("(cert/key setup: cert=%s key=%s): %s", cf, kf, reason)}
		}
		p.certs = append(p.certs, sc)
	}
	ocsp, serr := expandOpt(s, "tls_ocsp_file", c.ocspFile, sni)
	if serr != nil {
		return serr
	}
	p.ocsp = loadOCSP(lists.Split(ocsp, ':'))
	return nil
}

// loadVerify loads tls_verify_certificates and tls_crl.
func (p *Pending) loadVerify(sni string) *SetupError {
	c, s := p.c, p.sess
	vc, serr := expandOpt(s, "tls_verify_certificates", c.verifyCerts, sni)
	if serr != nil {
		return serr
	}
	vc = strings.TrimSpace(vc)
	if vc == "" {
		p.mode = verifyNone
		return nil
	}
	roots, send, err := loadCAs(vc)
	if err != nil {
		line := LogLine{Text: fmt.Sprintf("could not stat '%s' (tls_verify_certificates): %s", vc, strerror.Text(err)), Panic: true}
		return &SetupError{Log: []LogLine{line}, Detail: "NULL"}
	}
	p.roots, p.sendCAs = roots, send
	crl, serr := expandOpt(s, "tls_crl", c.crl, sni)
	if serr != nil {
		return serr
	}
	if crl = strings.TrimSpace(crl); crl != "" {
		l, err := loadCRLs(crl)
		if err != nil {
			return &SetupError{Detail: "(tls_crl): " + strerror.Text(err)}
		}
		p.crls = l
	}
	return nil
}

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Server prepares and runs the handshake at once (tls_on_connect_ports,
// where no 220 is sent in between).
func (c *Config) Server(conn net.Conn, s Session) (*tls.Conn, *State, error) {
	p, err := c.Prepare(s)
	if err != nil {
		return nil, nil, err
	}
	return p.Handshake(conn)
}

// errAbort makes the handshake fail after GetConfigForClient logged why.
var errAbort = errors.New("tls: aborted by server policy")

// Handshake runs the server handshake on conn, bounded by
// HandshakeTimeout. On failure the error is a *HandshakeError.
func (p *Pending) Handshake(conn net.Conn) (*tls.Conn, *State, error) {
	hs := &handshake{p: p, rec: &sigRecord{}}
	base := p.baseConfig()
	base.GetConfigForClient = hs.configForClient
	tc := tls.Server(conn, base)
	if p.c.HandshakeTimeout > 0 {
		_ = conn.SetDeadline(p.c.now().Add(p.c.HandshakeTimeout))
	}
	err := tc.Handshake()
	_ = conn.SetDeadline(time.Time{})
	if err == nil && hs.verifyErr != "" && p.mode == verifyRequire {
		err = errors.New("verification failed")
	}
	if err != nil {
		return nil, nil, hs.handshakeError(err)
	}
	return tc, hs.state(tc.ConnectionState()), nil
}

// baseConfig is the tls.Config before the client's hello is known.
func (p *Pending) baseConfig() *tls.Config {
	pr := p.prio
	cfg := &tls.Config{
		MinVersion:             pr.MinVersion(),
		MaxVersion:             pr.MaxVersion(),
		CipherSuites:           pr.CipherSuites(),
		CurvePreferences:       pr.Curves(),
		SessionTicketsDisabled: true, // tls_resumption_hosts is not supported
		NextProtos:             p.alpn,
	}
	if len(cfg.CurvePreferences) == 0 {
		// GnuTLS without EC groups; Go needs one for TLS 1.3.
		cfg.CurvePreferences = []tls.CurveID{tls.X25519}
	}
	for _, sc := range p.certs {
		cfg.Certificates = append(cfg.Certificates, sc.cert)
	}
	switch p.mode {
	case verifyRequire:
		cfg.ClientAuth = tls.RequireAnyClientCert
	case verifyTry:
		cfg.ClientAuth = tls.RequestClientCert
	}
	if p.sendCAs {
		cfg.ClientCAs = p.roots
	}
	return cfg
}
