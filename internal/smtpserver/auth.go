package smtpserver

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/auth"
	"github.com/exigo-mta/exigo/internal/mainlog"
)

// authState is what the session knows about SMTP AUTH.
type authState struct {
	// advertised[i] says whether Server.Authenticators[i] was offered in
	// the last EHLO.
	advertised []bool
	offered    bool
	// done is set once the client has authenticated; name and id are the
	// authenticator and its server_set_id value.
	done     bool
	name, id string
}

// authKeyword returns the "AUTH ..." EHLO keyword, or "" when nothing is
// advertised to this client. Exim checks auth_advertise_hosts only when
// authenticators are configured, client-only ones included (observed
// with Exim 4.96 and Debian's configuration). Spec: chapter "SMTP
// authentication", section "Advertising AUTH".
func (s *session) authKeyword() string {
	s.auth.advertised = nil
	s.auth.offered = false
	servers := s.srv.Authenticators
	configured := len(servers) > 0 || (s.srv.Config != nil && len(s.srv.Config.Authenticators) > 0)
	if !configured || s.auth.done {
		return ""
	}
	if !s.hostOption("auth_advertise_hosts") || len(servers) == 0 {
		return ""
	}
	x := s.authExpander()
	var mechs []string
	s.auth.advertised = make([]bool, len(servers))
	for i, a := range servers {
		ok, err := a.Advertised(x)
		if err != nil {
			s.log(err.Error(), mainlog.Main)
		}
		if ok {
			s.auth.advertised[i] = true
			mechs = append(mechs, a.Mechanism())
		}
	}
	if len(mechs) == 0 {
		return ""
	}
	s.auth.offered = true
	return "AUTH " + strings.Join(mechs, " ")
}

// authExpander expands authenticator options in the session's context,
// with $auth1.. set and -bh commentary for the server_condition.
func (s *session) authExpander() *auth.ContextExpander {
	return &auth.ContextExpander{Ctx: s.context(), Comments: func(line string) { s.trace("%s", line) }}
}

// cmdAUTH runs an AUTH exchange. Spec: chapter "SMTP authentication".
func (s *session) cmdAUTH(arg string) error {
	switch {
	case !s.auth.offered:
		return s.synprotError(503, strings.TrimPrefix(auth.ReplyNotAdvertised, "503 "))
	case s.auth.done:
		return s.synprotError(503, strings.TrimPrefix(auth.ReplyAlreadyAuthenticated, "503 "))
	case s.senderSet:
		return s.synprotError(503, strings.TrimPrefix(auth.ReplyInTransaction, "503 "))
	}
	if s.srv.Config.Main.String(acl.Auth.OptionName()) != "" {
		s.vars["smtp_command_argument"] = arg
		res := s.runACL(acl.Auth)
		if res.Verdict != acl.Accept {
			s.aclReject(acl.Auth, res, "", "AUTH "+arg)
			if res.Verdict == acl.Drop {
				return errClose
			}
			return nil
		}
	}
	a, initial, reply := auth.Select(s.srv.Authenticators, s.auth.advertised, arg)
	if reply != "" {
		code, text := splitReply(reply)
		return s.synprotError(code, text)
	}
	ex := a.Start(s.authExpander(), initial)
	for {
		challenge, more := ex.Challenge()
		if !more {
			break
		}
		s.reply(334, challenge)
		if err := s.w.Flush(); err != nil {
			return fmt.Errorf("writing reply: %w", err)
		}
		line, err := s.readLine()
		if err != nil {
			return s.lostInput(err)
		}
		ex.Respond(line)
	}
	o := ex.Outcome()
	code, text := splitReply(o.Reply())
	if o.Succeeded() {
		s.auth.done = true
		s.auth.name, s.auth.id = a.Name, o.AuthenticatedID
		s.vars["authenticated_id"] = o.AuthenticatedID
		s.vars["sender_host_authenticated"] = a.Name
		s.vars["authentication_failed"] = "0"
		s.vars["received_protocol"] = s.protocol()
		for i, v := range o.Vars {
			if i < 4 {
				s.vars["auth"+strconv.Itoa(i+1)] = v
			}
		}
		s.reply(code, text)
		return nil
	}
	s.vars["authentication_failed"] = "1"
	if o.SetFailID {
		s.vars["authenticated_fail_id"] = o.FailID
	}
	if o.LogText != "" {
		s.log(a.FailureLogLine(s.logHost(), o), mainlog.Main, mainlog.Reject)
	}
	s.reply(code, text)
	return nil
}

// splitReply splits "535 text" into its code and text.
func splitReply(r string) (int, string) {
	if len(r) >= 4 {
		if n, err := strconv.Atoi(r[:3]); err == nil {
			return n, r[4:]
		}
	}
	return 503, r
}

// mailAuth applies the AUTH= parameter of MAIL (Exim specification
// chapter "SMTP authentication", section "The AUTH parameter on MAIL
// commands"): without acl_smtp_mailauth (which exigo
// does not run yet) the xtext-decoded value becomes
// $authenticated_sender when the client has authenticated, and is
// otherwise ignored with a log line.
func (s *session) mailAuth(value string) error {
	if !s.auth.done {
		if value != "<>" {
			s.log(fmt.Sprintf("ignoring AUTH=%s from %s (client not authenticated)", value, s.hostEq()), mainlog.Main)
		}
		return nil
	}
	v, ok := authSenderParam(value)
	if !ok {
		return s.synprotError(501, "invalid data for AUTH")
	}
	s.vars["authenticated_sender"] = v
	return nil
}

// resetAuthSender gives $authenticated_sender back the value it had when
// the session began, before a MAIL command applies its AUTH=.
func (s *session) resetAuthSender() {
	if !s.authSenderSaved {
		s.authSenderSaved = true
		s.authSenderPreset = s.vars["authenticated_sender"]
	}
	if s.authSenderPreset == "" {
		delete(s.vars, "authenticated_sender")
	} else {
		s.vars["authenticated_sender"] = s.authSenderPreset
	}
}
