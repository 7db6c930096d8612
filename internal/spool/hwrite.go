package spool

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Encode returns the -H file's bytes, laid out as Exim 4.96 writes them
// (spec chapter 57, section 1).
func (h *Header) Encode() ([]byte, error) {
	if err := h.check(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 1024)
	b = append(b, h.ID...)
	b = append(b, "-H\n"...)
	b = append(b, h.User...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(h.UID), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(h.GID), 10)
	b = append(b, "\n<"...)
	b = append(b, h.Sender...)
	b = append(b, ">\n"...)
	b = strconv.AppendInt(b, h.Received.Unix(), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(h.WarningCount), 10)
	b = append(b, '\n')
	if !h.NoUsec {
		b = fmt.Appendf(b, "-received_time_usec .%06d\n", h.Received.Nanosecond()/1000)
	}
	if !h.ReceivedComplete.IsZero() {
		b = fmt.Appendf(b, "-received_time_complete %d.%06d\n",
			h.ReceivedComplete.Unix(), h.ReceivedComplete.Nanosecond()/1000)
	}
	for _, o := range optionOrder {
		if o.kind == optACL {
			b = h.appendACL(b)
			continue
		}
		b = h.appendOption(b, o.name, o.kind)
	}
	for _, x := range h.Extra {
		b = append(b, x...)
		b = append(b, '\n')
	}
	if len(h.NonRecipients) == 0 {
		b = append(b, "XX\n"...)
	}
	for _, n := range h.NonRecipients {
		b = append(b, yn(n.Left), yn(n.Right), ' ')
		b = append(b, n.Address...)
		b = append(b, '\n')
	}
	b = strconv.AppendInt(b, int64(len(h.Recipients)), 10)
	b = append(b, '\n')
	for i := range h.Recipients {
		b = h.Recipients[i].append(b)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	for _, hd := range h.Headers {
		b = fmt.Appendf(b, "%03d", len(hd.Text))
		b = append(b, hd.Type, ' ')
		b = append(b, hd.Text...)
	}
	return b, nil
}

func yn(v bool) byte {
	if v {
		return 'Y'
	}
	return 'N'
}

func (h *Header) dash(b []byte, name string) []byte {
	if h.Tainted[name] {
		b = append(b, '-')
	}
	b = append(b, '-')
	return append(b, name...)
}

func (h *Header) appendOption(b []byte, name string, kind optKind) []byte {
	switch p := h.field(name).(type) {
	case *string:
		if *p != "" {
			b = h.dash(b, name)
			b = append(b, ' ')
			b = append(b, *p...)
			b = append(b, '\n')
		}
	case *bool:
		if *p {
			b = h.dash(b, name)
			b = append(b, '\n')
		}
	case *int:
		if *p > 0 || (*p == 0 && kind == optInt) {
			b = h.dash(b, name)
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(*p), 10)
			b = append(b, '\n')
		}
	case *time.Time:
		if !p.IsZero() {
			b = h.dash(b, name)
			b = append(b, ' ')
			b = strconv.AppendInt(b, p.Unix(), 10)
			b = append(b, '\n')
		}
	}
	return b
}

// appendACL writes "-aclc NAME LEN\nVALUE\n" for each variable (spec
// chapter 57, -aclc and -aclm).
func (h *Header) appendACL(b []byte) []byte {
	for _, v := range h.ACLVars {
		b = append(b, '-')
		if v.Tainted {
			b = append(b, '-')
		}
		b = append(b, "acl"...)
		b = append(b, v.Kind, ' ')
		b = append(b, v.Name...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(len(v.Value)), 10)
		b = append(b, '\n')
		b = append(b, v.Value...)
		b = append(b, '\n')
	}
	return b
}

// flagBits returns the #bits the recipient's line needs.
func (r *Recipient) flagBits() int {
	f := r.Flags
	if r.ORcpt != "" || r.DSNFlags != 0 {
		f |= 3
	}
	if r.ErrorsTo != "" || r.PNo >= 0 {
		f |= 1
	}
	return f
}

// append writes one recipient line (spec chapter 57, recipients list):
// a plain address, or with bit 1 "addr errors_to len,pno#1", and with
// bit 2 the DSN fields "orcpt len,dsnflags" before the errors_to ones.
func (r *Recipient) append(b []byte) []byte {
	b = append(b, r.Address...)
	f := r.flagBits()
	if f == 0 {
		return b
	}
	if f&2 != 0 {
		b = append(b, ' ')
		b = append(b, r.ORcpt...)
		b = fmt.Appendf(b, " %d,%d", len(r.ORcpt), r.DSNFlags)
	}
	b = append(b, ' ')
	b = append(b, r.ErrorsTo...)
	return fmt.Appendf(b, " %d,%d#%d", len(r.ErrorsTo), r.PNo, f)
}

// check refuses values that would not read back as written.
func (h *Header) check() error {
	if !ValidID(string(h.ID)) {
		return fmt.Errorf("spool header: %w: %q", ErrBadID, h.ID)
	}
	bad := func(what, v string) error {
		if strings.ContainsAny(v, "\n") {
			return fmt.Errorf("spool header %s: newline in %s %q", h.ID, what, v)
		}
		return nil
	}
	if err := bad("user", h.User); err != nil {
		return err
	}
	if h.User == "" || strings.ContainsAny(h.User, " ") {
		return fmt.Errorf("spool header %s: bad user name %q", h.ID, h.User)
	}
	if err := bad("sender", h.Sender); err != nil {
		return err
	}
	for _, o := range optionOrder {
		if p, ok := h.field(o.name).(*string); ok {
			if err := bad(o.name, *p); err != nil {
				return err
			}
		}
	}
	for _, x := range h.Extra {
		if err := bad("extra option", x); err != nil {
			return err
		}
		if !strings.HasPrefix(x, "-") {
			return fmt.Errorf("spool header %s: extra option %q does not start with -", h.ID, x)
		}
	}
	for _, v := range h.ACLVars {
		if (v.Kind != 'c' && v.Kind != 'm') || v.Name == "" || strings.ContainsAny(v.Name, " \n") {
			return fmt.Errorf("spool header %s: bad ACL variable acl_%c%s", h.ID, v.Kind, v.Name)
		}
	}
	if err := checkTree(h.NonRecipients); err != nil {
		return fmt.Errorf("spool header %s: %w", h.ID, err)
	}
	for _, n := range h.NonRecipients {
		if err := bad("non-recipient", n.Address); err != nil {
			return err
		}
	}
	for _, r := range h.Recipients {
		if err := bad("recipient", r.Address+r.ErrorsTo+r.ORcpt); err != nil {
			return err
		}
		if r.Address == "" {
			return fmt.Errorf("spool header %s: empty recipient", h.ID)
		}
	}
	for _, hd := range h.Headers {
		if !strings.HasSuffix(hd.Text, "\n") {
			return fmt.Errorf("spool header %s: header %q lacks its newline", h.ID, hd.Name)
		}
		if hd.Type == '\n' || hd.Type < ' ' {
			return fmt.Errorf("spool header %s: bad header flag %q", h.ID, hd.Type)
		}
	}
	return nil
}
