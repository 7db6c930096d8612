package smtpserver

import "bytes"

// The values a received message's spool header records about how it
// came that the session alone knows (spec chapter "Format of spool
// files"): the longest line, the authenticator's public name and the
// authenticated sender of MAIL's AUTH= parameter.

// maxReceivedLineLength is $max_received_linelength (spec chapter
// "String expansions", section "Expansion variables"): the length of the
// longest line of the message as received, without its line ending and
// after dot-unstuffing. data is the message as the dot reader (or BDAT)
// gave it, lines ending in LF. Exim 4.96 ends a line at a bare CR too,
// and then does not count the first character after it (observed: "a"
// x 50, CR, "b" x 120 gives 119).
func maxReceivedLineLength(data []byte) int {
	longest := 0
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		for first := true; ; first = false {
			piece := line
			i := bytes.IndexByte(line, '\r')
			if i >= 0 {
				piece, line = line[:i], line[i+1:]
			}
			n := len(piece)
			if !first && n > 0 {
				n--
			}
			longest = max(longest, n)
			if i < 0 {
				break
			}
		}
	}
	return longest
}

// authPublicName is the public name of the authenticator the client
// used, "" when it did not authenticate.
func (s *session) authPublicName() string {
	if !s.auth.done || s.srv.PreAuthenticated != "" {
		// -oMaa names no mechanism: no -host_auth_pubname (observed).
		return ""
	}
	for _, a := range s.srv.Authenticators {
		if a.Name == s.auth.name {
			return a.Mechanism()
		}
	}
	return ""
}

// authSenderParam decodes the value of MAIL's AUTH= parameter from an
// authenticated client (RFC 4954 section 5, an xtext): "+" and two hex
// digits (either case) stand for a byte; "<>" is no sender. ok is false
// for a malformed xtext, which Exim 4.96 answers with "501 invalid data
// for AUTH" (observed). Spec chapter "SMTP authentication", section
// "Authentication on an Exim server".
func authSenderParam(v string) (string, bool) {
	if v == "<>" {
		return "", true
	}
	var b []byte
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '+' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(v) {
			return "", false
		}
		hi, lo := unhex(v[i+1]), unhex(v[i+2])
		if hi < 0 || lo < 0 {
			return "", false
		}
		b = append(b, byte(hi<<4|lo))
		i += 2
	}
	return string(b), true
}

// unhex is the value of a hex digit, -1 for another byte.
func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
