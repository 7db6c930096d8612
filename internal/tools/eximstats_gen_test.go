package tools

import (
	"fmt"
	"math/rand"
	"strings"
	"time"
)

// statGen writes random but plausible mainlogs for comparing exigo's
// eximstats with Debian's on input nobody wrote by hand.
type statGen struct {
	r   *rand.Rand
	b   strings.Builder
	now time.Time
	seq int
}

func (g *statGen) pick(l ...string) string { return l[g.r.Intn(len(l))] }

// host picks a host field, now and then one of many made-up hosts so
// that the top lists overflow.
func (g *statGen) host() string {
	if g.r.Intn(3) == 0 {
		n := g.r.Intn(120)
		return fmt.Sprintf("H=h%d.net%d.example [10.%d.%d.%d]", n, n%7, n%5, n%11, n)
	}
	return g.pick(genHosts...)
}

var (
	genHosts = []string{
		"H=mx1.example.com [192.0.2.1]", "H=relay.example.net [192.0.2.44]:2525", "H=(helo) [203.0.113.9]",
		"H=mail.Example.ORG (helo.x) [198.51.100.7]:25", "H=[10.0.0.5]", "H=localhost [127.0.0.1]",
		"H=a.b [2001:db8::1]", "H=smtp.big.co.uk [10.1.1.1]", "H=(a.b.c.d) [10.9.9.9]",
	}
	genSenders = []string{"alice@example.com", "Bob@Example.ORG", "<>", "carol@sub.example.net", "root@localhost", "x@y", "weird", "\"q u\"@z.example"}
	genRcpts   = []string{"x@dest.example", "Y@Dest.Example", "z@other.example", "w@local.test", "list@lists.example", "a@b.c.d.e"}
	genLocal   = []string{"x <x@dest.example>", "user1 <staff@lists.example>", "|/bin/cat <p@local.test>", "/var/mail/u <u@local.test>",
		"u (x) <u@local.test>", "x@dest.example <x@dest.example>", ":blackhole: <b@local.test>", "U <u@local.test> <l@local.test>"}
	genErrors = []string{": Unrouteable address", " R=fail: gone away", ": retry timeout exceeded",
		" R=dnslookup T=remote_smtp H=mx1.example.com [192.0.2.1]: SMTP error from remote mail server after RCPT TO:<w@local.test>: 550 No such user here, really, not at all, go away",
		": a  b   c"}
	genRejects = []string{
		"H=%s [%s] F=<x@y> rejected RCPT <bad@test>: no such user",
		"H=(%s) [%s] F=<x@y> rejected RCPT <x@elsewhere>: relay not permitted",
		"1r%04d-000001-AA H=%s [%s] F=<d@e> rejected after DATA: spam detected",
		"1r%04d-000001-AA H=%s [%s] F=<d@e> rejected after DATA: Your message scored 15 SpamAssassin points",
		"H=%s [%s] F=<x@y> temporarily rejected RCPT <r@t>: greylisted: try later",
		"H=%s [%s] temporarily rejected connection in \"connect\" ACL: busy",
		"SMTP call from %s [%s] dropped: too many syntax or protocol errors (last command was \"x\")",
		"SMTP connection from %s [%s] refused: too many connections",
		"Connection from %s [%s] refused: too many connections from that IP address",
		"rejected EHLO from %s [%s]: syntactically invalid argument(s): x_y",
		"H=%s [%s] rejected connection in \"connect\" ACL: blacklisted",
		"H=(%s) [%s] F=<x@y> rejected MAIL <x@y>: sender verify failed",
		"1r%04d-000001-AA H=%s [%s] F=<d@e> temporarily rejected after DATA: try later",
		"H=%s [%s] F=<x@y> rejected RCPT <bad@test>",
		"H=%s [%s] F=<x@y> rejected RCPT <bad@test>: a: b: c",
		"H=%s [%s]:1025 I=[10.0.0.1]:25 F=<x@y> rejected RCPT <bad@test>: Rejected by SpamAssassin",
		"H=%s [%s] rejected AUTH login: bad password",
		"SMTP call from %s [%s] dropped: too many unrecognized commands",
		"SMTP call from %s [%s] dropped: too many nonmail commands",
		"H=%s [%s] refused connection in \"connect\" ACL",
		"H=%s [%s] temporarily refused connection: load",
		"1r%04d-000001-AA H=%s [%s] F=<d@e> rejected after DATA: malware detected: Eicar",
		"1r%04d-000001-AA H=%s [%s] F=<d@e> rejected after DATA: This message contains a virus (Eicar).",
		"1r%04d-000001-AA H=(%s) [%s] F=<d@e> rejected after DATA:",
	}
)

// stamp writes a time stamp, sometimes with fractions, a zone or a pid.
func (g *statGen) stamp() {
	g.now = g.now.Add(time.Duration(g.r.Intn(400)) * time.Second)
	switch g.r.Intn(40) {
	case 0:
		g.now = g.now.Add(time.Duration(g.r.Intn(30)) * time.Hour)
	case 1: // logs from several hosts, or a clock put back
		g.now = g.now.Add(-time.Duration(g.r.Intn(3000)) * time.Second)
	}
	if g.r.Intn(50) == 0 {
		g.b.WriteString("Nov 14 22:13:30 mailhost exim[123]: ")
	}
	g.b.WriteString(g.now.Format("2006-01-02 15:04:05"))
	switch g.r.Intn(30) {
	case 0:
		g.b.WriteString(".123")
	case 1:
		g.b.WriteString(" +0100")
	case 2:
		g.b.WriteString(" [1234]")
	}
	g.b.WriteByte(' ')
}

