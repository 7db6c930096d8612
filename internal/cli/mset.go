package cli

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/spool"
)

// -be -Mset: the variables of a queued message for expansion testing
// (spec chapter "The Exim command line", option -Mset: "the message is
// loaded ... and its variables are available"; observed with Exim
// 4.96). Exim reads the -D file first, then the -H file; a message it
// cannot load is reported on standard output ("Failed to load message
// datafile ID", "Failed to load message ID") and the expansions run
// without it. $return_path stays empty: it is set only while a message
// is delivered.

// msetMessage loads the queued message id for -be -Mset into vars and
// returns its header block, or nil when it cannot be loaded (the
// failure is reported on stdout and stderr as Exim reports it).
func msetMessage(cfg *config.Config, id string, vars expand.VarMap, now time.Time, stdout, stderr io.Writer) *expand.HeaderBlock {
	// Loading starts from a clean message state: the id is set, the
	// caller's sender and ident are gone, even when it fails
	// (observed).
	vars["message_exim_id"], vars["message_id"] = id, id
	for _, k := range []string{"sender_address", "sender_address_local_part", "sender_address_domain", "sender_ident", "authenticated_id", "authenticated_sender"} {
		vars[k] = ""
	}
	vars["interface_port"], vars["received_port"] = "0", "0"
	dir := msetDir(cfg, id, "-D")
	data, err := os.Open(filepath.Join(dir, id+"-D"))
	if err != nil {
		stamp := now.Format("2006-01-02 15:04:05")
		if sel, err := mainlog.ParseSelector(cfg.Main.String("log_selector")); err == nil && sel.Has(mainlog.SelMillisec) {
			stamp = now.Format("2006-01-02 15:04:05.000")
		}
		fmt.Fprintf(stderr, "%s Spool file %s-D not found\n", stamp, id)
		fmt.Fprintf(stdout, "Failed to load message datafile %s\n", id)
		fmt.Fprintf(stdout, "Failed to load message %s\n", id)
		return nil
	}
	defer data.Close()
	hf, err := os.Open(filepath.Join(msetDir(cfg, id, "-H"), id+"-H"))
	var h *spool.Header
	if err == nil {
		h, err = spool.ReadHeader(hf)
		hf.Close()
	}
	if err != nil {
		fmt.Fprintf(stdout, "Failed to load message %s\n", id)
		return nil
	}
	for k, v := range spoolHeaderVars(h, now) {
		vars[k] = v
	}
	for k, v := range spoolBodyVars(cfg, h, data) {
		vars[k] = v
	}
	return &expand.HeaderBlock{Block: h.Headers, Charset: cfg.Main.String("headers_charset")}
}

// msetDir is the input directory that holds the message's file with
// the suffix: the split sub-directory or input/ itself, whichever has
// it (as the spool package's Locate looks), the configured one when
// neither does.
func msetDir(cfg *config.Config, id, suffix string) string {
	top := filepath.Join(cfg.Main.String("spool_directory"), "input")
	sub := filepath.Join(top, id[5:6])
	dirs := []string{top, sub}
	if cfg.Main.Bool("split_spool_directory") {
		dirs = []string{sub, top}
	}
	for _, d := range dirs {
		if _, err := os.Lstat(filepath.Join(d, id+suffix)); err == nil {
			return d
		}
	}
	return dirs[0]
}

