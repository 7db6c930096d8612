package tools

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// This file reads mainlog lines into the totals of an eximstats report.
// Spec: chapter "Log files", sections "Log line flags" and "Reducing or
// increasing what is logged"; chapter "Exim utilities", section "Mail
// statistics (eximstats)".

// gig is the unit in which eximstats carries large volumes.
const gig = 1 << 30

// The kinds of "top" tables, in the order eximstats prints them.
const (
	byHost = iota
	byDomain
	byEmail
	byEdomain
	byKinds
)

// byNames are the table names of the kinds: "sending hosts", "host
// destinations", and the grand total column titles.
var byNames = [byKinds]struct{ noun, column string }{
	{"host", "Hosts"}, {"domain", "Domains"}, {"email", "Emails"}, {"edomain", "Edomains"},
}

// statMessage is what eximstats remembers of a message until Completed.
type statMessage struct {
	size             int64
	haveSize         bool
	arrival          int64 // seconds, from the "<=" line's time stamp
	relayFrom        string
	proto            string
	delayed, errored bool
	remote           bool
}

// tally counts messages and their volume under one key; addrs counts
// addresses (=> and ->) for destination tables.
type tally struct {
	count, addrs int
	bytes        int64
}

// tallies is one top table's data.
type tallies map[string]*tally

// add counts messages, addresses and bytes under key.
func (t tallies) add(key string, count, addrs int, bytes int64) {
	e := t[key]
	if e == nil {
		e = &tally{}
		t[key] = e
	}
	e.count += count
	e.addrs += addrs
	e.bytes += bytes
}

// Eximstats holds the totals gathered from log lines.
type Eximstats struct {
	o                 EximstatsOptions
	by                [byKinds]bool
	lines             int
	begin, end        string
	received          int
	receivedVol       int64
	delivered         int
	deliveredAddrs    int
	deliveredVol      int64
	delayed, failed   int
	transportCount    map[string]int
	transportVol      map[string]int64
	recvHist, delHist [24 * 60]int // per minute of the day
	errors            map[string]int
	rejectIPs         map[string]int
	tempRejectIPs     map[string]int
	spamIPs, hamIPs   map[string]int
	rejectReasons     map[string]int
	tempReasons       map[string]int
	relayed           map[string]int
	relayHidden       int
	queueAll          []int // per bucket of o.QueueTimes, plus "over"
	queueRemote       []int
	rtAll             []int
	rtProto           map[string][]int
	dtAll, dtRemote   []int
	sources           [byKinds]tallies
	dests             [byKinds]tallies
	localSenders      tallies
	localDests        tallies
	localDomainDests  tallies
	messages          map[string]*statMessage
	patternCount      []int
	patternHist       [][24 * 60]int
}

// NewEximstats returns empty totals for a report with options o.
func NewEximstats(o EximstatsOptions) *Eximstats {
	s := &Eximstats{
		o:     o,
		begin: "9999-99-99 99:99:99", end: "0000-00-00 00:00:00",
		transportCount: map[string]int{}, transportVol: map[string]int64{},
		errors: map[string]int{}, rejectIPs: map[string]int{}, tempRejectIPs: map[string]int{},
		spamIPs: map[string]int{}, hamIPs: map[string]int{},
		rejectReasons: map[string]int{}, tempReasons: map[string]int{}, relayed: map[string]int{},
		localSenders: tallies{}, localDests: tallies{}, localDomainDests: tallies{},
		messages: map[string]*statMessage{},
	}
	s.by = [byKinds]bool{o.ByHost, o.ByDomain, o.ByEmail, o.ByEdomain}
	if !o.ByDomain && !o.ByEmail && !o.ByEdomain {
		s.by[byHost] = true
	}
	for i := range s.sources {
		s.sources[i], s.dests[i] = tallies{}, tallies{}
	}
	s.patternCount = make([]int, len(o.Patterns))
	s.patternHist = make([][24 * 60]int, len(o.Patterns))
	s.queueAll = make([]int, len(o.QueueTimes)+1)
	s.queueRemote = make([]int, len(o.QueueTimes)+1)
	s.rtAll = make([]int, len(o.ShowRT)+1)
	s.rtProto = map[string][]int{}
	s.dtAll = make([]int, len(o.ShowDT)+1)
	s.dtRemote = make([]int, len(o.ShowDT)+1)
	return s
}

