package tools

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
)

// # Freeze files
//
// exipick --freeze FILE saves the messages it selects; --thaw FILE
// reads messages from such a file instead of the spool (exipick's
// manual, OPTIONS). Debian's exipick writes Perl's Storable format;
// exigo writes its own, a JSON document (one object, "exipick-freeze":
// 1, and "messages", each with the variables and the listing data of
// one message), so the files of the one cannot be read by the other.
// Ages are computed again when a file is thawed.

// frozenPick is one message in a freeze file.
type frozenPick struct {
	ID         string            `json:"id"`
	Vars       map[string]string `json:"vars"`
	Names      []string          `json:"names"`
	Sender     string            `json:"sender"`
	User       string            `json:"user,omitempty"`
	Frozen     bool              `json:"frozen,omitempty"`
	Recipients []string          `json:"recipients"`
	Undel      []string          `json:"undelivered"`
	Generated  []string          `json:"generated,omitempty"`
	Delivered  []string          `json:"delivered,omitempty"`
	Size       int64             `json:"size"`
	SizeKnown  bool              `json:"size_known"`
	Received   int64             `json:"received"`
}

// freezeFile is the whole freeze file.
type freezeFile struct {
	Version  int          `json:"exipick-freeze"`
	Messages []frozenPick `json:"messages"`
}

// freezePick writes msgs to w as a freeze file.
func freezePick(w io.Writer, msgs []*pickMsg) error {
	ff := freezeFile{Version: 1, Messages: []frozenPick{}}
	for _, m := range msgs {
		fp := frozenPick{ID: m.id, Vars: m.vars, Names: m.names, Sender: m.sender, User: m.user,
			Frozen: m.frozen, Recipients: m.recipients, Undel: m.undel, Generated: m.generated,
			Size: m.size, SizeKnown: m.sizeKnown, Received: m.received}
		for a := range m.delivered {
			fp.Delivered = append(fp.Delivered, a)
		}
		ff.Messages = append(ff.Messages, fp)
	}
	if err := json.NewEncoder(w).Encode(&ff); err != nil {
		return fmt.Errorf("writing freeze file: %w", err)
	}
	return nil
}

// thawPick reads a freeze file. On failure it prints exipick's message
// and returns its exit code (2 when the file cannot be opened, 255 when
// it is not a freeze file).
func thawPick(path string, env ExipickEnv) ([]*pickMsg, int) {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(env.Stderr, "Can't open freeze file %s: %s\n", path, errnoString(err))
		return nil, 2
	}
	var ff freezeFile
	if err := json.Unmarshal(data, &ff); err != nil || ff.Version != 1 {
		fmt.Fprintln(env.Stderr, "Problem accessing thaw file")
		return nil, 255
	}
	var out []*pickMsg
	for _, fp := range ff.Messages {
		m := &pickMsg{id: fp.ID, vars: fp.Vars, names: fp.Names, sender: fp.Sender, user: fp.User,
			frozen: fp.Frozen, recipients: fp.Recipients, undel: fp.Undel, generated: fp.Generated,
			delivered: map[string]bool{}, size: fp.Size, sizeKnown: fp.SizeKnown, received: fp.Received}
		if m.vars == nil {
			m.vars = map[string]string{}
		}
		for _, a := range fp.Delivered {
			m.delivered[a] = true
		}
		if _, ok := m.vars["message_age"]; ok {
			m.vars["message_age"] = strconv.FormatInt(env.Now-m.received, 10)
		}
		out = append(out, m)
	}
	return out, 0
}

// errnoString is the C library's text for the system error inside err,
// as Perl's $! gives it.
func errnoString(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	s := err.Error()
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
