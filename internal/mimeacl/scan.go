package mimeacl

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/pcre"
)

// Scan limits of Exim (specification chapter "Content scanning at ACL
// time", section "Scanning with regular expressions"): regex matches
// lines of at most 32K, mime_regex the first 32K of a decoded part.
const (
	maxRegexLine = 32767
	maxMIMERegex = 32 * 1024
)

// Scan is the content-scanning state of one message while it is
// received: its scan directory (spool_directory/scan/ID), the message as
// the scanners see it, and the MIME part the MIME ACL is looking at.
// It is not safe for concurrent use.
type Scan struct {
	// Dir is the scan directory; ID the message id.
	Dir, ID string
	// message is the message as Exim writes it for scanning (see
	// MBox), built by build when first needed.
	message []byte
	build   func() []byte
	// Trace receives -bh commentary; nil for none.
	Trace io.Writer
	// Decoder is the MIME decoder's buffer, shared by the messages of
	// a session (nil: one for this message).
	Decoder *Decoder
	// Log writes a warning to the main log; nil drops it.
	Log func(text string)

	part    *Part
	seq     map[string]int
	spooled bool
}

// NewScan returns the scanning state of message id, with its scan
// directory under the spool directory; message builds the message as
// the scanners see it (MBox), once and only when it is needed.
func NewScan(spoolDir, id string, message func() []byte) *Scan {
	return &Scan{Dir: filepath.Join(spoolDir, "scan", id), ID: id, build: message}
}

// Message returns the message as the scanners see it.
func (sc *Scan) Message() []byte {
	if sc.message == nil && sc.build != nil {
		sc.message = sc.build()
	}
	return sc.message
}

// MBox builds the message as Exim writes it for content scanning (its
// spool_mbox file): a "From MAILER-DAEMON" line with the time, the
// envelope as X-Envelope-From: (unless the sender is null) and
// X-Envelope-To: lines, the header lines, an empty line and the body.
// Observed with Exim 4.96.
func MBox(now time.Time, sender string, recipients []string, header, body []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(header) + len(body) + 200)
	b.WriteString("From MAILER-DAEMON " + now.Format("Mon Jan _2 15:04:05 2006") + "\n")
	if sender != "" {
		b.WriteString("X-Envelope-From: <" + sender + ">\n")
	}
	b.WriteString("X-Envelope-To: " + strings.Join(recipients, ", ") + "\n")
	b.Write(header)
	b.WriteByte('\n')
	b.Write(body)
	return b.Bytes()
}

// Spool writes the message file (ID.eml) into the scan directory, once.
func (sc *Scan) Spool() error {
	if sc.spooled {
		return nil
	}
	if err := os.MkdirAll(sc.Dir, 0o750); err != nil {
		return fmt.Errorf("creating scan directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(sc.Dir, sc.ID+".eml"), sc.Message(), 0o640); err != nil {
		return fmt.Errorf("writing scan file: %w", err)
	}
	sc.spooled = true
	return nil
}

// Spooled reports whether the scan directory was written.
func (sc *Scan) Spooled() bool { return sc != nil && sc.spooled }

// Unspool removes the scan directory and its files, saying so in the
// commentary as Exim's -bh does ("unspool_mbox(): unlinking '...'",
// one line per file).
func (sc *Scan) Unspool() {
	if sc == nil || !sc.spooled {
		return
	}
	sc.spooled = false
	entries, _ := os.ReadDir(sc.Dir)
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(sc.Dir, n)
		if sc.Trace != nil {
			fmt.Fprintf(sc.Trace, ">>> unspool_mbox(): unlinking '%s'\n", p)
		}
		_ = os.Remove(p)
	}
	_ = os.Remove(sc.Dir)
}

// mimeVars are the names of the per-part variables.
var mimeVars = []string{
	"mime_anomaly_level", "mime_anomaly_text", "mime_boundary", "mime_charset",
	"mime_content_description", "mime_content_disposition", "mime_content_id",
	"mime_content_size", "mime_content_transfer_encoding", "mime_content_type",
	"mime_decoded_filename", "mime_filename", "mime_is_coverletter",
	"mime_is_multipart", "mime_is_rfc822", "mime_part_count",
}

// SetPart makes p the current part and sets the $mime_* variables from
// it (the decoding ones cleared until a decode).
func (sc *Scan) SetPart(p *Part, vars expand.VarMap) {
	sc.part = p
	b := func(v bool) string {
		if v {
			return "1"
		}
		return "0"
	}
	vars["mime_anomaly_level"] = "0"
	vars["mime_anomaly_text"] = ""
	vars["mime_boundary"] = p.Boundary
	vars["mime_charset"] = p.Charset
	vars["mime_content_description"] = p.Description
	vars["mime_content_disposition"] = p.Disposition
	vars["mime_content_id"] = p.ID
	vars["mime_content_size"] = "0"
	vars["mime_content_transfer_encoding"] = p.TransferEncoding
	vars["mime_content_type"] = p.ContentType
	vars["mime_decoded_filename"] = ""
	vars["mime_filename"] = p.Filename
	vars["mime_is_coverletter"] = b(p.CoverLetter)
	vars["mime_is_multipart"] = b(p.Multipart)
	vars["mime_is_rfc822"] = b(p.RFC822)
	vars["mime_part_count"] = strconv.Itoa(p.Count)
}

// EndParts forgets the current part and clears its variables, leaving
// $mime_part_count at count (what the DATA ACL sees).
func (sc *Scan) EndParts(vars expand.VarMap, count int) {
	sc.part = nil
	for _, v := range mimeVars {
		delete(vars, v)
	}
	vars["mime_part_count"] = strconv.Itoa(count)
}

