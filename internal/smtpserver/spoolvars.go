package smtpserver

import "bytes"

// The values a received message's spool header records about how it
// came that the session alone knows (spec chapter "Format of spool
// files"): the longest line and the authenticator's public name.

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
	if !s.auth.done {
		return ""
	}
	for _, a := range s.srv.Authenticators {
		if a.Name == s.auth.name {
			return a.Mechanism()
		}
	}
	return ""
}