var (
	statLineRE   = lazyRegexp(`^((\d{4})-(\d\d)-(\d\d)\s(\d\d):(\d\d):(\d\d))(\.\d+)?(\s[-+]\d\d\d\d)?(\s\[\d+\])?`)
	statFlagRE   = lazyRegexp(`^([<>=*-]+|SA)$`)
	statRejRE    = lazyRegexp(`rejected|refused|dropped`)
	statIDRE     = lazyRegexp(`^[-0-9a-zA-Z]+$`)
	statWantRE   = lazyRegexp(`<=|=>|->|==|\*\*|Co|SA|Re`)
	statIP1RE    = lazyRegexp(`\bH=(?:|.*? )(\[[^]]+\])`)
	statIP2RE    = lazyRegexp(`Connection from (\[\S+\])`)
	statIP3RE    = lazyRegexp(`SMTP call from .*?(\[\S+\])`)
	statHostRE   = lazyRegexp(`\bH=(\S+)`)
	statUserRE   = lazyRegexp(`\sU=(\S+)`)
	statSizeRE   = lazyRegexp(`\sS=(\d+)( |$)`)
	statTRE      = lazyRegexp(`\sT=(\S+)`)
	statDTRE     = lazyRegexp(`\sDT=(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?`)
	statQTRE     = lazyRegexp(`\sQT=(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?`)
	statHeloRE   = lazyRegexp(`^rejected [HE][HE]LO from .*?(\[.+?\]):`)
	statTemp1RE  = lazyRegexp(`(temporarily rejected [A-Z]*) .*?(: .*?)(:|\s*$)`)
	statTemp2RE  = lazyRegexp(`temporarily refused connection|temporarily rejected connection in .*?ACL`)
	statLocalRE  = lazyRegexp(`^(\S+(?: \([^)]*\))?)( <[^>]*>)?`)
	statDomRE    = lazyRegexp(`^[^.]+\.([^.]+\..*)$`)
	statPDomRE   = lazyRegexp(`^\([^.]+(\.[^.]+\..*)$`)
	statIPRE     = lazyRegexp(`^[\d.]+$`)
	statSAHostRE = lazyRegexp(`From <[^>]*> \(host=.*?(\[[^]]+\])\)`)
	statProtoRE  = lazyRegexp(`\sP=(\S+)`)
	statParentRE = lazyRegexp(`^\S+ (?:\([^)]*\) )?<([^>]*)>`)
	statLastAtRE = lazyRegexp(`^(.*@)(\S+)$`)
	statOrigRE   = lazyRegexp(`^(\S+ (?:<[^>]*>)?)`)
)

// substr is Perl's substr on a byte string: out-of-range starts give "".
func substr(s string, start, n int) string {
	if start < 0 {
		start += len(s)
		if start < 0 {
			start = 0
		}
	}
	if start >= len(s) {
		return ""
	}
	if start+n > len(s) {
		n = len(s) - start
	}
	return s[start : start+n]
}

// hostDomain is the "domain" eximstats files a host under: an address
// literal as it is, a name without its first label when two remain, and
// "localdomain" for the rest.
func hostDomain(host string) string {
	h := strings.ToLower(host)
	if strings.HasPrefix(h, "[") || statIPRE().MatchString(h) {
		return h
	}
	if strings.HasPrefix(h, "(") {
		if m := statPDomRE().FindStringSubmatch(h); m != nil {
			return "(" + m[1]
		}
		return "localdomain"
	}
	if m := statDomRE().FindStringSubmatch(h); m != nil {
		return m[1]
	}
	return "localdomain"
}

// addrDomain is the lower-cased domain of an address ("" without one).
func addrDomain(a string) string {
	if i := strings.LastIndexByte(a, '@'); i >= 0 {
		return strings.ToLower(a[i+1:])
	}
	return ""
}

// origDestKey is the address key -include_original_destination files
// a line under: the address and the original one in angle brackets.
func origDestKey(rest string) string {
	if m := statOrigRE().FindStringSubmatch(rest); m != nil {
		return m[1]
	}
	return ""
}

// durationField returns the seconds of a QT= or DT= field (1w2d3h4m5s;
// what does not parse counts as 0) and whether the line has one.
func durationField(re *regexp.Regexp, rest string) (int64, bool) {
	m := re.FindStringSubmatch(rest)
	if m == nil {
		return 0, false
	}
	var t int64
	for i, mul := range []int64{604800, 86400, 3600, 60, 1} {
		if n, err := strconv.ParseInt(m[i+1], 10, 64); err == nil && n <= math.MaxInt64/4/mul {
			t += n * mul
		}
	}
	return t, true
}