// Check performs the regex, mime_regex and decode conditions; handled
// is false for any other condition. arg is the expanded argument.
func (sc *Scan) Check(vars expand.VarMap, cond, arg string) (handled, ok bool, err error) {
	switch cond {
	case "decode":
		ok, err = sc.decode(vars, arg)
		return true, ok, err
	case "regex":
		if sc.part != nil {
			ok, err = sc.matchLines(vars, sc.part.Content, arg)
			return true, ok, err
		}
		if err := sc.Spool(); err != nil {
			return true, false, err
		}
		ok, err = sc.matchLines(vars, sc.Message(), arg)
		return true, ok, err
	case "mime_regex":
		if sc.part == nil {
			return true, false, errors.New("mime_regex outside the MIME ACL")
		}
		if vars["mime_decoded_filename"] == "" {
			if _, err := sc.decode(vars, "default"); err != nil {
				return true, false, err
			}
		}
		data, err := os.ReadFile(vars["mime_decoded_filename"])
		if err != nil {
			return true, false, fmt.Errorf("mime_regex: %w", err)
		}
		if len(data) > maxMIMERegex {
			data = data[:maxMIMERegex]
		}
		ok, err = sc.matchAll(vars, [][]byte{data}, arg)
		return true, ok, err
	}
	return false, false, nil
}

// decode is the decode condition: "0" or "false" decode nothing;
// "default" decodes into the scan directory as ID-NNNNN; a path to a
// directory decodes there under that name; any other absolute path is
// the file; a relative name is a file in the scan directory.
// Specification chapter "Content scanning at ACL time", section "The
// MIME ACL".
func (sc *Scan) decode(vars expand.VarMap, arg string) (bool, error) {
	if sc.part == nil {
		return false, errors.New("decode outside the MIME ACL")
	}
	if arg == "0" || strings.EqualFold(arg, "false") {
		return false, nil
	}
	if arg == "" {
		// An empty name is the default (observed with Exim 4.96).
		arg = "default"
	}
	if err := sc.Spool(); err != nil {
		return false, err
	}
	var path string
	// Files are numbered in each directory from 00000, taking the
	// first number not in use (observed with Exim 4.96).
	seqName := func(dir string) string {
		if sc.seq == nil {
			sc.seq = map[string]int{}
		}
		for n := sc.seq[dir]; ; n++ {
			p := filepath.Join(dir, fmt.Sprintf("%s-%05d", sc.ID, n))
			if _, err := os.Lstat(p); err != nil {
				sc.seq[dir] = n + 1
				return p
			}
		}
	}
	switch {
	case arg == "default":
		path = seqName(sc.Dir)
	case strings.HasPrefix(arg, "/"):
		if st, err := os.Stat(arg); err == nil && st.IsDir() {
			path = seqName(arg)
		} else {
			path = arg
		}
	default:
		// Not cleaned: Exim uses the name as it is.
		path = sc.Dir + "/" + arg
	}
	// A name made from the part's proposed file name is tainted, and
	// Exim refuses to write to it (observed with Exim 4.96). exigo has
	// no taint tracking; it takes a name holding $mime_filename's
	// value as made from it.
	if arg != "default" && sc.part.Filename != "" && strings.Contains(arg, sc.part.Filename) {
		if sc.Log != nil {
			sc.Log(fmt.Sprintf("Tainted filename '%s'", path))
		}
		return false, errors.New("")
	}
	data, level, text := sc.part.Decode(sc.Decoder)
	if err := os.WriteFile(path, data, 0o640); err != nil {
		return false, fmt.Errorf("decode: %w", err)
	}
	vars["mime_decoded_filename"] = path
	vars["mime_content_size"] = strconv.Itoa((len(data) + 1023) / 1024)
	vars["mime_anomaly_level"] = strconv.Itoa(level)
	vars["mime_anomaly_text"] = text
	return true, nil
}

// splitLines cuts data into lines as Exim reads them for regex (with
// their "\n", at most maxRegexLine bytes each).
func splitLines(data []byte) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		n := bytes.IndexByte(data, '\n') + 1
		if n == 0 {
			n = len(data)
		}
		if n > maxRegexLine {
			n = maxRegexLine
		}
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}

// matchLines matches the regular expressions of list against each line
// of data in turn.
func (sc *Scan) matchLines(vars expand.VarMap, data []byte, list string) (bool, error) {
	return sc.matchAll(vars, splitLines(data), list)
}

// matchAll tries, for each subject in turn, each expression of the
// colon-separated list, last first; the first match sets $regex_match_string to the
// expression and $regex1... to its captures.
//
// An expression that does not compile is logged and skipped (observed
// with Exim 4.96).
func (sc *Scan) matchAll(vars expand.VarMap, subjects [][]byte, list string) (bool, error) {
	var res []*pcre.Regexp
	var texts []string
	for _, item := range lists.Split(list, ':') {
		re, err := pcre.Compile(item)
		if err != nil {
			if sc != nil && sc.Log != nil {
				sc.Log(fmt.Sprintf("regex acl condition warning - error in regex '%s': %v, skipped.", item, err))
			}
			continue
		}
		res = append(res, re)
		texts = append(texts, item)
	}
	for _, s := range subjects {
		// Exim tries the expressions last first (observed with
		// Exim 4.96).
		for i := len(res) - 1; i >= 0; i-- {
			re := res[i]
			groups, ok, err := re.Match(string(s))
			if err != nil {
				return false, err
			}
			if !ok {
				continue
			}
			vars["regex_match_string"] = texts[i]
			for k := 1; k <= 9; k++ {
				name := "regex" + strconv.Itoa(k)
				if k < len(groups) {
					vars[name] = groups[k]
				} else {
					delete(vars, name)
				}
			}
			return true, nil
		}
	}
	return false, nil
}
