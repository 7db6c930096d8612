package smtpserver

import (
	"strings"

	"github.com/exigo-mta/exigo/internal/message"
)

// Header lines that ACLs add and remove (Exim specification chapter
// "Access control lists", sections "Adding header lines in ACLs" and
// "Removing header lines in ACLs").

// applyHeaderChanges removes the named headers (caselessly; they stay in
// the block marked deleted, type '*', as in the spool's -H file) and then
// adds the queued ones, each placed by its prefix: ":at_start:" before
// everything, ":after_received:" after the first block of Received:
// lines, ":at_start_rfc:" before the first line after the first that is
// not Received: or Resent-*, and otherwise at the end. Lines added at the
// same place one after the other end up in reverse order, as the
// specification says.
func applyHeaderChanges(hs message.Headers, removed, added []string) message.Headers {
	for _, name := range removed {
		name = strings.TrimSuffix(strings.TrimSpace(name), ":")
		for i := range hs {
			if hs[i].Type != '*' && strings.EqualFold(hs[i].Name, name) {
				hs[i].Type = '*'
			}
		}
	}
	for _, text := range added {
		pos := ""
		for _, p := range []string{":at_start:", ":after_received:", ":at_start_rfc:"} {
			if strings.HasPrefix(text, p) {
				pos, text = p, text[len(p):]
				break
			}
		}
		if !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		name, _, _ := strings.Cut(text, ":")
		h := message.Header{Name: strings.TrimRight(name, " \t"), Text: text, Type: message.TypeFlag(name)}
		at := len(hs)
		switch pos {
		case ":at_start:":
			at = 0
		case ":after_received:":
			at = afterReceived(hs)
		case ":at_start_rfc:":
			at = len(hs)
			for i := 1; i < len(hs); i++ {
				n := strings.ToLower(hs[i].Name)
				if n != "received" && !strings.HasPrefix(n, "resent-") {
					at = i
					break
				}
			}
		}
		hs = append(hs, message.Header{})
		copy(hs[at+1:], hs[at:])
		hs[at] = h
	}
	return hs
}

// afterReceived is the index just after the first block of Received:
// lines (deleted ones included), or the end when there is none.
func afterReceived(hs message.Headers) int {
	i := 0
	for i < len(hs) && !strings.EqualFold(hs[i].Name, "received") {
		i++
	}
	if i == len(hs) {
		return i
	}
	for i < len(hs) && strings.EqualFold(hs[i].Name, "received") {
		i++
	}
	return i
}

// liveSize is the size of the header lines not deleted.
func liveSize(hs message.Headers) int64 {
	var n int64
	for _, h := range hs {
		if h.Type != '*' {
			n += int64(len(h.Text))
		}
	}
	return n
}

// flagMessageID sets the spool type flags message.ReadHeaders leaves
// out: 'I' goes to the first Message-ID: header only, or, when the
// message has Resent- headers, to the first Resent-Message-ID:, and the
// Resent- forms of From:, Sender:, To:, Cc: and Bcc: get the flag of the
// plain header (as Exim flags them in the -H file and the reject log;
// spec chapter "Format of spool files").
func flagMessageID(hs message.Headers) {
	name := "message-id"
	for _, h := range hs {
		if h.Type != '*' && len(h.Name) > 7 && strings.EqualFold(h.Name[:7], "resent-") {
			name = "resent-message-id"
			break
		}
	}
	for i := range hs {
		if hs[i].Type == ' ' && len(hs[i].Name) > 7 && strings.EqualFold(hs[i].Name[:7], "resent-") {
			// Resent-From:, -Sender:, -To:, -Cc: and -Bcc: carry the flag
			// of the header they resend (Resent-Reply-To: does not).
			if f := message.TypeFlag(hs[i].Name[7:]); f != 'R' && f != 'I' && f != 'P' {
				hs[i].Type = f
			}
		}
	}
	flagged := false
	for i := range hs {
		if hs[i].Type != 'I' {
			continue
		}
		if !flagged && strings.EqualFold(hs[i].Name, name) {
			flagged = true
			continue
		}
		hs[i].Type = ' '
	}
	if flagged {
		return
	}
	for i := range hs {
		if hs[i].Type != '*' && strings.EqualFold(hs[i].Name, name) {
			hs[i].Type = 'I'
			return
		}
	}
}

// rejectLogHeaders are the lines Exim writes to the reject log after a
// rejection once the message has been read: the envelope, then every
// header line with its spool type flag (spec chapter "Log files",
// section "Reject log"):
//
//	Envelope-from: <sender>
//	Envelope-to: <rcpt1>
//	    <rcpt2>
//	P Received: ...
//	T To: ...
func rejectLogHeaders(sender string, recipients []string, hs message.Headers) []string {
	out := []string{"Envelope-from: <" + sender + ">"}
	for i, r := range recipients {
		if i == 0 {
			out = append(out, "Envelope-to: <"+r+">")
		} else {
			out = append(out, "    <"+r+">")
		}
	}
	for _, h := range hs {
		flag := h.Type
		if flag == 0 {
			flag = ' '
		}
		out = append(out, string(flag)+" "+strings.TrimSuffix(h.Text, "\n"))
	}
	return out
}

// ApplyHeaderChanges applies the header lines ACLs removed and added to
// a message's header block, as after the DATA ACL (see
// applyHeaderChanges); the non-SMTP ACLs of local submission use it too.
func ApplyHeaderChanges(hs message.Headers, removed, added []string) message.Headers {
	return applyHeaderChanges(hs, removed, added)
}

// RejectLogHeaders are the envelope and header lines the reject log
// gets after a rejection once the message was read (see
// rejectLogHeaders).
func RejectLogHeaders(sender string, recipients []string, hs message.Headers) []string {
	return rejectLogHeaders(sender, recipients, hs)
}
