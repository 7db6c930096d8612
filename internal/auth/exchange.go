// The exchange: challenges and responses, the generic server_condition
// and server_set_id handling, and the outcomes with Exim's replies and log
// texts.

package auth

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/exigo-mta/exigo/internal/expand"
)

// Exchange is one AUTH dialogue in progress. It is used by one goroutine:
//
//	ex := srv.Start(x, initial)
//	for {
//		ch, more := ex.Challenge()
//		if !more {
//			break
//		}
//		send("334 " + ch)
//		ex.Respond(readLine()) // the line without its CRLF
//	}
//	out := ex.Outcome()
//
// A client line of exactly "*" cancels the exchange (501 Authentication
// cancelled); a line that is not valid base64 ends it with 501 Invalid
// base64 data.
type Exchange interface {
	// Challenge returns the next challenge, base64-encoded as it follows
	// "334 " (it may be empty: "334 " is then sent), and true; or false
	// when the exchange is over and Outcome is ready.
	Challenge() (string, bool)
	// Respond passes the client's answer to the last challenge. Calling it
	// when Challenge reported false does nothing.
	Respond(line string)
	// Outcome returns the result once Challenge has reported false; nil
	// before that.
	Outcome() *Outcome
}

// Outcome is the result of an exchange.
type Outcome struct {
	// Code and Text make the reply line: "235 Authentication succeeded",
	// "535 Incorrect authentication data", "435 Unable to authenticate at
	// present[: text]", "501 Invalid base64 data", "501 Authentication
	// cancelled", "553 Initial data not expected".
	Code int
	Text string
	// AuthenticatedID is the server_set_id expansion after a success: the
	// new $authenticated_id (empty when server_set_id is unset).
	AuthenticatedID string
	// Vars are the strings the client sent (and that server_param2/3 set
	// for external), as $auth1.. held them.
	Vars []string
	// LogText, when not empty, is what follows "NAME authenticator failed
	// for HOST: " in the line Exim writes to the main and reject logs
	// (see Server.FailureLogLine).
	LogText string
	// SetFailID says that $authenticated_fail_id changes to FailID. Exim
	// 4.96 stores there the " (set_id=...)" fragment of the log line, or
	// the empty string; outcomes that never reached server_set_id leave it
	// unchanged.
	SetFailID bool
	FailID    string
}

// Succeeded reports whether the client is now authenticated.
func (o *Outcome) Succeeded() bool { return o.Code == CodeSucceeded }

// Reply is the SMTP reply line, without CRLF.
func (o *Outcome) Reply() string { return strconv.Itoa(o.Code) + " " + o.Text }

// Start begins the exchange for "AUTH <mechanism> [initial]"; initial is
// the initial response as Select returned it ("" for none, "=" for an
// empty one).
func (s *Server) Start(x Expander, initial string) Exchange {
	e := &exchange{srv: s, x: x}
	switch s.Driver {
	case "plaintext":
		e.startPlaintext(initial)
	case "cram_md5":
		e.startCRAM(initial)
	case "external":
		e.startExternal(initial)
	default:
		e.temporary("", "", "")
	}
	return e
}

// exchange is the state shared by the drivers: a pending challenge and a
// continuation that receives the decoded answer, or the outcome.
type exchange struct {
	srv  *Server
	x    Expander
	vars []string

	challenge string
	next      func(data []byte)
	out       *Outcome
}

func (e *exchange) Challenge() (string, bool) {
	if e.out != nil {
		return "", false
	}
	return e.challenge, true
}

func (e *exchange) Respond(line string) {
	if e.out != nil || e.next == nil {
		return
	}
	if line == "*" {
		e.finish(CodeSyntax, TextCancelled, "", false)
		return
	}
	data, err := DecodeBase64(line)
	if err != nil {
		e.finish(CodeSyntax, TextBadBase64, "", false)
		return
	}
	next := e.next
	e.next = nil
	next(data)
}

func (e *exchange) Outcome() *Outcome { return e.out }

// ask sends a challenge (raw bytes, encoded here) and continues with then.
func (e *exchange) ask(challenge []byte, then func(data []byte)) {
	e.challenge = EncodeBase64(challenge)
	e.next = then
}

// decodeInitial decodes an initial response: "=" is an empty one.
func decodeInitial(initial string) ([]byte, error) {
	if initial == "=" {
		return nil, nil
	}
	return DecodeBase64(initial)
}

