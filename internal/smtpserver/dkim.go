// DKIM verification of received messages and the DKIM ACL (Exim
// specification chapter "DKIM, SPF, SRS and DMARC", section "Verifying
// DKIM signatures in incoming mail"; the contract is in internal/dkim's
// package comment).

package smtpserver

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/dkim"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/message"
)

// dkimPerRun are the $dkim_* variables of one acl_smtp_dkim run, unset
// before each run.
var dkimPerRun = []string{
	"dkim_cur_signer", "dkim_verify_reason", "dkim_domain", "dkim_identity",
	"dkim_selector", "dkim_algo", "dkim_canon_headers", "dkim_canon_body",
	"dkim_headernames", "dkim_copiedheaders", "dkim_bodylength", "dkim_created",
	"dkim_expires", "dkim_key_testing", "dkim_key_nosubdomains", "dkim_key_srvtype",
	"dkim_key_granularity", "dkim_key_notes", "dkim_key_length",
}

// dkimStage verifies the DKIM signatures of a received message (headers
// as the client sent them) and runs acl_smtp_dkim once per signer. It
// returns the value of the DKIM= field of the "<=" line ("" for none) and,
// when a run did not accept, that run's result (nil when all accepted).
func (s *session) dkimStage(id string, hs message.Headers, body []byte) (string, *acl.Result) {
	if s.acls.Controls.DKIMDisableVerify {
		return "", nil
	}
	// The lines logged here carry this message's id, also under -bh
	// (where s.log would put the previous message's in front).
	lastID := s.msgID
	s.msgID = ""
	defer func() { s.msgID = lastID }()
	main := s.srv.Config.Main
	opts := dkim.VerifyOptions{
		Hashes:      main.String("dkim_verify_hashes"),
		KeyTypes:    main.String("dkim_verify_keytypes"),
		MinKeySizes: main.String("dkim_verify_min_keysizes"),
		Minimal:     main.Bool("dkim_verify_minimal"),
	}
	var lookup dkim.KeyLookup
	if s.srv.Instance != nil && s.srv.Instance.Resolver != nil {
		lookup = dkim.ResolverLookup(s.srv.Instance.Resolver)
	} else {
		lookup = noKeys
	}
	results := dkim.Verify(s.ctx, hs, bytes.NewReader(body), lookup, opts)
	for i := range results {
		for _, n := range results[i].Notes {
			s.log(id+" "+n, mainlog.Main)
		}
	}
	signers := dkim.Signers(results)
	s.vars["dkim_signers"] = signers
	verifySigners := signers
	if raw := main.String("dkim_verify_signers"); main.IsSet("dkim_verify_signers") {
		v, err := s.expand(raw)
		if err != nil {
			s.log(fmt.Sprintf("%s DKIM: failed to expand dkim_verify_signers: %v", id, err), mainlog.Main)
			v = ""
		}
		verifySigners = v
	}
	sel, err := mainlog.ParseSelector(main.String("log_selector"))
	if err != nil {
		sel = mainlog.DefaultSelector
	}
	haveACL := main.String("acl_smtp_dkim") != ""
	var statuses []string
	var reject *acl.Result
	saved := s.acls.Checker
	s.acls.Checker = dkimChecker{next: saved, vars: s.vars}
	for _, run := range dkim.ACLRuns(verifySigners, results) {
		for _, k := range dkimPerRun {
			delete(s.vars, k)
		}
		for k, v := range run.Vars() {
			s.vars[k] = v
		}
		res := acl.Result{Verdict: acl.Accept}
		if haveACL {
			res = s.runACL(acl.DKIM)
		}
		statuses = append(statuses, s.vars["dkim_verify_status"])
		if haveACL && run.Result != nil && sel.Has(mainlog.SelDKIMVerbose) {
			r := *run.Result
			if st := s.vars["dkim_verify_status"]; st != r.Status {
				// The ACL changed the status with "set": the line
				// shows the new status and reason.
				r.Detail = st + " - " + s.vars["dkim_verify_reason"]
			}
			s.log(id+" "+r.LogLine(), mainlog.Main)
		}
		if res.Verdict != acl.Accept {
			reject = &res
			break
		}
	}
	s.acls.Checker = saved
	if !haveACL && sel.Has(mainlog.SelDKIMVerbose) {
		// Without acl_smtp_dkim each signature is logged once.
		for i := range results {
			s.log(id+" "+results[i].LogLine(), mainlog.Main)
		}
	}
	// The variables of the last run stay set for the DATA ACL.
	if haveACL {
		s.vars["dkim_verify_status"] = strings.Join(statuses, ":")
	} else {
		delete(s.vars, "dkim_verify_status")
	}
	if !sel.Has(mainlog.SelDKIM) {
		return "", reject
	}
	return dkim.LogField(results), reject
}

// noKeys is the key lookup of a server without a resolver: no records.
func noKeys(_ context.Context, _ string) ([]string, error) {
	return nil, fmt.Errorf("no DNS resolver")
}

// dkimChecker answers the dkim_status and dkim_signers conditions of
// acl_smtp_dkim from the current run's variables and passes every other
// condition to next.
type dkimChecker struct {
	next acl.Checker
	vars expand.VarMap
}

// Check implements acl.Checker.
func (c dkimChecker) Check(s *acl.Session, cond, arg string) (bool, string, error) {
	switch cond {
	case "dkim_status":
		v := c.vars["dkim_verify_status"]
		ok := dkim.MatchStatus(arg, v)
		traceListMatch(s, v, arg, ok, func(e string) bool { return dkim.MatchStatus(e, v) })
		return ok, "", nil
	case "dkim_signers":
		v := c.vars["dkim_cur_signer"]
		ok := dkim.MatchSigner(arg, v)
		traceListMatch(s, v, arg, ok, func(e string) bool { return dkim.MatchSigner(e, v) })
		return ok, "", nil
	}
	if c.next == nil {
		return false, "", fmt.Errorf("the \"%s\" condition is not available", cond)
	}
	return c.next.Check(s, cond, arg)
}

// dkimRejectLog is the log line of a message that acl_smtp_dkim did not
// accept: "ID H=(helo) [ip] rejected DKIM : message" ("U=ident" for a
// local session).
func (s *session) dkimRejectLog(id string, res acl.Result) {
	lastID := s.msgID
	s.msgID = ""
	defer func() { s.msgID = lastID }()
	who := s.hostEq()
	if !s.peer.Addr.IsValid() {
		who = "U=" + s.vars["sender_ident"]
	}
	rej := "rejected"
	if res.Verdict == acl.Defer || res.Verdict == acl.Error {
		rej = "temporarily rejected"
	}
	line := fmt.Sprintf("%s %s %s DKIM", id, who, rej)
	if m := logText(res); m != "" {
		line += " : " + m
	}
	s.logRejection(res, line)
}

// traceListMatch writes the -bh commentary of a list match:
// `>>> ITEM in "LIST"? yes (matched "ELEMENT")` or `no (end of list)`.
func traceListMatch(s *acl.Session, item, list string, ok bool, match func(string) bool) {
	if s.Trace == nil {
		return
	}
	res := "no (end of list)"
	if ok {
		for _, e := range strings.Split(list, ":") {
			if e = strings.TrimSpace(e); e != "" && match(e) {
				res = fmt.Sprintf("yes (matched \"%s\")", e)
				break
			}
		}
	}
	fmt.Fprintf(s.Trace, ">>> %s in \"%s\"? %s\n", item, list, res)
}