func (g *statGen) line(f string, a ...any) {
	g.stamp()
	fmt.Fprintf(&g.b, f, a...)
	g.b.WriteByte('\n')
}

// message writes the lines of one message: arrival, deliveries,
// deferrals, failures and (usually) Completed.
func (g *statGen) message() {
	g.seq++
	id := fmt.Sprintf("1r%04d-%06d-AA", g.seq, g.r.Intn(1000000))
	size := g.r.Intn(100000)
	switch g.r.Intn(10) {
	case 0:
		size = g.r.Intn(100)
	case 1:
		size = g.r.Intn(50000000)
	case 2:
		size = g.r.Intn(3000000000)
	}
	from := g.pick(genSenders...)
	if g.r.Intn(3) == 0 {
		g.line("%s <= %s U=%s P=local S=%d", id, from, g.pick("root", "Debian-exim", "joe"), size)
	} else if g.r.Intn(8) == 0 {
		g.line("%s <= %s %s U=%s P=%s S=%d", id, from, g.pick(genHosts...), g.pick("root", "joe"), g.pick("smtp", "esmtpa", "local-bsmtp"), size)
	} else if g.r.Intn(8) == 0 {
		g.line("%s <= %s P=local S=%d", id, from, size)
	} else if g.r.Intn(8) == 0 {
		g.line("%s <= %s H=%s A=plain:%s P=esmtpa S=%d", id, from, g.pick(genHosts...)[2:], g.pick("u1", "u2@x.example"), size)
	} else if g.r.Intn(10) > 0 {
		if g.r.Intn(3) == 0 {
			from = fmt.Sprintf("s%d@d%d.example", g.r.Intn(80), g.r.Intn(9))
		}
		g.line("%s <= %s %s P=esmtps X=TLS1.3 S=%d id=%d@x", id, from, g.host(), size, g.seq)
	}
	for n := g.r.Intn(4); n >= 0; n-- {
		tail := ""
		if g.r.Intn(2) == 0 {
			tail = fmt.Sprintf(" DT=%ds", g.r.Intn(90))
		}
		switch g.r.Intn(9) {
		case 0, 1:
			g.line("%s => %s R=local T=%s%s", id, g.pick(genLocal...), g.pick("local_delivery", "pipe", "file"), tail)
		case 2, 3:
			g.line("%s => %s R=dnslookup T=remote_smtp %s C=\"250 OK\"%s", id, g.pick(genRcpts...), g.host(), tail)
		case 4:
			g.line("%s -> %s R=dnslookup T=remote_smtp %s%s", id, g.pick(genRcpts...), g.pick(genHosts...), tail)
		case 5:
			g.line("%s == %s R=dnslookup T=remote_smtp defer (-44) %s: 451 Try later", id, g.pick(genRcpts...), g.pick(genHosts...))
		case 6:
			g.line("%s ** %s%s", id, g.pick(genRcpts...), g.pick(genErrors...))
		case 7:
			g.line("%s => %s <%s> R=r T=remote_smtp %s", id, g.pick(genRcpts...), g.pick(genRcpts...), g.pick(genHosts...))
		case 8:
			g.line("%s => %s R=bh", id, g.pick(genRcpts...))
		}
		if g.r.Intn(15) == 0 {
			g.line("%s *> %s R=dnslookup T=remote_smtp %s", id, g.pick(genRcpts...), g.pick(genHosts...))
		}
	}
	switch g.r.Intn(12) {
	case 0:
		g.line("%s Frozen (delivery error message)", id)
	case 1:
		g.line("%s SA: Action: flagged as Spam but accepted: score=10.0 (host=x [10.2.2.2]) for r@t", id)
	case 2:
		g.line("%s SA: Action: scanned but message isn't spam: score=1.0 (host=x [10.2.2.3]) for r@t", id)
		g.line("%s SA: Action: flagged as Spam but accepted: score=9.0 (scanned in 1/1 secs | Message-Id: x). From <a@b> (host=x [10.2.2.4]) for r@t", id)
	case 3:
		g.line("%s Completed", id)
		g.line("%s Completed QT=1h", id)
	default:
		qt := ""
		if g.r.Intn(2) == 0 {
			qt = fmt.Sprintf(" QT=%dm%ds", g.r.Intn(5), g.r.Intn(60))
		}
		g.line("%s Completed%s", id, qt)
	}
}

// genStatLog returns a random mainlog of about n messages.
func genStatLog(seed int64, n int) string {
	g := &statGen{r: rand.New(rand.NewSource(seed)), now: time.Date(2023, 11, 14, 22, 0, 0, 0, time.UTC)}
	for range n {
		switch g.r.Intn(6) {
		case 0:
			ip := fmt.Sprintf("10.0.%d.%d", g.r.Intn(3), g.r.Intn(5))
			f := g.pick(genRejects...)
			if strings.HasPrefix(f, "1r") {
				g.seq++
				g.line(f, g.seq, g.pick("h.example", "x.y.z"), ip)
			} else {
				g.line(f, g.pick("h.example", "x.y.z"), ip)
			}
		case 1:
			g.line("%s", g.pick("Start queue run: pid=1", "exim user lost privilege for using -C option", "garbage"))
		default:
			g.message()
		}
	}
	return g.b.String()
}