// spoolHeaderVars are the variables a -H file gives (spec chapter
// "String expansions", section "Expansion variables"; chapter "Format
// of spool files").
func spoolHeaderVars(h *spool.Header, now time.Time) expand.VarMap {
	rcpts := make([]string, len(h.Recipients))
	for i, r := range h.Recipients {
		rcpts[i] = r.Address
	}
	v := expand.VarMap{
		"message_exim_id":             string(h.ID),
		"message_id":                  string(h.ID),
		"sender_address":              h.Sender,
		"recipients":                  strings.Join(rcpts, ", "),
		"recipients_count":            strconv.Itoa(len(rcpts)),
		"received_protocol":           h.ReceivedProtocol,
		"sender_ident":                h.Ident,
		"authenticated_id":            h.AuthID,
		"authenticated_sender":        h.AuthSender,
		"sender_host_authenticated":   h.HostAuth,
		"sender_helo_name":            h.HeloName,
		"sender_host_name":            h.HostName,
		"received_time":               strconv.FormatInt(h.Received.Unix(), 10),
		"message_age":                 strconv.FormatInt(now.Unix()-h.Received.Unix(), 10),
		"originator_uid":              strconv.Itoa(h.UID),
		"originator_gid":              strconv.Itoa(h.GID),
		"host_lookup_failed":          boolVar(h.HostLookupFailed),
		"host_lookup_deferred":        boolVar(h.HostLookupDeferred),
		"tls_in_cipher":               h.TLSCipher,
		"tls_in_peerdn":               h.TLSPeerDN,
		"tls_in_sni":                  h.TLSSNI,
		"tls_in_ver":                  h.TLSVer,
		"tls_in_certificate_verified": boolVar(h.TLSCertificateVerified),
		"dsn_envid":                   h.DSNEnvID,
		"local_scan_data":             h.LocalScan,
		"spam_score":                  h.SpamScore,
		"spam_score_int":              h.SpamScoreInt,
		"spam_bar":                    h.SpamBar,
		"sender_host_port":            "0",
		"interface_port":              "0",
		"received_port":               "0",
	}
	if i := strings.LastIndexByte(h.Sender, '@'); i >= 0 {
		v["sender_address_local_part"] = h.Sender[:i]
		v["sender_address_domain"] = h.Sender[i+1:]
	}
	if ap, ok := spoolAddrPort(h.HostAddress); ok {
		v["sender_host_address"] = ap.Addr().String()
		v["sender_host_port"] = strconv.Itoa(int(ap.Port()))
		v["sender_fullhost"] = spoolFullHost(h, ap.Addr().String())
		v["sender_rcvhost"] = spoolRcvHost(h, ap.Addr().String())
	}
	if ap, ok := spoolAddrPort(h.InterfaceAddress); ok {
		v["interface_address"] = ap.Addr().String()
		v["received_ip_address"] = ap.Addr().String()
		v["interface_port"] = strconv.Itoa(int(ap.Port()))
		v["received_port"] = strconv.Itoa(int(ap.Port()))
	}
	for _, a := range h.ACLVars {
		v["acl_"+string(a.Kind)+a.Name] = a.Value
	}
	received := 0
	for _, hd := range h.Headers {
		if hd.Type != '*' && strings.EqualFold(hd.Name, "Received") {
			received++
		}
	}
	v["received_count"] = strconv.Itoa(received)
	if ra := spoolReplyAddress(h); ra != "" {
		v["reply_address"] = ra
	}
	return v
}

