package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/fscred"
	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/spool"
	"github.com/exigo-mta/exigo/internal/transport"
)

// LocalRunner runs a local transport as another user, in a process of
// its own (DESIGN.md, "Privilege separation"). The daemon, which runs as
// exim_user, sets Deliverer.Local to a client of its root supervisor;
// the supervisor checks the request against the configuration and
// starts a worker running as req.UID/req.GID, which calls RunLocal.
//
// RunLocal returns one result per address of req, in order, or an error
// when the worker could not be started or gave no answer (every address
// is then deferred). Cancelling ctx asks the worker to stop; its
// transports then defer, as an in-process run does.
type LocalRunner interface {
	RunLocal(ctx context.Context, req *LocalRequest) (*LocalResponse, error)
}

// LocalRequest is one transport run handed to a LocalRunner: everything
// the worker needs besides the configuration and the message's spool
// files, which the supervisor opens itself.
type LocalRequest struct {
	// MessageID names the message (its -D and -H files).
	MessageID string `json:"message_id"`
	// Transport and Router are the instance names (T= and R=).
	Transport string `json:"transport"`
	Router    string `json:"router"`
	// UID and GID are the credentials the transport asked for
	// (transport.Credentialed); Initgroups adds the user's supplementary
	// groups; User is the login name when known.
	UID        int    `json:"uid"`
	GID        int    `json:"gid"`
	Initgroups bool   `json:"initgroups,omitempty"`
	User       string `json:"user,omitempty"`
	// Addresses are the addresses of the run.
	Addresses []transport.Address `json:"addresses"`
	// Vars are the message's and the first address's variables; the
	// worker layers them over its own process variables.
	Vars map[string]string `json:"vars"`
	// Op, when set, asks for a file operation as the user instead of
	// a transport run (Transport is then empty; Addresses holds the
	// address being routed): OpRead reads Path (a redirect router's
	// file, at most Limit+1 bytes), OpAppend appends Data to Path (an
	// Exim filter's logfile). See userfiles.go. Include, for OpRead,
	// is the router's file when Path is a file that an ":include:" item
	// names: the worker reads Path only when the data of that file (or
	// of a file it includes) names it.
	Op      string `json:"op,omitempty"`
	Path    string `json:"path,omitempty"`
	Include string `json:"include,omitempty"`
	// IncludeData, for OpRead, is set by the root supervisor alone (it
	// overwrites what the requester sent): the expanded data option of
	// the router when Path is a file that an ":include:" item in a
	// file that the data includes names; the worker reads Path only
	// when it is so named.
	IncludeData string `json:"include_data,omitempty"`
	Data        []byte `json:"data,omitempty"`
	Limit       int    `json:"limit,omitempty"`
}

// LocalResponse is what a worker sends back.
type LocalResponse struct {
	// Results holds one result per address of the request.
	Results []WireResult `json:"results"`
	// Logs are main log lines the transport wrote (without the message
	// id, which the caller puts in front).
	Logs []string `json:"logs,omitempty"`
	// Error, when set, says why the worker could not run the transport
	// (every address is then deferred).
	Error string `json:"error,omitempty"`
	// Messages are the messages an autoreply transport generated; the
	// caller submits them (a worker cannot write the spool).
	Messages []*transport.NewMessage `json:"messages,omitempty"`
	// Data is what an OpRead read; Errno, for a file operation that
	// failed, the operating system's error number (0 with Error set:
	// another failure).
	Data  []byte `json:"data,omitempty"`
	Errno int    `json:"errno,omitempty"`
	// FileUID, FileGID and FileMode are the owner, group and st_mode
	// of the file an OpRead read (for the redirect router's
	// check_owner, check_group and modemask).
	FileUID  int    `json:"file_uid,omitempty"`
	FileGID  int    `json:"file_gid,omitempty"`
	FileMode uint32 `json:"file_mode,omitempty"`
}

// WireResult is a transport.Result in a form that survives JSON: the
// error becomes its text.
type WireResult struct {
	transport.Result
	Err    string      `json:"err,omitempty"`
	Shadow *WireResult `json:"shadow,omitempty"`
}

// ToWire converts transport results for a LocalResponse.
func ToWire(rs []transport.Result) []WireResult {
	out := make([]WireResult, len(rs))
	for i, r := range rs {
		out[i] = toWire(r)
	}
	return out
}