// finish ends the exchange with a reply that Exim logs as a failure.
// logExtra is appended to the log text after the set_id part.
func (e *exchange) finish(code int, text, logExtra string, noLog bool) {
	o := &Outcome{Code: code, Text: text, Vars: e.vars}
	if !noLog {
		o.LogText = strconv.Itoa(code) + " " + text + logExtra
	}
	e.out = o
}

// temporary ends with "435 Unable to authenticate at present"; reply is
// added to the reply text after ": " when not empty, detail to the log
// line; setID is the " (set_id=...)" fragment.
func (e *exchange) temporary(reply, setID, detail string) {
	text := TextTemporary
	if reply != "" {
		text += ": " + reply
	}
	o := &Outcome{Code: CodeTemporary, Text: text, Vars: e.vars}
	o.LogText = strconv.Itoa(CodeTemporary) + " " + TextTemporary + setID
	if detail != "" {
		o.LogText += ": " + detail
	}
	e.out = o
}

// expand expands an option with the current $auth variables.
func (e *exchange) expand(s string) (string, error) {
	return e.x.Expand(s, e.vars)
}

func (e *exchange) comment(format string, args ...any) {
	if c, ok := e.x.(Commenter); ok {
		c.Comment(fmt.Sprintf(format, args...))
	}
}

// result is how the driver-specific part of an exchange ended.
type result int

const (
	resOK result = iota
	resFail
	resDefer
)

// conclude runs the generic end of an exchange after the driver's own
// checks: server_condition when set and the driver succeeded (spec 33.1
// server_condition), then server_set_id, and sets the outcome. For resDefer,
// deferText and deferDetail are the 435 reply addition and log detail.
func (e *exchange) conclude(r result, deferReply, deferDetail string) {
	if r == resOK {
		if cond, ok := e.srv.option("server_condition"); ok {
			r, deferReply, deferDetail = e.checkCondition(cond)
		}
	}
	setID, idErr := "", error(nil)
	if raw, ok := e.srv.option("server_set_id"); ok {
		setID, idErr = e.expand(raw)
	}
	if r == resOK {
		if idErr != nil {
			// Observed: a failing server_set_id after a successful
			// check gives a 435 that Exim does not log.
			e.out = &Outcome{Code: CodeTemporary, Text: TextTemporary, Vars: e.vars, SetFailID: true}
			return
		}
		e.out = &Outcome{Code: CodeSucceeded, Text: TextSucceeded, AuthenticatedID: setID, Vars: e.vars, SetFailID: true}
		return
	}
	frag := ""
	if idErr == nil && setID != "" {
		frag = " (set_id=" + printing(setID) + ")"
	}
	if r == resFail {
		e.finish(CodeIncorrect, TextIncorrect, frag, false)
	} else {
		e.temporary(deferReply, frag, deferDetail)
	}
	e.out.SetFailID = true
	e.out.FailID = frag
}

// checkCondition expands server_condition and applies Exim's truth rules:
// forced failure fails; another failure is temporary (its message is
// logged, not sent); "", "0", "no", "false" fail; "1", "yes", "true"
// succeed; anything else is temporary with the value as the reply text
// (spec 33.1, 34.3).
func (e *exchange) checkCondition(cond string) (result, string, string) {
	e.comment("%s authenticator server_condition:", e.srv.Name)
	for i, v := range e.vars {
		if i >= 4 {
			break
		}
		e.comment("  $auth%d = %s", i+1, v)
	}
	for i, v := range e.vars {
		if i >= 20 {
			break
		}
		e.comment("  $%d = %s", i+1, v)
	}
	v, err := e.expand(cond)
	if err != nil {
		e.comment("expansion failed: %s", err.Error())
		if isForced(err) {
			return resFail, "", ""
		}
		return resDefer, "", err.Error()
	}
	e.comment("expanded string: %s", v)
	switch {
	case isFalse(v):
		return resFail, "", ""
	case v == "1" || equalFold(v, "yes") || equalFold(v, "true"):
		return resOK, "", ""
	}
	return resDefer, v, v
}

// isForced and isDefer look through wrapping for an *expand.Error.
func isForced(err error) bool {
	var x *expand.Error
	return errors.As(err, &x) && x.Forced
}

func isDefer(err error) bool {
	var x *expand.Error
	return errors.As(err, &x) && x.Defer
}
