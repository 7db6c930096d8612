package tools

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/queuecmd"
	"github.com/exigo-mta/exigo/internal/spool"
)

// pickEntry is one message found in the input directory.
type pickEntry struct {
	id, dir string
}

// pickIDs lists the messages of an input directory (and of its
// one-character sub-directories, for split_spool_directory) in
// directory order.
func pickIDs(dir string) ([]pickEntry, error) {
	return pickDir(dir, true)
}

// pickDir lists one directory; subs says whether to descend (one level
// only, so that a link loop cannot recurse).
func pickDir(dir string, subs bool) ([]pickEntry, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, opendirError(dir, err)
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return nil, opendirError(dir, err)
	}
	var out []pickEntry
	for _, n := range names {
		if len(n) == 1 {
			if !subs {
				continue
			}
			sub := filepath.Join(dir, n)
			if st, err := os.Stat(sub); err == nil && st.IsDir() {
				if more, err := pickDir(sub, false); err == nil {
					out = append(out, more...)
				}
			}
			continue
		}
		if id, ok := strings.CutSuffix(n, "-H"); ok && spool.ValidID(id) {
			out = append(out, pickEntry{id: id, dir: dir})
		}
	}
	return out, nil
}

// opendirError is exipick's complaint about an unreadable directory,
// with the C library's text for the system error (as Perl's $! gives it).
func opendirError(dir string, err error) error {
	return errors.New("Couldn't opendir " + dir + ": " + errnoString(err))
}

// pickMsg is one message's variables and listing data.
type pickMsg struct {
	id   string
	vars map[string]string
	// user is the caller's login when it set the sender untrusted.
	user string
	// names are the defined variables in the order they were set.
	names      []string
	sender     string
	frozen     bool
	recipients []string
	undel      []string
	// generated are delivered addresses that are not recipients.
	generated []string
	delivered map[string]bool
	size      int64
	sizeKnown bool
	received  int64
}

func (m *pickMsg) set(name, v string) {
	if _, ok := m.vars[name]; !ok {
		m.names = append(m.names, name)
	}
	m.vars[name] = v
}

