package cli

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/receive"
)

// callerUser returns the calling user as intake needs it.
func callerUser() receive.User {
	u := receive.User{UID: os.Getuid(), GID: os.Getgid()}
	if pw, err := user.LookupId(strconv.Itoa(u.UID)); err == nil {
		u.Login, u.Gecos = pw.Username, pw.Name
	}
	return u
}

// isTrusted reports whether the caller is trusted: root, the Exim user,
// or one listed in trusted_users / trusted_groups (spec "Trusted and
// admin users").
func isTrusted(cfg *config.Config, u receive.User) bool {
	if u.UID == 0 {
		return true
	}
	if n, ok := cfg.Main.Int("exim_user"); ok && int(n) == u.UID {
		return true
	}
	return false
}

// loadTestMessage reads the -bem file through the intake package (as a
// local message with the local fix-ups, but without a Received: header,
// as Exim's -bem shows it) and sets the message variables in vars. It
// returns the lines -bem prints before the results.
func loadTestMessage(inv *Invocation, cfg *config.Config, vars expand.VarMap, now time.Time) (*expand.HeaderBlock, string, error) {
	path := inv.ModeArg
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("failed to open %s: %w", path, unwrapPathError(err))
	}
	defer f.Close()
	opts := receive.OptionsFromConfig(cfg)
	msg, err := receive.Read(f, receive.ReadOptions{Format: receive.FormatTest, DotEnds: !inv.IgnoreDot})
	if err != nil {
		return nil, "", fmt.Errorf("reading %s: %w", path, err)
	}
	defer msg.Body.Close()
	u := callerUser()
	env := &receive.Envelope{
		Sender:              u.Login + "@" + opts.QualifyDomain,
		Local:               true,
		Trusted:             isTrusted(cfg, u),
		User:                u,
		FullName:            inv.FullName,
		Ident:               u.Login,
		AuthID:              u.Login,
		SuppressLocalFixups: inv.SuppressFixups,
	}
	if inv.SenderSet && env.Trusted {
		env.Sender = inv.Sender
	}
	var notes string
	if _, ok := msg.Headers.Raw("Return-path"); ok {
		notes = "Return-path taken from \"Return-path:\" header line\n"
	}
	in := &receive.Intake{
		Options:   &opts,
		Envelope:  env,
		ID:        testMessageID(now),
		Now:       now,
		Test:      true,
		NoQualify: inv.NoQualify,
		Expand: func(text string, extra map[string]string) (string, error) {
			ctx := &expand.Context{Vars: overlay{base: vars, extra: extra}, Now: func() time.Time { return now }}
			return expand.String(text, ctx)
		},
	}
	if err := in.FixUp(msg); err != nil {
		return nil, "", err
	}
	for k, v := range in.Vars(msg) {
		vars[k] = v
	}
	return &expand.HeaderBlock{Block: msg.Headers, Charset: opts.HeadersCharset}, notes, nil
}

// overlay is a variable set with message variables over the process's.
type overlay struct {
	base  expand.VarMap
	extra map[string]string
}

// Var implements expand.Vars.
func (o overlay) Var(name string) (string, bool) {
	if v, ok := o.extra[name]; ok {
		return v, true
	}
	return o.base.Var(name)
}

// testMessageID makes an Exim-shaped message id for -bem.
func testMessageID(now time.Time) string {
	return base62(now.Unix(), 6) + "-" + base62(int64(os.Getpid()), 6) + "-" + base62(int64(now.Nanosecond()/1000/500), 2)
}

const base62Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func base62(v int64, width int) string {
	b := make([]byte, width)
	for i := width - 1; i >= 0; i-- {
		b[i] = base62Digits[v%62]
		v /= 62
	}
	return string(b)
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