// Line adds one log line (without its newline) to the totals. Lines
// that are not about messages or rejections are ignored.
func (s *Eximstats) Line(line string) {
	if len(line) == 0 || line[0] < '0' || line[0] > '9' {
		if loc := exigrepSyslogRE().FindStringIndex(line); loc != nil {
			line = line[loc[1]:]
		} else {
			return
		}
	}
	length := len(line) + 1 // eximstats counts the newline
	if length < 38 {
		return
	}
	m := statLineRE().FindStringSubmatch(line)
	if m == nil {
		return
	}
	tod := m[1] + m[9]
	num := func(i int) int { n, _ := strconv.Atoi(m[i]); return n }
	hour, minute := num(5), num(6)
	secs := time.Date(num(2), time.Month(num(3)), num(4), hour, minute, num(7), 0, time.UTC).Unix()
	if z := m[9]; z != "" { // +hhmm: the time stamp is local time there
		off := int64((int(z[2]-'0')*10+int(z[3]-'0'))*3600 + (int(z[4]-'0')*10+int(z[5]-'0'))*60)
		if z[1] == '-' {
			off = -off
		}
		secs -= off
	}
	extra := 0
	if m[9] != "" {
		extra = 6
		if length < 44 {
			return
		}
	}
	if m[8] != "" {
		extra += len(m[8])
		if length < 38+extra {
			return
		}
	}
	if m[10] != "" {
		extra += len(m[10])
		if length < 38+extra {
			return
		}
	}
	for i, p := range s.o.Patterns {
		if p.RE.MatchString(line) {
			s.patternCount[i]++
			if slot := hour*60 + minute; slot < len(s.patternHist[i]) {
				s.patternHist[i][slot]++
			}
		}
	}
	id := substr(line, 20+extra, 16)
	flag := substr(line, 37+extra, 2)
	if !statFlagRE().MatchString(flag) && statRejRE().MatchString(line) {
		flag = "Re"
		extra -= 3
		if !statIDRE().MatchString(id) {
			id = ""
			extra -= 17
		}
	}
	if !statWantRE().MatchString(flag) {
		return
	}
	rest := substr(line, 40+extra, len(line))
	if s.o.NoTransportRE != nil && (flag == "=>" || flag == "->" || flag == "==" || flag == "**") {
		if f := statTRE().FindStringSubmatch(rest); f != nil && s.o.NoTransportRE.MatchString(f[1]) {
			return
		}
	}
	s.lines++
	msg := s.messages[id]
	if msg == nil {
		msg = &statMessage{}
		if id != "" {
			s.messages[id] = msg
		}
	}
	if tod < s.begin {
		s.begin = tod
	} else if tod > s.end {
		s.end = tod
	}
	slot := hour*60 + minute // the log may hold hours past 23 and minutes past 59
	switch flag {
	case "<=":
		s.arrival(msg, rest, secs, slot)
	case "=>", "->":
		s.delivery(msg, flag, rest, slot)
		if flag == "=>" && !statTRE().MatchString(rest) {
			s.reject(rest) // eximstats counts a delivery without a transport (:blackhole:) as a rejection
		}
	case "==":
		if msg.haveSize && !msg.delayed {
			s.delayed++
			msg.delayed = true
		}
	case "**":
		if msg.haveSize && !msg.errored {
			s.failed++
			msg.errored = true
		}
		s.errors[rest]++
	case "Co":
		s.completed(msg, id, rest, secs)
	case "SA":
		s.spamAssassin(rest)
	case "Re":
		s.reject(rest)
	}
}

// ipOf is the address in brackets a line names, or "local".
func ipOf(rest string) string {
	for _, re := range []*regexp.Regexp{statIP1RE(), statIP2RE(), statIP3RE()} {
		if f := re.FindStringSubmatch(rest); f != nil {
			return f[1]
		}
	}
	return "local"
}

// hostOf is the first word of H=, or "local".
func hostOf(rest string) string {
	if f := statHostRE().FindStringSubmatch(rest); f != nil {
		return f[1]
	}
	return "local"
}

