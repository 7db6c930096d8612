package dkim

import "strings"

// The layout of the DKIM-Signature field Exim writes, worked out from its
// output (Exim specification chapter "DKIM, SPF, SRS and DMARC", section
// "Signing outgoing messages", shows none of it): lines of at most 78
// columns (the leading tab counts one); a separator (";" between tags,
// ":" between h= names) stays at the end of a line when it fits there and
// otherwise starts the next one; a tag that does not fit on the rest of the
// line moves to a new line (losing its leading space) when it fits on one,
// and otherwise (long base64 values) is cut at column 78 wherever that
// falls.

const maxCol = 78

// folder builds a folded header field, tracking the column.
type folder struct {
	b   strings.Builder
	col int
}

func (f *folder) write(s string) {
	f.b.WriteString(s)
	f.col += len(s)
}

func (f *folder) fold() {
	f.b.WriteString("\n\t")
	f.col = 1
}

// sep writes a separator, on a new line when it does not fit.
func (f *folder) sep(s string) {
	if f.col+len(s) > maxCol {
		f.fold()
	}
	f.write(s)
}

// item writes intro+payload, after a space when space is set.
func (f *folder) item(space bool, intro, payload string) {
	n := len(intro) + len(payload)
	sp := 0
	if space {
		sp = 1
	}
	if f.col+sp+n <= maxCol {
		if space {
			f.write(" ")
		}
		f.write(intro + payload)
		return
	}
	if 1+n <= maxCol {
		f.fold()
		f.write(intro + payload)
		return
	}
	if space {
		if f.col+1 > maxCol {
			f.fold()
		} else {
			f.write(" ")
		}
	}
	if f.col+len(intro) > maxCol {
		f.fold()
	}
	f.write(intro)
	for payload != "" {
		if f.col >= maxCol {
			f.fold()
		}
		k := min(maxCol-f.col, len(payload))
		f.write(payload[:k])
		payload = payload[k:]
	}
}
