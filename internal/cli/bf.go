package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/filter"
	"github.com/exigo-mta/exigo/internal/receive"
	"github.com/exigo-mta/exigo/internal/router"
)

// runFilterTest implements -bf and -bF: the message on standard input is
// run through the system filter (-bF), then the user's filter or forward
// file (-bf), printing what each would do.
// Spec: chapter "The Exim command line", options -bf, -bF, -bfd, -bfl,
// -bfp, -bfs; filter document, section "Testing a new filter file".
func runFilterTest(inv *Invocation, env *Env) int {
	cfg, code, ok := loadConfig(inv, env)
	if !ok {
		return code
	}
	type file struct {
		path, data string
		system     bool
	}
	var files []file
	for _, f := range []struct {
		path   string
		system bool
	}{{inv.Filter.System, true}, {inv.Filter.User, false}} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			fmt.Fprintf(env.Stderr, "exim: failed to open %s: %v\n", f.path, unwrapPathError(err))
			return 1
		}
		files = append(files, file{f.path, string(b), f.system})
	}
	ctx, err := newExpandContext(inv, env, cfg)
	if err != nil {
		fmt.Fprintf(env.Stderr, "exim: %v\n", err)
		return 1
	}
	vars := ctx.Vars.(expand.VarMap)
	out := bufio.NewWriter(env.Stdout)
	defer out.Flush()
	msg, err := filterTestMessage(inv, cfg, vars, env.Stdin, env.Now(), out)
	if err != nil {
		out.Flush()
		fmt.Fprintf(env.Stderr, "exim: %v\n", err)
		return 1
	}
	ctx.Message = msg
	fenv := &filter.Env{
		Expand: func(s string, v filter.Vars) (string, error) {
			c := *ctx
			c.Vars = overlay{base: vars, extra: v.Extra}
			c.Numeric = v.Numeric
			return expand.String(s, &c)
		},
		ErrorMessage:  vars["sender_address"] == "",
		FirstDelivery: true,
		Mailbox:       router.ParseMailbox,
		Qualify:       vars["qualify_recipient"],
		Test:          out,
	}
	for _, f := range files {
		if !f.system && filter.IsSieveFilter(f.data) {
			sieveTest(out, f.path, f.data, msg, vars)
			continue
		}
		if !f.system && !filter.IsEximFilter(f.data) {
			fmt.Fprintf(out, "Testing forward file file \"%s\"\n\n", f.path)
			items, err := router.ForwardItems(f.data, vars["qualify_recipient"])
			if err != nil {
				fmt.Fprintf(out, "exim: error in forward file: %v\n", err)
				return 1
			}
			fmt.Fprintf(out, "exim: forward file generated:\n")
			for _, it := range items {
				fmt.Fprintf(out, "  %s\n", it)
			}
			continue
		}
		fmt.Fprintf(out, "Testing Exim filter file \"%s\"\n\n", f.path)
		flt, err := filter.Parse(f.data, f.system)
		if err == nil {
			var res *filter.Result
			res, err = flt.Run(fenv)
			if err == nil {
				if f.system {
					fenv.SN = res.N
				}
				filterTrailer(out, res)
				continue
			}
		}
		fmt.Fprintf(out, "Filter error: %v\n", err)
		return 1
	}
	return 0
}

// filterTrailer prints how a filter test ended.
func filterTrailer(out io.Writer, res *filter.Result) {
	switch {
	case res.Outcome != filter.Normal:
		name := map[filter.Outcome]string{filter.Fail: "fail", filter.Freeze: "freeze", filter.Defer: "defer"}[res.Outcome]
		fmt.Fprintf(out, "Filtering ended by \"%s\".\n", name)
	case res.Significant:
		fmt.Fprint(out, "Filtering set up at least one significant delivery or other action.\nNo other deliveries will occur.\n")
	default:
		fmt.Fprint(out, "Filtering did not set up a significant delivery.\nNormal delivery will occur.\n")
	}
}