// arrival counts a "<=" line: the message's size, time and origin.
func (s *Eximstats) arrival(msg *statMessage, rest string, secs int64, slot int) {
	var size int64
	if f := statSizeRE().FindStringSubmatch(rest); f != nil {
		size, _ = strconv.ParseInt(f[1], 10, 64)
	}
	msg.size, msg.haveSize = size, true
	msg.arrival = secs
	host := hostOf(rest)
	sender, _, _ := strings.Cut(rest, " ")
	if p := statProtoRE().FindStringSubmatch(rest); p != nil {
		msg.proto = p[1]
	}
	if host != "local" {
		msg.relayFrom = strings.ToLower(host + ipOf(rest) + " " + sender)
	}
	if s.userTable(host) {
		if u := statUserRE().FindStringSubmatch(rest); u != nil {
			s.localSenders.add(u[1], 1, 0, size)
		}
	}
	edom := addrDomain(sender)
	if sender == "<>" {
		edom = "<>"
	}
	if s.o.OrigDest {
		sender = origDestKey(rest)
		if edom != "<>" {
			edom = sender
		}
	}
	keys := [byKinds]string{host, hostDomain(host), sender, edom}
	for i, k := range keys {
		s.sources[i].add(k, 1, 0, size)
	}
	s.received++
	s.receivedVol += size
	if slot < len(s.recvHist) {
		s.recvHist[slot]++
	}
}

// delivery counts a "=>" line (a message delivered) or a "->" line (one
// more address in the same delivery).
func (s *Eximstats) delivery(msg *statMessage, flag, rest string, slot int) {
	host := hostOf(rest)
	addr, _, _ := strings.Cut(rest, " ")
	email, edom := addr, addrDomain(addr)
	local := ""
	if lm := statLocalRE().FindStringSubmatch(rest); lm != nil {
		local = lm[1]
		if lm[2] != "" && (s.o.OrigDest || strings.HasPrefix(addr, "/") || strings.HasPrefix(addr, "|")) {
			local += lm[2]
		}
	}
	if s.o.OrigDest {
		email = origDestKey(rest)
		edom = email
		if m := statLastAtRE().FindStringSubmatch(edom); m != nil {
			edom = m[1] + strings.ToLower(m[2])
		}
	}
	keys := [byKinds]string{host, hostDomain(host), email, edom}
	if flag == "->" {
		s.deliveredAddrs++
		for i, k := range keys {
			s.dests[i].add(k, 0, 1, 0)
		}
		if s.userTable(host) {
			s.localDests.add(local, 0, 1, 0)
		}
		return
	}
	s.delivered++
	s.deliveredAddrs++
	s.deliveredVol += msg.size
	t := ":blackhole:"
	if f := statTRE().FindStringSubmatch(rest); f != nil {
		t = f[1]
	}
	s.transportCount[t]++
	s.transportVol[t] += msg.size
	if slot < len(s.delHist) {
		s.delHist[slot]++
	}
	for i, k := range keys {
		s.dests[i].add(k, 1, 1, msg.size)
	}
	if s.userTable(host) {
		s.localDests.add(local, 1, 1, msg.size)
		if i := strings.Index(local, "<"); i >= 0 {
			if d := addrDomain(strings.TrimSuffix(local[i+1:], ">")); d != "" {
				s.localDomainDests.add(d, 1, 1, msg.size)
			}
		}
	}
	if host != "local" {
		msg.remote = true
	}
	// -show_dt: a delivery counts as remote once its message has had a
	// remote delivery.
	if dt, ok := durationField(statDTRE(), rest); ok && s.o.ShowDT != nil {
		b := bucket(s.o.ShowDT, dt)
		s.dtAll[b]++
		if msg.remote {
			s.dtRemote[b]++
		}
	}
	if host == "local" || msg.relayFrom == "" {
		return
	}
	if p := statParentRE().FindStringSubmatch(rest); p != nil && !strings.EqualFold(p[1], addr) {
		return // an address a redirection made is not a relay
	}
	to := strings.ToLower(host + ipOf(rest) + " " + addr)
	key := msg.relayFrom + " \n      => " + to
	// -nr/pattern/ is matched against "H=host[ip] A=sender => H=host[ip] A=recipient".
	if s.o.NoRelayRE != nil && s.o.NoRelayRE.MatchString("H="+strings.Replace(msg.relayFrom, " ", " A=", 1)+" => H="+strings.Replace(to, " ", " A=", 1)) {
		s.relayHidden++
		return
	}
	s.relayed[key]++
}

// userTable tells whether a line from or to host goes into the local
// senders and destinations tables: local ones unless -tnl, remote ones
// with -t_remote_users.
func (s *Eximstats) userTable(host string) bool {
	if host == "local" {
		return !s.o.TopNoLocal
	}
	return s.o.RemoteUsers
}