func toWire(r transport.Result) WireResult {
	w := WireResult{Result: r}
	if r.Err != nil {
		w.Err = r.Err.Error()
	}
	w.Result.Err = nil
	if r.Shadow != nil {
		s := toWire(*r.Shadow)
		w.Shadow = &s
		w.Result.Shadow = nil
	}
	return w
}

func fromWire(w WireResult) transport.Result {
	r := w.Result
	if w.Err != "" {
		r.Err = errors.New(w.Err)
	}
	if w.Shadow != nil {
		s := fromWire(*w.Shadow)
		r.Shadow = &s
	}
	return r
}

// deliverBatch runs b's transport: in this process, or through d.Local
// when the transport must run as a uid or gid this process does not
// have and cannot take (it is not root).
func (m *attempt) deliverBatch(b *batch) []transport.Result {
	td := m.delivery(b)
	ct, ok := b.t.(transport.Credentialed)
	if !ok || !b.t.Local() {
		return b.t.Deliver(m.ctx, td)
	}
	if os.Geteuid() == 0 {
		return m.deliverAsUser(b, td, ct)
	}
	if m.d.Local == nil {
		return b.t.Deliver(m.ctx, td)
	}
	cred, err := ct.Credentials(td)
	if err != nil || (cred.UID == os.Geteuid() && cred.GID == os.Getegid()) {
		// In-process: the transport reports a forbidden uid itself.
		return b.t.Deliver(m.ctx, td)
	}
	req := &LocalRequest{
		MessageID: string(m.h.ID), Transport: b.t.Name(), Router: td.Router,
		UID: cred.UID, GID: cred.GID, Initgroups: cred.Initgroups, User: cred.User,
		Addresses: td.Addresses, Vars: m.requestVars(b),
	}
	resp, err := m.d.Local.RunLocal(m.ctx, req)
	if err == nil && resp.Error != "" {
		err = errors.New(resp.Error)
	}
	if err == nil && len(resp.Results) != len(td.Addresses) {
		err = fmt.Errorf("worker returned %d results for %d addresses", len(resp.Results), len(td.Addresses))
	}
	if err != nil {
		return failedRun(b, td, err)
	}
	for _, l := range resp.Logs {
		m.logf("%s", l)
	}
	out := make([]transport.Result, len(resp.Results))
	for i, w := range resp.Results {
		out[i] = fromWire(w)
	}
	return m.submitReplies(b, td, out, resp.Messages)
}

// failedRun defers every address of a run that could not be made.
func failedRun(b *batch, td *transport.Delivery, err error) []transport.Result {
	r := transport.Result{Status: transport.Defer, Err: err, Errno: transport.ErrnoNone,
		Message: fmt.Sprintf("local delivery process for %s transport failed: %v", b.t.Name(), err)}
	out := make([]transport.Result, len(td.Addresses))
	for i, a := range td.Addresses {
		out[i] = r
		out[i].Address = a.Address
	}
	return out
}

// submitReplies submits the messages an autoreply run as the user handed
// back, as the transport would have (spec chapter "The autoreply
// transport"); a failure defers the addresses.
func (m *attempt) submitReplies(b *batch, td *transport.Delivery, out []transport.Result, msgs []*transport.NewMessage) []transport.Result {
	for _, nm := range msgs {
		if err := td.Submit(m.ctx, nm); err != nil {
			for i := range out {
				out[i].Status, out[i].Err, out[i].Errno = transport.Defer, err, transport.ErrnoNone
				out[i].Message = fmt.Sprintf("Failed to send message from %s transport (%s)", b.t.Name(), err)
			}
			break
		}
	}
	return out
}

