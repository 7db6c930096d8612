package smtpserver

import (
	"bytes"
	"fmt"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/mimeacl"
)

// scanChecker answers the content-scanning conditions regex, mime_regex
// and decode from the message's scan state, writes the message to the
// scan directory before malware and spam (which scan that file in
// Exim), and passes every other condition to next.
type scanChecker struct {
	next acl.Checker
	scan *mimeacl.Scan
}

// Check implements acl.Checker.
func (c scanChecker) Check(s *acl.Session, cond, arg string) (bool, string, error) {
	if handled, ok, err := c.scan.Check(s.Vars, cond, arg); handled {
		return ok, "", err
	}
	if cond == "malware" || cond == "spam" {
		if err := c.scan.Spool(); err != nil {
			return false, "", err
		}
	}
	if c.next == nil {
		return false, "", fmt.Errorf("the \"%s\" condition is not available (no checker configured)", cond)
	}
	return c.next.Check(s, cond, arg)
}

// headerBytes is the header section of a message as the scanners see
// it: the lines that are not deleted.
func headerBytes(hs message.Headers) []byte {
	var b bytes.Buffer
	for _, h := range hs {
		if h.Type == '*' {
			continue
		}
		b.WriteString(h.Text)
	}
	return b.Bytes()
}

// newScan starts the content-scanning state of a message: its scan
// directory under spool_directory and the message as Exim writes it
// there.
func (s *session) newScan(id string, hs message.Headers, body []byte) *mimeacl.Scan {
	dir, err := s.expand(s.srv.Config.Main.String("spool_directory"))
	if err != nil || dir == "" {
		dir = s.srv.Config.Main.String("spool_directory")
	}
	now, sender, rcpts := s.srv.now(), s.sender, s.recipients
	sc := mimeacl.NewScan(dir, id, func() []byte {
		return mimeacl.MBox(now, sender, rcpts, headerBytes(hs), body)
	})
	sc.Decoder = &s.mimeDecoder
	sc.Log = func(text string) { s.log(id+" "+text, mainlog.Main) }
	if s.srv.HostChecking {
		sc.Trace = s.srv.Trace
	}
	return sc
}

// mimeStage runs acl_smtp_mime for every MIME part of the message, as
// Exim does when the message has a Content-Type: header; it returns the
// result of the first run that did not accept (nil when all accepted
// or the ACL did not run). $mime_part_count keeps the message's part
// count for the DATA ACL. Exim specification chapter "Content scanning
// at ACL time", section "The MIME ACL".
func (s *session) mimeStage(scan *mimeacl.Scan, hs message.Headers, body []byte) *acl.Result {
	if s.srv.Config.Main.String("acl_smtp_mime") == "" {
		return nil
	}
	header := headerBytes(hs)
	if !mimeacl.HasContentType(header) {
		return nil
	}
	if err := scan.Spool(); err != nil {
		return &acl.Result{Verdict: acl.Error, LogMessage: err.Error(), Err: err}
	}
	var res acl.Result
	failed := false
	count := mimeacl.Walk(scan.Decoder, header, body, func(p *mimeacl.Part) bool {
		scan.SetPart(p, s.vars)
		res = s.runACL(acl.MIME)
		if res.Verdict != acl.Accept {
			failed = true
			return false
		}
		return true
	})
	scan.EndParts(s.vars, count)
	if failed {
		return &res
	}
	return nil
}