// bucket is the index of the first limit above t, or len(limits).
func bucket(limits []int, t int64) int {
	for i, l := range limits {
		if t < int64(l) {
			return i
		}
	}
	return len(limits)
}

// completed counts a "Completed" line: the time the message spent on the
// queue, and with -show_rt its receipt time.
func (s *Eximstats) completed(msg *statMessage, id, rest string, secs int64) {
	// A message whose "<=" line is not in the log counts as arriving at
	// the epoch.
	b := bucket(s.o.QueueTimes, secs-msg.arrival)
	s.queueAll[b]++
	if msg.remote {
		s.queueRemote[b]++
	}
	// -show_rt: the receipt time is QT= less the time from the "<=" line
	// to this one.
	if qt, ok := durationField(statQTRE(), rest); ok && s.o.ShowRT != nil {
		b := bucket(s.o.ShowRT, qt-(secs-msg.arrival))
		s.rtAll[b]++
		if msg.proto != "" {
			if s.rtProto[msg.proto] == nil {
				s.rtProto[msg.proto] = make([]int, len(s.o.ShowRT)+1)
			}
			s.rtProto[msg.proto][b]++
		}
	}
	delete(s.messages, id)
}

// spamAssassin counts SpamAssassin's verdicts ("SA:" lines) by the
// address of the host its "From <...> (host=...)" part names.
func (s *Eximstats) spamAssassin(rest string) {
	ip := ""
	if f := statSAHostRE().FindStringSubmatch(rest); f != nil {
		ip = f[1]
	}
	switch {
	case strings.Contains(rest, "flagged as Spam"):
		s.spamIPs[ip]++
	case strings.Contains(rest, "isn't spam"):
		s.hamIPs[ip]++
	}
}

var (
	statDataRE     = lazyRegexp(`rejected after DATA: (.+)`)
	statRcptRE     = lazyRegexp(`(rejected [A-Z]*) .*?(: .*?)(:|\s*$)`)
	statDroppedRE  = lazyRegexp(`dropped: (too many (?:nonmail commands|syntax or protocol errors|unrecognized commands))`)
	statRefusedRE  = lazyRegexp(`(?:SMTP connection|Connection) from .*? refused(.*)`)
	statTempConnRE = lazyRegexp(`temporarily refused connection|temporarily rejected connection in .*?ACL.*`)
	statHeloRsnRE  = lazyRegexp(`rejected [HE][HE]LO from .*?: syntactically invalid argument`)
)

// ucfirst upper-cases the first byte of s.
func ucfirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// rejectReason sorts a rejection line into eximstats' reasons.
func rejectReason(rest string) string {
	if strings.Contains(rest, "SpamAssassin") {
		return "Rejected by SpamAssassin"
	}
	if m := statDataRE().FindStringSubmatch(rest); m != nil {
		return ucfirst(m[1])
	}
	if statHeloRsnRE().MatchString(rest) {
		return "Rejected HELO/EHLO: syntactically invalid argument"
	}
	if m := statTemp1RE().FindStringSubmatch(rest); m != nil {
		return ucfirst(m[1]) + m[2]
	}
	if m := statRcptRE().FindStringSubmatch(rest); m != nil {
		return ucfirst(m[1]) + m[2]
	}
	if m := statDroppedRE().FindStringSubmatch(rest); m != nil {
		return "Dropped: " + m[1]
	}
	if m := statRefusedRE().FindStringSubmatch(rest); m != nil {
		return "Connection refused" + m[1]
	}
	return "Unknown"
}

// reject counts a rejection or temporary rejection by host address and
// reason.
func (s *Eximstats) reject(rest string) {
	ip := ipOf(rest)
	if f := statHeloRE().FindStringSubmatch(rest); ip == "local" && f != nil {
		ip = f[1]
	}
	temp := !strings.Contains(rest, "SpamAssassin") && !statDataRE().MatchString(rest) &&
		(statTemp1RE().MatchString(rest) || statTemp2RE().MatchString(rest))
	if temp {
		s.tempRejectIPs[ip]++
		reason := rejectReason(rest)
		if m := statTempConnRE().FindString(rest); m != "" && !statTemp1RE().MatchString(rest) {
			reason = ucfirst(m)
		}
		s.tempReasons[reason]++
		return
	}
	s.rejectIPs[ip]++
	s.rejectReasons[rejectReason(rest)]++
}

// Read adds every line of r.
func (s *Eximstats) Read(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64*1024)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			s.Line(strings.TrimSuffix(line, "\n"))
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading log: %w", err)
		}
	}
}
