package acl

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/mainlog"
)

// logNames maps the log names of logwrite and log_reject_target.
var logNames = map[string]mainlog.Which{"main": mainlog.Main, "reject": mainlog.Reject, "panic": mainlog.Panic}

// logwrite writes its text at once; ":main,reject:" at the start picks
// the logs (default main). Specification section "ACL modifiers",
// logwrite.
func (r *run) logwrite(v string) {
	to := []mainlog.Which{mainlog.Main}
	if strings.HasPrefix(v, ":") {
		if i := strings.IndexByte(v[1:], ':'); i >= 0 {
			to = to[:0]
			for _, n := range strings.Split(v[1:1+i], ",") {
				if w, ok := logNames[strings.TrimSpace(n)]; ok {
					to = append(to, w)
				}
			}
			v = strings.TrimLeft(v[i+2:], " \t")
		}
	}
	r.log(printing(v), to...)
}

// printing escapes what cannot be printed in a log line as Exim does
// for logwrite (observed with Exim 4.96): tabs stay, "\n", "\r", "\b",
// "\f" and "\v" become those escapes, other control characters and
// bytes above 126 become a backslash and three octal digits.
func printing(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c > 0x7e {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\t' || (c >= 0x20 && c <= 0x7e):
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\v':
			b.WriteString(`\v`)
		default:
			fmt.Fprintf(&b, "\\%03o", c)
		}
	}
	return b.String()
}

// logRejectTarget sets the logs rejections go to for the rest of the run.
func (r *run) logRejectTarget(v string, sr *stmtResult) rc {
	var to []mainlog.Which
	for _, n := range lists.Split(v, ':') {
		w, ok := logNames[n]
		if !ok {
			sr.err = fmt.Sprintf("unknown log name \"%s\" in \"log_reject_target\" in %s ACL", n, r.stage.stageName())
			return rcError
		}
		to = append(to, w)
	}
	r.logTarget, r.logTargetSet = to, true
	return rcOK
}

// delay waits (not in -bh mode). Specification section "ACL modifiers",
// delay.
func (r *run) delay(v string, depth int, sr *stmtResult) rc {
	d, ok := config.ParseTime(v)
	if !ok || d < 0 {
		sr.err = fmt.Sprintf("syntax error in argument for \"delay\" modifier: \"%s\" is not a time value", v)
		return rcError
	}
	if r.stage == NotQuit {
		sr.err = "delay modifier not allowed in notquit ACL"
		return rcError
	}
	r.trace(depth, "delay modifier requests %d-second delay", int(d/time.Second))
	if r.s.HostChecking {
		r.trace(depth, "delay skipped in -bh checking mode")
		return rcOK
	}
	sleep := r.e.Sleep
	if sleep == nil {
		sleep = time.Sleep
	}
	sleep(d)
	return rcOK
}

// addHeaders queues header lines: leading and trailing newlines go, the
// text splits at newlines not followed by white space, a line that is
// not a header gets "X-ACL-Warn: " in front, a position prefix is kept.
// Specification section "Adding header lines in ACLs".
func (r *run) addHeaders(v string) {
	v = strings.Trim(v, "\n")
	if v == "" {
		return
	}
	var lines []string
	start := 0
	for i := 0; i < len(v); i++ {
		if v[i] == '\n' && (i+1 >= len(v) || (v[i+1] != ' ' && v[i+1] != '\t')) {
			lines = append(lines, v[start:i])
			start = i + 1
		}
	}
	lines = append(lines, v[start:])
	for _, l := range lines {
		pos := ""
		for _, p := range []string{":at_start:", ":after_received:", ":at_start_rfc:", ":at_end:"} {
			if strings.HasPrefix(l, p) {
				pos, l = p, l[len(p):]
				break
			}
		}
		if pos == ":at_end:" {
			pos = ""
		}
		if !isHeaderLine(l) {
			l = "X-ACL-Warn: " + l
		}
		h := pos + l
		dup := false
		for _, old := range r.s.AddedHeaders {
			if old == h {
				dup = true
				break
			}
		}
		if !dup {
			r.s.AddedHeaders = append(r.s.AddedHeaders, h)
		}
	}
}

// isHeaderLine reports whether l starts with a header name and a colon.
func isHeaderLine(l string) bool {
	i := 0
	for i < len(l) && l[i] > ' ' && l[i] < 127 && l[i] != ':' {
		i++
	}
	for j := i; j < len(l); j++ {
		if l[j] == ':' {
			return i > 0
		}
		if l[j] != ' ' && l[j] != '\t' {
			return false
		}
	}
	return false
}

// removeHeaders queues header names for removal. Specification section
// "Removing header lines in ACLs".
func (r *run) removeHeaders(v string) {
	r.s.RemovedHeaders = append(r.s.RemovedHeaders, lists.Split(v, ':')...)
}

// udpsend sends "host : port : data" as one UDP datagram. Specification
// section "ACL modifiers", udpsend.
func (r *run) udpsend(v string, depth int, sr *stmtResult) rc {
	sep, body := lists.Separator(v, ':')
	host, rest, ok1 := lists.Next(body, sep)
	portText, data, ok2 := lists.Next(rest, sep)
	if !ok1 || !ok2 {
		sr.err = fmt.Sprintf("missing arguments for \"udpsend\" modifier: \"%s\"", v)
		return rcError
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port <= 0 || port > 65535 {
		sr.err = fmt.Sprintf("invalid port number for \"udpsend\" modifier: \"%s\"", portText)
		return rcError
	}
	parts := []string{host}
	r.trace(depth, "udpsend [%s]:%d %s", parts[0], port, data)
	c, err := net.Dial("udp", net.JoinHostPort(parts[0], strconv.Itoa(port)))
	if err != nil {
		r.log(fmt.Sprintf("udpsend: %v", err), mainlog.Main)
		return rcOK
	}
	defer c.Close()
	n, err := c.Write([]byte(data))
	if err != nil {
		r.log(fmt.Sprintf("udpsend: %v", err), mainlog.Main)
		return rcOK
	}
	r.trace(depth, "udpsend %d bytes", n)
	return rcOK
}
