package cli

import (
	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/auth"
	"github.com/exigo-mta/exigo/internal/checks"
	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/instance"
	"github.com/exigo-mta/exigo/internal/smtpserver"
	"github.com/exigo-mta/exigo/internal/tlsserver"
)

// smtpParts are what every SMTP server of one configuration shares: the
// instance (lookups, lists), the ACL engine wired to it, the
// authenticators and the TLS settings.
type smtpParts struct {
	in    *instance.Instance
	acl   *acl.Engine
	auths []*auth.Server
	tls   *tlsserver.Config
	ver   *routeVerifier
	chk   *checks.Checks
}

// newSMTPParts builds the shared parts; errors are configuration errors
// in Exim's words (a bad authenticator or tls_require_ciphers). A
// long-lived daemon serves every connection from these parts: its
// lookups keep no results (Exim gives each connection a process).
func newSMTPParts(cfg *config.Config, env *Env, longLived bool) (*smtpParts, error) {
	in := instance.New(cfg, instance.Options{Debug: env.Debug, Now: env.Now, NoLookupCache: longLived})
	engine := acl.New(cfg)
	engine.Context = func(s *acl.Session) *expand.Context {
		ctx := in.Context(s.Vars, s.Message)
		ctx.Now = env.Now
		return ctx
	}
	engine.ListEnv = in.ListEnv
	in.ACL = aclExpansionHook(engine, acl.RCPT)
	auths, err := auth.NewServers(cfg)
	if err != nil {
		return nil, err
	}
	t, err := tlsserver.New(cfg, nil)
	if err != nil {
		return nil, err
	}
	chk := checks.New(cfg, in.Resolver)
	chk.Now = env.Now
	chk.Expand = func(s *acl.Session, text string) (string, error) {
		return expand.String(text, engine.Context(s))
	}
	return &smtpParts{in: in, acl: engine, auths: auths, tls: t, ver: newRouteVerifier(cfg, in, env), chk: chk}, nil
}

// apply sets the shared parts on a server.
func (p *smtpParts) apply(srv *smtpserver.Server) {
	srv.Instance = p.in
	srv.ACL = p.acl
	srv.Authenticators = p.auths
	srv.TLS = p.tls
	srv.Verifier = p.ver
	srv.NewChecker = func() acl.Checker { return p.chk.Session() }
}

// aclExpansionHook lets expansions run ACLs (the ${acl} item and the acl
// condition) with the engine, over the caller's variables.
func aclExpansionHook(engine *acl.Engine, stage acl.Stage) func(expand.Vars) func(string, []string) (expand.ACLVerdict, string, error) {
	return func(vars expand.Vars) func(string, []string) (expand.ACLVerdict, string, error) {
		m, ok := vars.(expand.VarMap)
		if !ok {
			m = expand.VarMap{}
		}
		return engine.ExpansionHook(stage, m, nil)
	}
}
