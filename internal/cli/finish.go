package cli

// finish checks what Parse collected as a whole, in Exim's order: the
// message ids of the -M family, then the combinations of options that
// make no sense, and finally which mode runs.
func (p *parser) finish() error {
	inv := p.inv
	if p.seen["-M"] {
		if err := p.checkMessageIDs(); err != nil {
			return err
		}
	}
	if p.seen["-Mset"] && !IsMessageID(inv.ModeArg) {
		return usagef("exim: malformed message id %s after -Mset option", inv.ModeArg)
	}
	if p.seen["-MC"] {
		if len(inv.Args) != 5 {
			return usagef("exim: too many or too few arguments after -MC")
		}
		inv.Internal = append(inv.Internal, inv.Args...)
		inv.Args = nil
	}
	if p.incompatible() {
		return usagef("exim: incompatible command-line options or arguments")
	}
	p.resolveMode()
	return nil
}

// checkMessageIDs validates the arguments of a -M option: every argument
// is a message id, except that -Mar, -Mmd and -Mes take one id and then
// addresses, and -MG a queue name and then ids.
func (p *parser) checkMessageIDs() error {
	inv := p.inv
	if len(inv.Args) == 0 {
		return usagef("exim: no message ids given after %s option", inv.Mode)
	}
	ids := inv.Args
	switch inv.Mode {
	case "-Mar", "-Mmd", "-Mes":
		ids = ids[:1]
	case "-MG":
		ids = ids[1:]
	}
	for _, id := range ids {
		if !IsMessageID(id) {
			return usagef("exim: malformed message id %s after %s option", id, inv.Mode)
		}
	}
	return nil
}

// oneMessageActions are the -M options that act on one message, and so
// may be combined with message input options.
var oneMessageActions = map[string]bool{
	"-Mar": true, "-Mes": true, "-Mmd": true, "-Mvb": true, "-Mvc": true, "-Mvh": true, "-Mvl": true,
}

// viewOnly are the -M options that only show a message; unlike the
// others they may follow -R (observed with Exim 4.96).
var viewOnly = map[string]bool{"-Mvb": true, "-Mvc": true, "-Mvh": true, "-Mvl": true}

// incompatible reports the combinations Exim refuses with "incompatible
// command-line options or arguments". The rules were found by running
// Exim 4.96: spec chapter "The Exim command line" says only that "certain
// combinations of options do not make sense".
func (p *parser) incompatible() bool {
	s, inv := p.seen, p.inv
	daemon := s["-bd"] || s["-bdf"]
	inetd := s["-bw"]
	queue := inv.Queue.Set
	periodic := inv.Queue.Interval > 0
	msgAction := s["-M"]
	oneMsg := msgAction && oneMessageActions[inv.Mode]
	smtpIn := s["-bs"] || s["-bS"]
	extract := inv.ExtractRecipients
	filter := s["-bf"]
	addrTest := s["-bt"]
	verify := s["-bv"] || s["-bvs"]
	checking := addrTest || verify || s["-bh"] || filter
	listOptions := s["-bP"]
	listQueue := s["-bp"] || s["-bpa"] || s["-bpc"] || s["-bpr"] || s["-bpra"] || s["-bpru"] || s["-bpu"]
	bi := s["-bi"]
	retryTest, rewriteTest := s["-brt"], s["-brw"]
	expansion := s["-be"] || s["-bem"]
	// Arguments that are recipients (not the arguments of -M, -brt, -brw).
	recipients := len(inv.Args) > 0 && !msgAction && !retryTest && !rewriteTest

	switch {
	case (smtpIn || extract || recipients) &&
		(daemon || queue || bi || retryTest || rewriteTest || filter || msgAction && !oneMsg):
	case msgAction && inv.Queue.Recipient != nil && !viewOnly[inv.Mode]:
	case msgAction && (daemon || periodic || listOptions || checking || bi || retryTest || rewriteTest):
	case (daemon || periodic) && (inv.SenderSet || listOptions || listQueue || checking || bi):
	case daemon && queue && !periodic:
	case inetd && queue:
	case listOptions && (checking || smtpIn || extract || filter || bi || expansion):
	case verify && (addrTest || smtpIn || extract || filter || bi):
	case addrTest && (smtpIn || extract || filter || bi):
	case smtpIn && (inv.SenderSet || filter || extract):
	case s["-Mset"] && (!s["-be"] || s["-bem"]):
	default:
		return false
	}
	return true
}

// modeOrder lists the action options from the one that wins to the one
// that loses when several are given, as Exim 4.96 behaves.
var modeOrder = []string{
	"-bV", "-bI", "-z", "-oPX",
	"-bpc", "-bpra", "-bpru", "-bpr", "-bpa", "-bpu", "-bp",
	"-bP", "-brt", "-brw", "-bmalware",
	"-bd", "-bdf", "-bw",
	"queue", "-M", "-MC",
	"-bt", "-bv", "-bvs", "-bh", "-bem", "-be", "-bf", "-bi",
	"-bs", "-bS",
}

// resolveMode sets inv.Mode from the options seen. Without an action
// option, -t or arguments mean -bm; otherwise Exim prints its help.
func (p *parser) resolveMode() {
	inv := p.inv
	for _, m := range modeOrder {
		if !p.seen[m] && !(m == "queue" && inv.Queue.Set) {
			continue
		}
		switch m {
		case "queue":
			inv.Mode = "-q"
		case "-M":
			// inv.Mode already names the -M option.
		case "-MC":
			inv.Mode = "-MC"
		case "-bh":
			inv.Mode = "-bh"
			if inv.HostCheckCallouts {
				inv.Mode = "-bhc"
			}
		default:
			inv.Mode = m
		}
		return
	}
	if inv.ExtractRecipients || len(inv.Args) > 0 {
		inv.Mode = "-bm"
		return
	}
	inv.Mode = "--help"
}
