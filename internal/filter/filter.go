// Package filter implements Exim's filter language for .forward files and
// the system filter: parsing, running against a message, and the output
// of filter testing (-bf, -bF); and Sieve filters (RFC 5228) with the
// extensions Exim 4.96 offers (RunSieve).
//
// Exim specification: the document "Exim's interfaces to mail filtering",
// chapters "Exim filter files" and "Sieve filter files"; and chapter
// "System-wide message filtering".
package filter

import (
	"regexp"
	"strings"
	"sync"
)

// headerRE matches the first line of an Exim filter file: "# Exim filter"
// with optional space after the #, any capitalization.
var headerRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)^[ \t\r\n]*#[ \t]*exim[ \t]+filter`)
})

// IsEximFilter reports whether data starts with the "# Exim filter" line.
// Spec: filter document, chapter "Exim filter files", section "Format of
// Exim filter files".
func IsEximFilter(data string) bool { return headerRE().MatchString(data) }

// Filter is a parsed Exim filter file.
type Filter struct {
	cmds   []*command
	system bool
}

// Parse parses an Exim filter file (including its "# Exim filter" line).
// system enables the commands only a system filter may use (fail, freeze,
// defer, headers, $sn0..$sn9). Errors are *Error with Exim's text.
func Parse(src string, system bool) (*Filter, error) {
	return ParseWith(src, Options{System: system})
}

// Options qualify parsing. In a user filter (not System) the fail,
// freeze and defer commands are errors unless the redirect router
// allows them (allow_fail, allow_freeze, allow_defer). Spec chapter
// "The redirect router", those options.
type Options struct {
	System                             bool
	AllowFail, AllowFreeze, AllowDefer bool
}

// ParseWith parses an Exim filter file with the given options.
func ParseWith(src string, o Options) (*Filter, error) {
	system := o.System
	p := &parser{lex: lexer{src: src, line: 1}, system: system, opts: o}
	cmds, _, err := p.commands()
	if err != nil {
		return nil, err
	}
	return &Filter{cmds: cmds, system: system}, nil
}

// Kind is the kind of a delivery a filter sets up.
type Kind int

// The kinds of delivery.
const (
	Address Kind = iota // deliver
	File                // save
	Pipe                // pipe
)

// Delivery is one deliver, save or pipe command obeyed.
type Delivery struct {
	Kind     Kind
	Text     string // the address, file name or command (expanded)
	Unseen   bool   // the delivery is not significant
	NoError  bool   // "noerror" prefix
	ErrorsTo string // deliver's errors_to
	Mode     string // save's octal mode, if any
	// Seq is the position of the command among the deliveries and
	// mails obeyed (they are set up in this order).
	Seq int
}

// Mail is an autoreply request from mail or vacation. Fields are the
// expanded options by name (to, cc, bcc, from, reply_to, subject,
// extra_headers, text, file, log, once, once_repeat).
type Mail struct {
	Vacation   bool
	Fields     map[string]string
	ExpandFile bool
	Return     bool // "return message"
	Unseen     bool
	// Seq is the position of the command among the deliveries and
	// mails obeyed.
	Seq int
}

// Outcome says how filtering ended.
type Outcome int

// The outcomes.
const (
	Normal Outcome = iota // ran to the end or to finish
	Fail                  // fail command (system filter)
	Freeze                // freeze command
	Defer                 // defer command
)

// Result is what running a filter produced.
type Result struct {
	Deliveries []Delivery
	Mails      []Mail
	// Significant is set when a significant delivery (or finish after
	// seen) was set up: normal delivery must not happen.
	Significant bool
	Outcome     Outcome
	Message     string // the text of fail, freeze or defer
	// HeadersAdd, HeadersRemove and Charset are from the headers command.
	HeadersAdd    []string
	HeadersRemove []string
	Charset       string
	// Logfile is the last logfile named; Logwrites the lines written.
	Logfile   string
	Logwrites []string
	// N is $n0..$n9 at the end: after the system filter, the user
	// filters' $sn0..$sn9.
	N [10]int
}

// Vars are the filter's own variables, offered to Expand.
type Vars struct {
	// Extra holds n0..n9, sn0..sn9 and thisaddress.
	Extra map[string]string
	// Numeric holds $0..$9 from the last successful "matches".
	Numeric []string
}

// Env is what running a filter needs from its caller.
type Env struct {
	// Expand expands a string with the message's variables plus v.
	Expand func(s string, v Vars) (string, error)
	// ErrorMessage is true for a bounce message.
	ErrorMessage   bool
	FirstDelivery  bool
	ManuallyThawed bool
	// SN holds the system filter's $sn0..$sn9 on entry to a user filter.
	SN [10]int
	// Mailbox parses a deliver address (RFC 2822 mailbox), returning the
	// bare address; nil takes the text as it is.
	Mailbox func(string) (string, error)
	// Qualify is the domain added to unqualified deliver addresses.
	Qualify string
	// NeedLogfile makes a logwrite before any logfile an error (for
	// real deliveries; -bf shows it anyway).
	NeedLogfile bool
	// Test receives Exim's filter-test lines when non-nil.
	Test interface{ WriteString(string) (int, error) }
}

// lower is strings.ToLower, named for the caseless comparisons.
func lower(s string) string { return strings.ToLower(s) }
