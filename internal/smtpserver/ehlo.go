package smtpserver

import (
	"fmt"
	"strings"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/mainlog"
)

func (s *session) cmdHELO(arg string) error { return s.hello("HELO", arg) }
func (s *session) cmdEHLO(arg string) error { return s.hello("EHLO", arg) }

// validHelo checks a HELO/EHLO argument: a domain name of letters,
// digits, dots and hyphens (and helo_allow_chars), or an address literal
// in brackets. Exim specification chapter "Main configuration", options
// helo_allow_chars and helo_accept_junk_hosts.
func (s *session) validHelo(arg string) bool {
	if arg == "" {
		return false
	}
	if strings.HasPrefix(arg, "[") && strings.HasSuffix(arg, "]") {
		return len(arg) > 2 && !strings.ContainsAny(arg[1:len(arg)-1], " \t[]")
	}
	extra := s.srv.Config.Main.String("helo_allow_chars")
	for i := 0; i < len(arg); i++ {
		c := arg[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' {
			continue
		}
		if strings.IndexByte(extra, c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// hello handles HELO and EHLO. Exim specification chapter "SMTP
// processing", and chapter "Access control lists" for acl_smtp_helo.
func (s *session) hello(verb, arg string) error {
	if !s.validHelo(arg) && !s.junkHelo() {
		shown := arg
		if shown == "" {
			shown = "(no argument given)"
		}
		s.log(fmt.Sprintf("rejected %s from %s: syntactically invalid argument(s): %s", verb, s.logHost(), shown), mainlog.Main, mainlog.Reject)
		return s.countSynprot(501, "Syntactically invalid "+verb+" argument(s)", false)
	}
	s.domainOption(arg, "helo_lookup_domains")
	s.resetTransaction()
	oldHelo, oldDone, oldESMTP := s.helo, s.heloDone, s.esmtp
	s.helo = arg
	s.vars["sender_helo_name"] = arg
	s.vars["sender_fullhost"] = s.fullHost()
	if s.peer.Addr.IsValid() {
		s.vars["sender_rcvhost"] = s.rcvHost()
	}
	s.esmtp, s.utf8Proto = verb == "EHLO", false
	s.vars["received_protocol"] = s.protocol()
	// helo_verify_hosts: a HELO name that does not verify is refused;
	// the name stays in the host's description for later log lines (Exim
	// specification chapter "Main configuration", helo_verify_hosts).
	if s.heloVerify {
		ok := false
		if s.srv.Verifier != nil {
			ok, _ = s.srv.Verifier.VerifyHELO(s.acls)
		}
		if !ok {
			s.heloDone, s.esmtp = false, false
			s.log(fmt.Sprintf("rejected \"%s %s\" from %s", verb, arg, s.logHost()), mainlog.Main, mainlog.Reject)
			s.reply(550, verb+" argument does not match calling host")
			return nil
		}
	}
	var res acl.Result
	if s.srv.Config.Main.String("acl_smtp_helo") != "" {
		res = s.runACL(acl.HELO)
		if res.Verdict != acl.Accept {
			s.aclReject(acl.HELO, res, s.hostEq()+" ", "EHLO or HELO "+arg)
			s.helo, s.heloDone, s.esmtp = oldHelo, oldDone, oldESMTP
			if oldHelo == "" {
				delete(s.vars, "sender_helo_name")
			}
			if res.Verdict == acl.Drop {
				return errClose
			}
			return nil
		}
	}
	s.heloDone = true
	// The host is named by its host name when one is known, else by
	// the HELO argument.
	who := arg
	if n := s.vars["sender_host_name"]; n != "" {
		who = n
	}
	code, greeting := 250, fmt.Sprintf("%s Hello %s [%s]", s.hostname(), who, s.hostAddr())
	if id := s.vars["sender_ident"]; id != "" {
		// A local session (-bs) or an identified client (RFC 1413):
		// "Hello <login> at <helo>", then the address of a remote one.
		greeting = fmt.Sprintf("%s Hello %s at %s", s.hostname(), id, who)
		if s.peer.Addr.IsValid() {
			greeting += " [" + s.hostAddr() + "]"
		}
	}
	if res.UserMessage != "" {
		// The ACL's message replaces the greeting line; it may have
		// only one line (Exim specification chapter "Access control
		// lists", section "ACL modifiers", message).
		code, greeting = s.acceptReply(res, code, greeting)
		if i := strings.IndexByte(greeting, '\n'); i >= 0 {
			s.log(fmt.Sprintf("EHLO/HELO response must not contain newlines: message truncated: %d %s", code, strings.ReplaceAll(greeting, "\n", `\n`)), mainlog.Main, mainlog.Panic)
			greeting = greeting[:i]
		}
	}
	if !s.esmtp {
		s.chunking, s.pipelining, s.dsn = false, false, false
		s.reply(code, greeting)
		return nil
	}
	s.reply(code, greeting+"\n"+strings.Join(s.ehloKeywords(), "\n"))
	return nil
}

// junkHelo reports whether the client may send any HELO argument.
func (s *session) junkHelo() bool {
	return s.srv.Config.Main.String("helo_accept_junk_hosts") != "" && s.hostOptionQuiet("helo_accept_junk_hosts")
}

// ehloKeywords returns the EHLO extensions in Exim's order.
func (s *session) ehloKeywords() []string {
	main := s.srv.Config.Main
	var kw []string
	if n := s.sizeLimit(); n > 0 {
		kw = append(kw, fmt.Sprintf("SIZE %d", n))
	} else {
		kw = append(kw, "SIZE")
	}
	if main.Bool("accept_8bitmime") {
		kw = append(kw, "8BITMIME")
	}
	s.dsn = s.hostOption("dsn_advertise_hosts")
	if s.dsn {
		kw = append(kw, "DSN")
	}
	for _, o := range []struct{ opt, name string }{{"acl_smtp_etrn", "ETRN"}, {"acl_smtp_vrfy", "VRFY"}, {"acl_smtp_expn", "EXPN"}} {
		if main.String(o.opt) != "" {
			kw = append(kw, o.name)
		}
	}
	s.pipelining = s.hostOption("pipelining_advertise_hosts")
	if s.pipelining {
		kw = append(kw, "PIPELINING")
		if s.pipeConnect {
			kw = append(kw, "PIPECONNECT")
		}
	}
	if a := s.authKeyword(); a != "" {
		kw = append(kw, a)
	}
	s.chunking = s.hostOption("chunking_advertise_hosts")
	if s.chunking {
		kw = append(kw, "CHUNKING")
	}
	if s.tls == nil && s.hostOption("tls_advertise_hosts") {
		kw = append(kw, "STARTTLS")
	}
	if main.Bool("prdr_enable") {
		kw = append(kw, "PRDR")
	}
	s.utf8Adv = main.Bool("accept_8bitmime") && s.hostOption("smtputf8_advertise_hosts")
	if s.utf8Adv {
		kw = append(kw, "SMTPUTF8")
	}
	kw = append(kw, "HELP")
	return kw
}

// hostOptionQuiet matches without commentary (for options Exim checks
// once at connection time and remembers).
func (s *session) hostOptionQuiet(name string) bool {
	s.quiet = true
	defer func() { s.quiet = false }()
	return s.hostOption(name)
}
