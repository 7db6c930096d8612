package receive

import (
	"bytes"
	"strconv"
	"strings"
)

// Vars returns the expansion variables intake knows about the message in
// flight: $message_exim_id, $message_id, $received_protocol,
// $sender_address, $sender_ident, $sender_helo_name, $sender_rcvhost,
// $sender_host_address, $sender_host_name, $authenticated_id,
// $received_for (the recipient when there is exactly one), and, when m is
// not nil, $message_size, $message_linecount, $body_linecount,
// $body_zerocount, $max_received_linelength, $received_count,
// $message_body_size, $message_body and $message_body_end. Variables
// with no value are left out (so ${if def:...} sees them unset).
func (in *Intake) Vars(m *Message) map[string]string {
	return in.vars(m)
}

func (in *Intake) vars(m *Message) map[string]string {
	e := in.Envelope
	v := map[string]string{
		"message_exim_id":      in.ID,
		"message_id":           in.ID,
		"received_protocol":    e.Protocol,
		"sender_address":       e.Sender,
		"sender_ident":         e.Ident,
		"sender_helo_name":     e.Helo,
		"sender_rcvhost":       e.RcvHost,
		"sender_host_address":  e.HostAddress,
		"sender_host_name":     e.HostName,
		"sender_host_port":     e.HostPort,
		"authenticated_id":     e.AuthID,
		"authenticated_sender": e.AuthSender,
	}
	if len(e.Recipients) == 1 {
		v["received_for"] = e.Recipients[0]
	}
	for k, s := range v {
		if s == "" {
			delete(v, k)
		}
	}
	if m == nil {
		return v
	}
	v["message_size"] = strconv.FormatInt(m.Size(), 10)
	v["message_linecount"] = strconv.Itoa(m.LineCount)
	v["body_linecount"] = strconv.Itoa(m.BodyLineCount)
	v["body_zerocount"] = strconv.Itoa(m.BodyZeroCount)
	v["max_received_linelength"] = strconv.Itoa(m.MaxLineLength)
	v["message_body_size"] = strconv.FormatInt(m.Body.Size(), 10)
	n := 0
	for _, h := range m.Headers {
		if h.Type != '*' && strings.EqualFold(h.Name, "received") {
			n++
		}
	}
	if in.Test {
		n++ // -bem counts the Received: it does not show
	}
	v["received_count"] = strconv.Itoa(n)
	start, end := BodyVisible(m.Body, in.Options.MessageBodyVisible)
	v["message_body"] = start
	v["message_body_end"] = end
	return v
}

// BodyVisible returns $message_body and $message_body_end: the first and
// last n bytes of the body with newlines and binary zeros turned into
// spaces (spec
// "Expansion variables", message_body_visible).
func BodyVisible(b *Body, n int) (string, string) {
	size := b.Size()
	first, _ := b.Slice(0, int64(n))
	last, _ := b.Slice(size-int64(n), int64(n))
	conv := func(p []byte) string {
		q := bytes.ReplaceAll(p, []byte{'\n'}, []byte{' '})
		return string(bytes.ReplaceAll(q, []byte{0}, []byte{' '}))
	}
	return conv(first), conv(last)
}