// deliverAsUser runs b's transport in this root process. A run as
// another user takes that user's file-system credentials (fscred) on a
// thread of its own, as Exim runs a local transport in a process that
// has set its uid and gid (spec chapter "Environment for running local
// transports"): files and directories are opened and created with the
// user's permissions and belong to the user. What is the MTA's own
// business is done as root (fscred.Thread.AsRoot): the main log lines the
// run writes, and the messages an autoreply submits to the spool.
func (m *attempt) deliverAsUser(b *batch, td *transport.Delivery, ct transport.Credentialed) []transport.Result {
	cred, err := ct.Credentials(td)
	if err != nil || !fscred.Needed(cred.UID, cred.GID) {
		// The transport reports a forbidden uid itself.
		return b.t.Deliver(m.ctx, td)
	}
	groups := []int{cred.GID}
	if cred.Initgroups {
		groups = fscred.UserGroups(cred.User, cred.GID)
	}
	submit, log := td.Submit, td.Log
	var out []transport.Result
	err = fscred.Do(fscred.Cred{UID: cred.UID, GID: cred.GID, Groups: groups}, func(th *fscred.Thread) {
		if submit != nil {
			td.Submit = func(ctx context.Context, nm *transport.NewMessage) error {
				var serr error
				if err := th.AsRoot(func() { serr = submit(ctx, nm) }); err != nil {
					return err
				}
				return serr
			}
		}
		if log != nil {
			td.Log = func(text string) { th.AsRoot(func() { log(text) }) }
		}
		td.AsRoot = func(fn func()) { th.AsRoot(fn) }
		out = b.t.Deliver(m.ctx, td)
	})
	td.Submit, td.Log, td.AsRoot = submit, log, nil
	if err != nil {
		return failedRun(b, td, err)
	}
	return out
}

// requestVars flattens the variables of b's delivery that do not come
// from the process: the message's and the first address's.
func (m *attempt) requestVars(b *batch) map[string]string {
	out := map[string]string{}
	for k, v := range m.messageVars() {
		out[k] = v
	}
	for k, v := range m.addressVars(b) {
		out[k] = v
	}
	return out
}

// LocalWorker is what a local-delivery worker needs besides the request:
// the configuration, its process variables and lookups.
type LocalWorker struct {
	// Config is the configuration (read by the worker from the file the
	// supervisor opened for it).
	Config *config.Config
	// Vars are the worker's process variables; the request's are laid
	// over them.
	Vars expand.Vars
	// Lookups performs the transport's lookups.
	Lookups lists.Lookuper
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// RunLocal is the worker's side of a LocalRunner request: it builds the
// transport named in req, reads the message from the open -H and -D
// files, runs the transport (in this process, whose uid is req.UID) and
// returns the results.
func (w *LocalWorker) RunLocal(ctx context.Context, req *LocalRequest, header io.Reader, data *os.File) (*LocalResponse, error) {
	if req.Op != "" {
		return fileOp(req), nil
	}
	td := w.Config.Transport(req.Transport)
	if td == nil {
		return nil, fmt.Errorf("no transport %q in the configuration", req.Transport)
	}
	t, err := transport.New(w.Config, td)
	if err != nil {
		return nil, fmt.Errorf("transport %s: %w", req.Transport, err)
	}
	h, err := spool.ReadHeader(header)
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", req.MessageID, err)
	}
	if string(h.ID) != req.MessageID {
		return nil, fmt.Errorf("header file is for %s, not %s", h.ID, req.MessageID)
	}
	body, err := transport.BodyReader(data)
	if err != nil {
		return nil, err
	}
	resp := &LocalResponse{}
	vars := expand.VarMap{}
	for k, v := range req.Vars {
		vars[k] = v
	}
	d := &transport.Delivery{
		Header: h, Body: body, BodySize: body.Size(),
		Addresses: req.Addresses,
		Ctx:       &expand.Context{Vars: varOverlay{m: vars, next: w.Vars}, Lookups: w.Lookups, Now: w.Now},
		Router:    req.Router,
		Now:       w.Now,
		Log:       func(text string) { resp.Logs = append(resp.Logs, strings.TrimRight(text, "\n")) },
		// Spec chapter "Log files", address_rewrite.
		LogRewrites: w.Config != nil && logsRewrites(w.Config),
		// The worker cannot write the spool: the caller submits what
		// an autoreply generates.
		Submit: func(_ context.Context, nm *transport.NewMessage) error {
			resp.Messages = append(resp.Messages, nm)
			return nil
		},
	}
	resp.Results = ToWire(t.Deliver(ctx, d))
	return resp, nil
}

// logsRewrites reports whether cfg's log_selector has address_rewrite.
func logsRewrites(cfg *config.Config) bool {
	sel, err := mainlog.ParseSelector(cfg.Main.String("log_selector"))
	return err == nil && sel.Has(mainlog.SelAddressRewrite)
}
