package lookup

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAPOptions are the main options that govern LDAP lookups and the
// ldapauth condition (spec chapter "Main configuration", ldap_*).
type LDAPOptions struct {
	// DefaultServers is ldap_default_servers: a colon-separated list of
	// host[:port] (colons doubled) or socket paths, tried in turn.
	DefaultServers string
	// StartTLS is ldap_start_tls.
	StartTLS bool
	// RequireCert is ldap_require_cert: "hard", "demand", "allow", "try"
	// or "never"; empty means the library default (demand).
	RequireCert string
	// CACertFile and CACertDir are ldap_ca_cert_file and ldap_ca_cert_dir.
	CACertFile, CACertDir string
	// CertFile and CertKey are ldap_cert_file and ldap_cert_key.
	CertFile, CertKey string
}

// ldapServer is one server to try.
type ldapServer struct {
	scheme string // ldap, ldaps or ldapi
	host   string // host name, or socket path for ldapi; "" for the default
	port   int
}

// String is "host:port" as Exim's messages show it ("NULL" for no host).
func (s ldapServer) String() string {
	h := s.host
	if h == "" {
		h = "NULL"
	}
	return fmt.Sprintf("%s:%d", h, s.port)
}

func (s ldapServer) key(user string) string {
	return s.scheme + "\x00" + s.host + "\x00" + strconv.Itoa(s.port) + "\x00" + user
}

// ldapConn is a cached connection with the identity it is bound as.
type ldapConn struct {
	c          *ldap.Conn
	user, pass string
}

// ldapServers lists the servers a query is sent to (spec 9.17): the
// URL's host, else SERVERS=, else ldap_default_servers, else the
// library's default (the local host).
func (r *Registry) ldapServers(lq *ldapQuery) ([]ldapServer, error) {
	u := lq.url
	defPort := 389
	if u.scheme == "ldaps" {
		defPort = 636
	}
	port := u.port
	if port == 0 {
		port = defPort
	}
	if u.host != "" {
		if u.scheme == "ldapi" && !strings.HasPrefix(u.host, "/") {
			return nil, fmt.Errorf("ldapi requires an absolute path (%q given)", u.host)
		}
		return []ldapServer{{scheme: u.scheme, host: u.host, port: port}}, nil
	}
	list := r.opts.LDAP.DefaultServers
	if lq.hasServers && lq.servers != "" {
		list = lq.servers
	}
	items := splitColonList(list)
	if len(items) == 0 {
		return []ldapServer{{scheme: u.scheme, port: port}}, nil
	}
	var out []ldapServer
	for _, it := range items {
		s := ldapServer{scheme: u.scheme, host: it, port: port}
		if strings.HasPrefix(it, "/") {
			s.scheme, s.port = "ldapi", 0
		} else if i := strings.LastIndexByte(it, ':'); i >= 0 {
			s.host, s.port = it[:i], atoiPrefix(it[i+1:])
		}
		if s.scheme == "ldapi" && !strings.HasPrefix(s.host, "/") {
			return nil, fmt.Errorf("ldapi requires an absolute path (%q given)", s.host)
		}
		out = append(out, s)
	}
	return out, nil
}

// splitColonList splits an Exim colon-separated list ("::" stands for a
// colon in an item), trimming white space and dropping empty items.
func splitColonList(s string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if t := strings.TrimSpace(cur.String()); t != "" {
			out = append(out, t)
		}
		cur.Reset()
	}
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			if i+1 < len(s) && s[i+1] == ':' {
				cur.WriteByte(':')
				i++
				continue
			}
			flush()
			continue
		}
		cur.WriteByte(s[i])
	}
	flush()
	return out
}

