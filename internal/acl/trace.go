package acl

import (
	"fmt"
	"strings"

	"github.com/exigo-mta/exigo/internal/debug"
	"github.com/exigo-mta/exigo/internal/lists"
)

// The -bh commentary: Exim writes ">>> " lines for every statement,
// condition and list match, indented by the nesting depth of "acl ="
// calls (a space per level, every fourth one a "╎").

// indent is the nesting marker for depth.
func indent(depth int) string {
	var b strings.Builder
	for i := 1; i <= depth; i++ {
		if i%4 == 0 {
			b.WriteString("╎")
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// trace writes one commentary line.
func (r *run) trace(depth int, format string, args ...any) {
	if r.s.Trace == nil {
		return
	}
	fmt.Fprintf(r.s.Trace, ">>> %s%s\n", indent(depth), continued(fmt.Sprintf(format, args...)))
}

// continued prefixes the lines after the first of a commentary text
// with ">>> ", as Exim's debug output does.
func continued(s string) string {
	if !strings.Contains(s, "\n") {
		return s
	}
	return strings.ReplaceAll(s, "\n", "\n>>> ")
}

// tracer returns trace bound to a depth.
func (r *run) tracer(depth int) func(string, ...any) {
	return func(format string, args ...any) { r.trace(depth, format, args...) }
}

// traceCheck writes "check NAME = VALUE" and, when expansion changed the
// value, the expanded value under the "=".
func (r *run) traceCheck(depth int, label, raw, expanded string, showExpanded bool) {
	if r.s.Trace == nil {
		return
	}
	r.trace(depth, "check %s = %s", label, raw)
	if showExpanded && expanded != raw {
		fmt.Fprintf(r.s.Trace, ">>>%s= %s\n", strings.Repeat(" ", len(" check "+label+" ")), continued(expanded))
	}
}

// listDebug returns a debug logger that turns the list matching
// package's lines into commentary lines; host, when not empty, is the
// client address that Exim calls "host" in them.
func (r *run) listDebug(depth int, host string) *debug.Logger {
	if r.s.Trace == nil {
		return nil
	}
	return debug.New(debug.Lists, &listWriter{r: r, depth: depth, host: host})
}

// listWriter rewrites list debug lines as commentary.
type listWriter struct {
	r     *run
	depth int
	host  string
}

func (w *listWriter) Write(p []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line == "" {
			continue
		}
		line = strings.TrimSuffix(line, "\n")
		if !lists.InCommentary(line) {
			continue
		}
		if !strings.HasPrefix(line, " ") {
			line = " " + line
		}
		if w.host != "" && strings.HasPrefix(line, " "+w.host+" in ") {
			line = " host in " + line[len(w.host)+5:]
		}
		fmt.Fprintf(w.r.s.Trace, ">>> %s%s\n", indent(w.depth), line[1:])
	}
	return len(p), nil
}