// filterTestMessage reads the message to filter from r and sets the
// message and address variables, printing the envelope as Exim does.
func filterTestMessage(inv *Invocation, cfg *config.Config, vars expand.VarMap, r io.Reader, now time.Time, out io.Writer) (*expand.HeaderBlock, error) {
	br := bufio.NewReader(r)
	opts := receive.OptionsFromConfig(cfg)
	u := callerUser()
	sender := u.Login + "@" + opts.QualifyDomain
	if inv.SenderSet {
		sender = inv.Sender
		if sender == "<>" {
			sender = ""
		}
	}
	if first, err := br.Peek(5); err == nil && string(first) == "From " {
		line, _ := br.ReadString('\n')
		if f := strings.Fields(line[5:]); len(f) > 0 {
			sender = f[0]
			fmt.Fprint(out, "Sender taken from \"From \" line\n")
		}
	}
	msg, err := receive.Read(br, receive.ReadOptions{Format: receive.FormatTest, DotEnds: !inv.IgnoreDot})
	if err != nil {
		return nil, fmt.Errorf("reading message: %w", err)
	}
	defer msg.Body.Close()
	returnPath := sender
	if rp, ok := msg.Headers.Raw("Return-path"); ok {
		returnPath = strings.Trim(strings.TrimSpace(rp), "<>")
		fmt.Fprint(out, "Return-path taken from \"Return-path:\" header line\n")
		fmt.Fprintf(out, "Return-path = %s\n", returnPath)
	} else {
		fmt.Fprint(out, "Return-path copied from sender\n")
	}
	shown := sender
	if shown == "" {
		shown = "<>"
	}
	fmt.Fprintf(out, "Sender      = %s\n", shown)
	lp, dom := inv.Filter.LocalPart, inv.Filter.Domain
	if lp == "" {
		lp = u.Login
	}
	if dom == "" {
		dom = opts.QualifyRecipient
		if dom == "" {
			dom = opts.QualifyDomain
		}
	}
	fmt.Fprintf(out, "Recipient   = %s%s%s@%s\n", inv.Filter.Prefix, lp, inv.Filter.Suffix, dom)
	if inv.Filter.Prefix != "" {
		fmt.Fprintf(out, "Prefix    = %s\n", inv.Filter.Prefix)
	}
	if inv.Filter.Suffix != "" {
		fmt.Fprintf(out, "Suffix    = %s\n", inv.Filter.Suffix)
	}
	env := &receive.Envelope{Sender: sender, Local: true, Trusted: true, User: u, Ident: u.Login, AuthID: u.Login, Protocol: "local"}
	in := &receive.Intake{
		Options: &opts, Envelope: env, ID: testMessageID(now), Now: now, Test: true,
		Expand: func(text string, extra map[string]string) (string, error) {
			return expand.String(text, &expand.Context{Vars: overlay{base: vars, extra: extra}, Now: func() time.Time { return now }})
		},
	}
	if err := in.FixUp(msg); err != nil {
		return nil, err
	}
	for k, v := range in.Vars(msg) {
		vars[k] = v
	}
	vars["sender_address"] = sender
	vars["return_path"] = returnPath
	vars["local_part"], vars["domain"] = lp, dom
	vars["local_part_prefix"], vars["local_part_suffix"] = inv.Filter.Prefix, inv.Filter.Suffix
	if home := os.Getenv("HOME"); home != "" {
		vars["home"] = home
	}
	return &expand.HeaderBlock{Block: msg.Headers, Charset: opts.HeadersCharset}, nil
}

// sieveTest runs a Sieve filter for -bf. Exim 4.96 shows only whether
// the implicit keep is left, or the error (and exits 0 either way).
// Filter document, chapter "Sieve filter files".
func sieveTest(out io.Writer, path, data string, msg *expand.HeaderBlock, vars expand.VarMap) {
	fmt.Fprintf(out, "Testing Sieve filter file \"%s\"\n\n", path)
	size, _ := strconv.ParseInt(vars["message_size"], 10, 64)
	rcpt := vars["local_part"] + "@" + vars["domain"]
	res, err := filter.RunSieve(data, &filter.SieveEnv{
		Headers: filter.SieveHeaders(msg.Block), Sender: vars["sender_address"],
		Recipient: rcpt, Size: size, Vacation: true,
	})
	switch {
	case err != nil:
		fmt.Fprintf(out, "Sieve error: %v\n", err)
	case res.ImplicitKeep:
		fmt.Fprint(out, "Implicit keep\n")
	default:
		fmt.Fprint(out, "No implicit keep\n")
	}
}