// ldapTLSConfig builds the TLS client configuration from the ldap_*
// options.
func (r *Registry) ldapTLSConfig(host string) (*tls.Config, error) {
	o := r.opts.LDAP
	tc := &tls.Config{ServerName: host}
	switch strings.ToLower(o.RequireCert) {
	case "", "hard", "demand":
	default: // allow, try, never and anything else ("never")
		tc.InsecureSkipVerify = true
	}
	if o.CACertFile != "" || o.CACertDir != "" {
		pool := x509.NewCertPool()
		var files []string
		if o.CACertFile != "" {
			files = append(files, o.CACertFile)
		}
		if o.CACertDir != "" {
			ents, err := os.ReadDir(o.CACertDir)
			if err != nil {
				return nil, fmt.Errorf("reading ldap_ca_cert_dir: %w", err)
			}
			for _, e := range ents {
				if !e.IsDir() {
					files = append(files, filepath.Join(o.CACertDir, e.Name()))
				}
			}
		}
		for _, f := range files {
			if pem, err := os.ReadFile(f); err == nil {
				pool.AppendCertsFromPEM(pem)
			}
		}
		tc.RootCAs = pool
	}
	if o.CertFile != "" && o.CertKey != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.CertKey)
		if err != nil {
			return nil, fmt.Errorf("loading ldap_cert_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// ldapConnect opens a connection to srv (TLS as the scheme and
// ldap_start_tls say) and binds it as user. Errors carry Exim's texts;
// invalid is true when the server rejected the credentials (LDAP error
// 49), which ldapauth treats as a plain "no".
func (r *Registry) ldapConnect(srv ldapServer, lq *ldapQuery, user, pass string) (c *ldap.Conn, invalid bool, err error) {
	timeout := 60 * time.Second
	if lq.nettime > 0 {
		timeout = time.Duration(lq.nettime) * time.Second
	}
	bindFail := func(detail string) error {
		return fmt.Errorf("failed to bind the LDAP connection to server %s - %s", srv, detail)
	}
	host := srv.host
	if host == "" {
		host = "localhost"
	}
	dialer := &net.Dialer{Timeout: timeout}
	switch srv.scheme {
	case "ldapi":
		c, err = ldap.DialURL("ldapi://"+url.PathEscape(host), ldap.DialWithDialer(dialer))
	case "ldaps":
		tc, terr := r.ldapTLSConfig(host)
		if terr != nil {
			return nil, false, terr
		}
		c, err = ldap.DialURL("ldaps://"+net.JoinHostPort(host, strconv.Itoa(srv.port)), ldap.DialWithDialer(dialer), ldap.DialWithTLSConfig(tc))
	default:
		c, err = ldap.DialURL("ldap://"+net.JoinHostPort(host, strconv.Itoa(srv.port)), ldap.DialWithDialer(dialer))
	}
	if err != nil {
		r.debugf("LDAP connection to %s failed: %v", srv, err)
		return nil, false, bindFail("ldap_bind() returned -1")
	}
	if lq.nettime > 0 {
		c.SetTimeout(timeout)
	}
	if r.opts.LDAP.StartTLS && srv.scheme == "ldap" {
		tc, terr := r.ldapTLSConfig(host)
		if terr != nil {
			c.Close()
			return nil, false, terr
		}
		if err := c.StartTLS(tc); err != nil {
			c.Close()
			code, text := ldapErrCode(err)
			if code < 0 {
				code, text = -11, ldapErrText(-11)
			}
			return nil, false, fmt.Errorf("failed to initiate TLS processing on an LDAP session to server %s - ldap_start_tls_s() returned %d: %s", srv, code, text)
		}
	}
	if err := ldapBind(c, user, pass); err != nil {
		c.Close()
		code, text := ldapErrCode(err)
		if code < 0 {
			return nil, false, bindFail("ldap_bind() returned -1")
		}
		return nil, code == ldap.LDAPResultInvalidCredentials, bindFail(fmt.Sprintf("LDAP error %d: %s", code, text))
	}
	return c, false, nil
}

// ldapBind performs a simple bind (an anonymous one when user and pass
// are empty), as Exim always binds before searching.
func ldapBind(c *ldap.Conn, user, pass string) error {
	_, err := c.SimpleBind(&ldap.SimpleBindRequest{Username: user, Password: pass, AllowEmptyPassword: true})
	return err
}

// ldapErrCode returns the LDAP result code of err and OpenLDAP's text
// for it; the code is -1 for network failures.
func ldapErrCode(err error) (int, string) {
	var le *ldap.Error
	if errors.As(err, &le) && le.ResultCode < 200 {
		return int(le.ResultCode), ldapErrText(int(le.ResultCode))
	}
	return -1, ldapErrText(-1)
}

// ldapErrText gives OpenLDAP's ldap_err2string text for a result code.
func ldapErrText(code int) string {
	if t, ok := ldapErrTexts[code]; ok {
		return t
	}
	return "Unknown error"
}

var ldapErrTexts = map[int]string{
	0: "Success", 1: "Operations error", 2: "Protocol error",
	3: "Time limit exceeded", 4: "Size limit exceeded",
	5: "Compare False", 6: "Compare True",
	7: "Authentication method not supported",
	8: "Strong(er) authentication required", 10: "Referral",
	11: "Administrative limit exceeded",
	12: "Critical extension is unavailable",
	13: "Confidentiality required", 14: "SASL bind in progress",
	16: "No such attribute", 17: "Undefined attribute type",
	18: "Inappropriate matching", 19: "Constraint violation",
	20: "Type or value exists", 21: "Invalid syntax",
	32: "No such object", 33: "Alias problem", 34: "Invalid DN syntax",
	35: "Entry is a leaf", 36: "Alias dereferencing problem",
	48: "Inappropriate authentication", 49: "Invalid credentials",
	50: "Insufficient access", 51: "Server is busy",
	52: "Server is unavailable", 53: "Server is unwilling to perform",
	54: "Loop detected", 64: "Naming violation",
	65: "Object class violation", 66: "Operation not allowed on non-leaf",
	67: "Operation not allowed on RDN", 68: "Already exists",
	69: "Cannot modify object class", 71: "Results too large",
	80: "Other (e.g., implementation specific) error",
	-1: "Can't contact LDAP server", -2: "Local error",
	-3: "Encoding error", -4: "Decoding error", -5: "Timed out",
	-6: "Unknown authentication method", -7: "Bad search filter",
	-8: "User cancelled operation", -9: "Bad parameter to an ldap routine",
	-10: "Out of memory", -11: "Connect error", -12: "Not Supported",
}

// ldapCached returns a connection to srv bound as user/pass, reusing a
// cached one (spec 9.17: connections are kept open and re-used); the
// caller holds r.ldapMu.
func (r *Registry) ldapCached(srv ldapServer, lq *ldapQuery, user, pass string) (*ldap.Conn, error) {
	k := srv.key("")
	if lc, ok := r.ldapConns[k]; ok {
		if lc.c.IsClosing() {
			delete(r.ldapConns, k)
		} else {
			if lc.user == user && lc.pass == pass {
				r.debugf("re-using cached connection to LDAP server %s", srv)
				return lc.c, nil
			}
			if err := ldapBind(lc.c, user, pass); err == nil {
				lc.user, lc.pass = user, pass
				return lc.c, nil
			}
			lc.c.Close()
			delete(r.ldapConns, k)
		}
	}
	c, _, err := r.ldapConnect(srv, lq, user, pass)
	if err != nil {
		return nil, err
	}
	if r.ldapConns == nil {
		r.ldapConns = map[string]*ldapConn{}
	}
	r.ldapConns[k] = &ldapConn{c: c, user: user, pass: pass}
	return c, nil
}

// ldapDrop forgets and closes the cached connection to srv.
func (r *Registry) ldapDrop(srv ldapServer) {
	k := srv.key("")
	if lc, ok := r.ldapConns[k]; ok {
		lc.c.Close()
		delete(r.ldapConns, k)
	}
}

// ldapCloseAll closes every cached LDAP connection (search_tidyup).
func (r *Registry) ldapCloseAll() {
	r.ldapMu.Lock()
	defer r.ldapMu.Unlock()
	for k, lc := range r.ldapConns {
		lc.c.Close()
		delete(r.ldapConns, k)
	}
}