func boolVar(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// loadPick reads a message's -H file (and the size of its -D file) and
// computes exipick's variables (manual, VARIABLES). body says whether
// $message_body is wanted.
func loadPick(e pickEntry, now int64, body bool) (*pickMsg, bool) {
	hpath := filepath.Join(e.dir, e.id+"-H")
	data, err := os.ReadFile(hpath)
	if err != nil {
		return nil, false
	}
	h, err := spool.Parse(data)
	if err != nil {
		return nil, false
	}
	m := &pickMsg{id: e.id, vars: map[string]string{}, sender: h.Sender, frozen: !h.Frozen.IsZero()}
	if h.SenderSetUntrusted {
		m.user = h.User
	}
	m.received = h.Received.Unix()
	dpath := filepath.Join(e.dir, e.id+"-D")
	var hdrSize int64
	hdrLines := 0
	for _, hd := range h.Headers {
		if hd.Type != '*' {
			hdrSize += int64(len(hd.Text))
			hdrLines += strings.Count(hd.Text, "\n")
		}
	}
	bodySize := int64(-1)
	if st, err := os.Stat(dpath); err == nil {
		bodySize = st.Size() - int64(len(e.id)+3)
		m.size = hdrSize + 1 + bodySize
		m.sizeKnown = true
	} else {
		m.set("message_body_missing", "1")
	}

	// Addresses: delivered ones are the non-recipients tree.
	m.delivered = map[string]bool{}
	var del []string
	for _, a := range spool.Addresses(h.NonRecipients) {
		if !m.delivered[a] {
			m.delivered[a] = true
			del = append(del, a)
		}
	}
	sort.Strings(del)
	isRcpt := map[string]bool{}
	delCount := 0
	for _, r := range h.Recipients {
		m.recipients = append(m.recipients, r.Address)
		isRcpt[r.Address] = true
		if m.delivered[r.Address] {
			delCount++
		} else {
			m.undel = append(m.undel, r.Address)
		}
	}
	for _, a := range del {
		if !isRcpt[a] {
			m.generated = append(m.generated, a)
		}
	}

	m.set("message_exim_id", e.id)
	m.set("message_id", e.id)
	m.set("header_path", hpath)
	m.set("data_path", dpath)
	m.set("originator_login", h.User)
	m.set("originator_uid", strconv.Itoa(h.UID))
	m.set("originator_gid", strconv.Itoa(h.GID))
	m.set("sender_address", h.Sender)
	local, domain := "", ""
	if i := strings.LastIndexByte(h.Sender, '@'); i >= 0 {
		local, domain = h.Sender[:i], h.Sender[i+1:]
	} else {
		local = h.Sender
	}
	m.set("sender_address_local_part", local)
	m.set("sender_address_domain", domain)
	m.set("received_time", strconv.FormatInt(m.received, 10))
	m.set("message_age", strconv.FormatInt(now-m.received, 10))
	m.set("warning_count", strconv.Itoa(h.WarningCount))
	str := func(name, v string) {
		if v != "" {
			m.set(name, v)
		}
	}
	flag := func(name string, b bool) {
		if b {
			m.set(name, "1")
		}
	}
	str("sender_helo_name", h.HeloName)
	if h.HostAddress != "" {
		ip, port := splitHostPort(h.HostAddress)
		m.set("sender_host_address", ip)
		str("sender_host_port", port)
	}
	if h.InterfaceAddress != "" {
		ip, port := splitHostPort(h.InterfaceAddress)
		m.set("received_ip_address", ip)
		m.set("interface_address", ip)
		if port != "" {
			m.set("received_port", port)
			m.set("interface_port", port)
		}
	}
	str("sender_host_name", h.HostName)
	str("sender_host_authenticated", h.HostAuth)
	str("smtp_active_hostname", h.ActiveHostname)
	str("sender_ident", h.Ident)
	str("received_protocol", h.ReceivedProtocol)
	str("authenticated_id", h.AuthID)
	str("authenticated_sender", h.AuthSender)
	str("local_scan_data", h.LocalScan)
	str("spam_score_int", h.SpamScoreInt)
	str("spam_score", h.SpamScore)
	str("tls_cipher", h.TLSCipher)
	str("tls_peerdn", h.TLSPeerDN)
	str("tls_sni", h.TLSSNI)
	for _, a := range h.ACLVars {
		m.set("acl_"+string(a.Kind)+a.Name, a.Value)
	}
	if h.BodyLinecount >= 0 {
		m.set("body_linecount", strconv.Itoa(h.BodyLinecount))
	}
	m.set("body_zerocount", strconv.Itoa(max(h.BodyZerocount, 0)))
	if h.MaxReceivedLinelength >= 0 {
		m.set("max_received_linelength", strconv.Itoa(h.MaxReceivedLinelength))
	}
	flag("allow_unqualified_recipient", h.AllowUnqualifiedRecipient)
	flag("allow_unqualified_sender", h.AllowUnqualifiedSender)
	flag("first_delivery", h.DeliverFirsttime)
	flag("deliver_firsttime", h.DeliverFirsttime)
	flag("manually_thawed", h.ManualThaw)
	flag("deliver_manual_thaw", h.ManualThaw)
	flag("dont_deliver", h.DontDeliver)
	flag("sender_local", h.Local)
	flag("local_error_message", h.LocalError)
	flag("sender_set_untrusted", h.SenderSetUntrusted)
	m.set("host_lookup_deferred", boolVar(h.HostLookupDeferred))
	m.set("host_lookup_failed", boolVar(h.HostLookupFailed))
	m.set("tls_certificate_verified", boolVar(h.TLSCertificateVerified))
	if m.frozen {
		m.set("deliver_freeze", "1")
		m.set("deliver_frozen_at", strconv.FormatInt(h.Frozen.Unix(), 10))
	}

	m.set("recipients", strings.Join(m.recipients, ", "))
	m.set("recipients_count", strconv.Itoa(len(h.Recipients))+"\n")
	m.set("recipients_del", strings.Join(del, ", "))
	m.set("recipients_del_count", strconv.Itoa(delCount))
	m.set("recipients_undel", strings.Join(m.undel, ", "))
	m.set("recipients_undel_count", strconv.Itoa(len(m.undel)))

	if m.sizeKnown {
		m.set("message_size", strconv.FormatInt(m.size, 10))
		m.set("message_body_size", strconv.FormatInt(bodySize, 10))
		m.set("shown_message_size", strings.TrimLeft(queuecmd.FormatSize(m.size, true), " "))
	} else {
		// As Debian's exipick has them when the -D file is missing.
		m.set("message_size", "0")
		m.set("message_body_size", strconv.Itoa(-(len(e.id) + 3)))
	}
	if h.BodyLinecount >= 0 {
		m.set("message_linecount", strconv.Itoa(hdrLines+h.BodyLinecount))
	}
	m.set("message_headers_raw", rawHeaders(h.Headers))
	setHeaderVars(m, h.Headers)
	if body {
		m.set("message_body", readPickBody(dpath, len(e.id)+3))
	}
	return m, true
}

// rawHeaders is $message_headers_raw as exipick has it: every header
// line of the -H file, those marked deleted included.
func rawHeaders(hs message.Headers) string {
	var b strings.Builder
	for _, hd := range hs {
		b.WriteString(hd.Text)
	}
	return b.String()
}

// setHeaderVars sets $rheader_NAME (the raw texts after the colons,
// concatenated), $bheader_NAME and $header_NAME (each text trimmed,
// RFC 2047 words decoded into their bytes without conversion) for
// every header name, deleted headers included. The decoded texts are
// joined by ",\n" before an instance whose spool flag marks an address
// header (B, C, F, R, S, T), else run together, as Debian's exipick does.
func setHeaderVars(m *pickMsg, hs message.Headers) {
	type acc struct{ raw, dec strings.Builder }
	vals := map[string]*acc{}
	var order []string
	for _, hd := range hs {
		n := strings.ToLower(hd.Name)
		a := vals[n]
		if a == nil {
			a = &acc{}
			vals[n] = a
			order = append(order, n)
		} else if strings.IndexByte("BCFRST", hd.Type) >= 0 {
			a.dec.WriteString(",\n")
		}
		a.raw.WriteString(hd.Value())
		one := hd
		one.Type = ' '
		v, _ := message.Headers{one}.Basic(hd.Name)
		a.dec.WriteString(v)
	}
	for _, n := range order {
		a := vals[n]
		m.set("rheader_"+n, a.raw.String())
		m.set("bheader_"+n, a.dec.String())
		m.set("header_"+n, a.dec.String())
	}
}

// readPickBody returns the body of a -D file with newlines and NULs
// turned into spaces ($message_body as exipick defines it).
func readPickBody(path string, skip int) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) < skip {
		return ""
	}
	b = bytes.Clone(b[skip:])
	for i, c := range b {
		if c == '\n' || c == 0 {
			b[i] = ' '
		}
	}
	return string(b)
}

// splitHostPort splits an address as the spool package keeps it,
// "[ip]:port".
func splitHostPort(s string) (ip, port string) {
	if rest, ok := strings.CutPrefix(s, "["); ok {
		if i := strings.LastIndex(rest, "]:"); i >= 0 {
			return rest[:i], rest[i+2:]
		}
		return strings.TrimSuffix(rest, "]"), ""
	}
	return s, ""
}

// lookup returns a variable of the message: "$h_x" and friends are the
// header variables' short names, "$each_recipients*" are always empty.
func (m *pickMsg) lookup(key string) (string, bool) {
	for _, p := range [][2]string{{"h_", "header_"}, {"bh_", "bheader_"}, {"rh_", "rheader_"}} {
		if rest, ok := strings.CutPrefix(key, p[0]); ok {
			key = p[1] + rest
			break
		}
	}
	v, ok := m.vars[key]
	return v, ok
}