func boolVar(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// spoolAddrPort parses a -host_address or -interface_address value,
// "[ip]:port" (or Exim's older "ip.port").
func spoolAddrPort(s string) (netip.AddrPort, bool) {
	if s == "" {
		return netip.AddrPort{}, false
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, true
	}
	if a, p, ok := strings.Cut(strings.TrimPrefix(s, "["), "]:"); ok {
		ip, err1 := netip.ParseAddr(a)
		port, err2 := strconv.ParseUint(p, 10, 16)
		if err1 == nil && err2 == nil {
			return netip.AddrPortFrom(ip, uint16(port)), true
		}
	}
	if i := strings.LastIndexByte(s, '.'); i > 0 {
		if a, err := netip.ParseAddr(s[:i]); err == nil {
			if p, err := strconv.ParseUint(s[i+1:], 10, 16); err == nil {
				return netip.AddrPortFrom(a, uint16(p)), true
			}
		}
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return netip.AddrPortFrom(a, 0), true
	}
	return netip.AddrPort{}, false
}

// spoolFullHost is $sender_fullhost of a message from a host: the host
// name, the HELO name in parentheses unless it is the host name, the
// address in brackets.
func spoolFullHost(h *spool.Header, addr string) string {
	s := "[" + addr + "]"
	if h.HeloName != "" && !strings.EqualFold(h.HeloName, h.HostName) {
		s = "(" + h.HeloName + ") " + s
	}
	if h.HostName != "" {
		s = h.HostName + " " + s
	}
	return s
}

// spoolRcvHost is $sender_rcvhost of a message from a host: the host
// name (or the address in brackets), then in parentheses the address
// after a name, the HELO name unless it is the host name or the
// address, and the ident.
func spoolRcvHost(h *spool.Header, addr string) string {
	var extra []string
	s := "[" + addr + "]"
	if h.HostName != "" {
		extra = append(extra, s)
		s = h.HostName
	}
	if hl := h.HeloName; hl != "" && !strings.EqualFold(hl, h.HostName) && hl != "["+addr+"]" && hl != addr {
		extra = append(extra, "helo="+hl)
	}
	if h.Ident != "" {
		extra = append(extra, "ident="+h.Ident)
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, " ") + ")"
	}
	return s
}

// spoolReplyAddress is $reply_address: Reply-To: when present and not
// empty, else From:, leading white space removed.
func spoolReplyAddress(h *spool.Header) string {
	value := func(name string) string {
		for _, hd := range h.Headers {
			if hd.Type != '*' && strings.EqualFold(hd.Name, name) {
				if i := strings.IndexByte(hd.Text, ':'); i >= 0 {
					return strings.TrimRight(strings.TrimLeft(hd.Text[i+1:], " \t"), "\n")
				}
			}
		}
		return ""
	}
	if v := value("reply-to"); v != "" {
		return v
	}
	return value("from")
}

// spoolBodyVars are the variables that need the -D file: the first
// and last message_body_visible bytes of the body (newlines as spaces
// unless message_body_newlines), its size, the message's size (live
// header lines, the blank line and the body) and the line counts.
func spoolBodyVars(cfg *config.Config, h *spool.Header, data *os.File) expand.VarMap {
	var size, off int64
	if st, err := data.Stat(); err == nil {
		var first [64]byte
		n, _ := data.ReadAt(first[:], 0)
		if i := bytes.IndexByte(first[:n], '\n'); i >= 0 {
			off = int64(i + 1)
			size = st.Size() - off
		}
	}
	visible := int64(500)
	if n, ok := cfg.Main.Int("message_body_visible"); ok && n >= 0 {
		visible = n
	}
	newlines := cfg.Main.Bool("message_body_newlines")
	read := func(from, n int64) string {
		if from < 0 {
			n += from
			from = 0
		}
		n = min(n, size-from)
		if n <= 0 {
			return ""
		}
		p := make([]byte, n)
		k, _ := data.ReadAt(p, off+from)
		p = p[:k]
		if !newlines {
			p = bytes.ReplaceAll(p, []byte{'\n'}, []byte{' '})
		}
		return string(bytes.ReplaceAll(p, []byte{0}, []byte{' '}))
	}
	hdrSize, hdrLines := 0, 0
	for _, hd := range h.Headers {
		if hd.Type != '*' {
			hdrSize += len(hd.Text)
			hdrLines += strings.Count(hd.Text, "\n")
		}
	}
	bl := max(h.BodyLinecount, 0)
	return expand.VarMap{
		"message_body":            read(0, visible),
		"message_body_end":        read(size-visible, visible),
		"message_body_size":       strconv.FormatInt(size, 10),
		"message_size":            strconv.FormatInt(int64(hdrSize)+1+size, 10),
		"body_linecount":          strconv.Itoa(bl),
		"message_linecount":       strconv.Itoa(hdrLines + bl),
		"max_received_linelength": strconv.Itoa(max(h.MaxReceivedLinelength, 0)),
		"body_zerocount":          strconv.Itoa(max(h.BodyZerocount, 0)),
	}
}
