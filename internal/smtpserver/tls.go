package smtpserver

import (
	"bufio"
	"errors"
	"net"

	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/tlsserver"
)

// tlsSession presents the session to the TLS package: expansions with
// $tls_in_sni set, and host list matching for the tls_* host options.
type tlsSession struct{ s *session }

func (t tlsSession) Expand(str, sni string) (string, error) {
	if sni != "" {
		t.s.vars["tls_in_sni"] = sni
		t.s.vars["tls_sni"] = sni
	}
	return t.s.expand(str)
}

func (t tlsSession) MatchHosts(list string) (bool, error) {
	h := &lists.Host{IP: t.s.peer.Addr, NameLookedUp: true}
	m, err := lists.MatchHost(t.s.listEnv(), list, h)
	return m.Matched, err
}

// cmdSTARTTLS negotiates TLS. Certificates are loaded before the 220, so
// that a setup failure can answer 454 and the session goes on in clear; a
// failed handshake ends the connection. After the handshake the session
// starts afresh (a new EHLO is needed). Spec: chapter "Encrypted SMTP
// connections using TLS/SSL".
func (s *session) cmdSTARTTLS(arg string) error {
	if arg != "" {
		// The argument is checked first, and the command is then left
		// out of the C= list of later log lines (observed with Exim
		// 4.96).
		s.cmdList = s.cmdList[:len(s.cmdList)-1]
		return s.synprotError(501, "unexpected argument data")
	}
	if !s.esmtp || s.tls != nil || s.srv.Config.Main.String("tls_advertise_hosts") == "" {
		return s.synprotError(503, "STARTTLS command used when not advertised")
	}
	if s.srv.TLS == nil || s.conn == nil {
		s.reply(454, "TLS currently unavailable")
		return nil
	}
	pending, err := s.srv.TLS.Prepare(tlsSession{s})
	if err != nil {
		var se *tlsserver.SetupError
		if errors.As(err, &se) {
			for _, l := range se.Log {
				to := []mainlog.Which{mainlog.Main}
				if l.Panic {
					to = append(to, mainlog.Panic)
				}
				s.log(l.Text, to...)
			}
			s.log(se.LogText(s.logHost()), mainlog.Main)
		} else {
			s.log("TLS error on connection from "+s.logHost()+": "+err.Error(), mainlog.Main)
		}
		s.reply(454, "TLS currently unavailable")
		return nil
	}
	s.reply(220, "TLS go ahead")
	if err := s.w.Flush(); err != nil {
		return err
	}
	tconn, state, err := pending.Handshake(s.conn)
	if err != nil {
		var he *tlsserver.HandshakeError
		if errors.As(err, &he) {
			s.log(he.LogText(s.logHost()), mainlog.Main)
			if he.Timeout && s.sel().Has(mainlog.SelLostIncomingConnection) {
				s.log("SMTP command timeout on connection from "+s.logHost(), mainlog.Main)
			}
		} else {
			s.log("TLS error on connection from "+s.logHost()+": "+err.Error(), mainlog.Main)
		}
		return errClose
	}
	s.startTLS(tconn, state)
	return nil
}

// startTLS switches the session onto an encrypted connection (after
// STARTTLS, or at once for tls_on_connect) and forgets the greeting.
func (s *session) startTLS(c net.Conn, state *tlsserver.State) {
	s.conn = c
	s.w = bufio.NewWriter(c)
	s.r = s.newReader(c)
	s.tls = state
	for k, v := range state.Vars() {
		s.vars[k] = v
	}
	s.helo, s.heloDone, s.esmtp = "", false, false
	s.resetTransaction()
}

// tlsOnConnect negotiates TLS before the banner, for a connection on one
// of tls_on_connect_ports. false means the connection is to be closed.
func (s *session) tlsOnConnect() bool {
	if s.srv.TLS == nil || s.conn == nil {
		s.log("TLS error on connection from "+s.logHost()+" (tls_on_connect): TLS support not available", mainlog.Main)
		return false
	}
	tconn, state, err := s.srv.TLS.Server(s.conn, tlsSession{s})
	if err != nil {
		var he *tlsserver.HandshakeError
		var se *tlsserver.SetupError
		switch {
		case errors.As(err, &he):
			s.log(he.LogText(s.logHost()), mainlog.Main)
		case errors.As(err, &se):
			s.log(se.LogText(s.logHost()), mainlog.Main)
		default:
			s.log("TLS error on connection from "+s.logHost()+": "+err.Error(), mainlog.Main)
		}
		return false
	}
	s.startTLS(tconn, state)
	return true
}
