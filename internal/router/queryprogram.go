package router

// The queryprogram router: runs a command and acts on the first line of
// its output. Exim specification chapter "The queryprogram router".

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

type queryDriver struct{}

func (queryDriver) route(c *call) Result {
	o := c.r.opts
	var argv []string
	for _, arg := range strings.Fields(o.String("command")) {
		v, err := c.expand(arg)
		if err != nil {
			return deferf("failed to expand argument \"%s\" of command for %s router: %s", arg, c.r.Name, err)
		}
		argv = append(argv, v)
	}
	if len(argv) == 0 || !strings.HasPrefix(argv[0], "/") {
		return deferf("command for %s router is not an absolute path", c.r.Name)
	}
	timeout := o.Duration("timeout")
	if timeout <= 0 {
		timeout = time.Hour
	}
	out, err := c.runCommand(argv, timeout)
	if err != nil {
		return deferf("%v", err)
	}
	line, _, _ := strings.Cut(out, "\n")
	line = strings.TrimSpace(line)
	c.debugf("command wrote: %s", line)
	word, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToUpper(word) {
	case "DECLINE":
		return Result{Status: Decline}
	case "PASS":
		return Result{Status: Pass}
	case "FAIL":
		return Result{Status: Fail, Message: rest}
	case "DEFER", "FREEZE":
		return Result{Status: Defer, Message: rest}
	case "REDIRECT":
		p := &rdParser{}
		l, err := p.parse(rest)
		if err != nil {
			return deferf("error in redirect data: %s", err)
		}
		ch, r := c.children(l)
		if r != nil {
			return *r
		}
		return Result{Status: Redirect, Children: ch}
	case "ACCEPT":
		return c.queryAccept(rest)
	}
	return deferf("bad command yield: %s %s", word, rest)
}

// queryAccept handles "ACCEPT TRANSPORT=t HOSTS=list LOOKUP=byname|bydns
// DATA=text".
func (c *call) queryAccept(rest string) Result {
	var t, hostList string
	how := lookupDefault
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		switch strings.ToUpper(k) {
		case "TRANSPORT":
			t = v
		case "HOSTS":
			hostList = v
		case "LOOKUP":
			if v == "byname" {
				how = lookupByName
			} else {
				how = lookupByDNS
			}
		case "DATA":
			c.addr.AddressData = v
		}
	}
	if t == "" {
		var r *Result
		if t, r = c.transport(); r != nil {
			return *r
		}
	} else if c.s.cfg.Transport(t) == nil {
		return deferf("unknown transport name %s yielded by command", t)
	}
	if hostList == "" {
		return Result{Status: Accept, Transport: t}
	}
	specs, err := parseHostList(hostList)
	if err != nil {
		return deferf("%v", err)
	}
	hosts, err := c.resolveHosts(specs, how)
	if err != nil {
		return deferf("host lookup did not complete")
	}
	hosts, r := c.filterHosts(hosts)
	if r != nil {
		return *r
	}
	hosts, r = c.applySelf(hosts, "remote host address is the local host")
	if r != nil {
		if r.Status == Fail {
			// The log line names the transport (observed with Exim
			// 4.96).
			r.Transport = t
		}
		return *r
	}
	return Result{Status: Accept, Transport: t, Hosts: hosts}
}

func (c *call) runCommand(argv []string, timeout time.Duration) (string, error) {
	if c.s.env.Run != nil {
		return c.s.env.Run(argv, -1, -1, timeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout = &lw{b: &out, max: 64 << 10}
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("command timed out")
		}
		return "", fmt.Errorf("command returned non-zero code %s", strings.TrimPrefix(err.Error(), "exit status "))
	}
	return out.String(), nil
}

// lw is a writer that keeps at most max bytes.
type lw struct {
	b   *bytes.Buffer
	max int
}

func (w *lw) Write(p []byte) (int, error) {
	if room := w.max - w.b.Len(); room > 0 {
		if len(p) > room {
			w.b.Write(p[:room])
		} else {
			w.b.Write(p)
		}
	}
	return len(p), nil
}
