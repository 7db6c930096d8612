// Package transport implements Exim 4.96's transports: the generic
// transport options, and the appendfile, pipe, smtp, lmtp and autoreply
// drivers.
//
// # The seam with the delivery code
//
// The delivery code builds every transport once per configuration with
// New and keeps them for the life of the configuration; a Transport is
// immutable and safe for concurrent use. For each batch of addresses that
// routing sent to one transport, it fills in a Delivery (the message, the
// addresses, the expansion context of the first address, the hosts for a
// remote transport) and calls Deliver, which returns one Result per
// address, in the order of Delivery.Addresses.
//
// Deliver never logs: the caller writes "=>", "==" and "**" lines from the
// Results (Result.Message is the text after "defer (N): " or after the
// address on a "**" line). Deliver honours ctx for cancellation (daemon
// shutdown); an expired ctx gives Defer results.
//
// # Privilege
//
// A local transport runs with a uid and gid (Exim specification chapter
// "Environment for running local transports"). Local.Credentials tells the
// caller which ones the transport wants for a delivery. When that uid is
// the process's own, the caller calls Deliver in-process. When it is not
// and the process is the daemon running as exim_user, the caller hands the
// run to the root supervisor (deliver.LocalRunner), which starts a
// local-delivery worker running as that uid; the worker calls Deliver in
// its own process. A process running as root (-q, -M, -odi run by root)
// calls Deliver directly: the pipe transport then runs its command with
// SysProcAttr.Credential, and appendfile creates files and directories as
// root and hands them to the delivery uid with fchown.
//
// Exim specification: chapters "Generic options for transports",
// "Environment for running local transports", "Address batching in local
// transports", and one chapter per driver.
package transport

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/dns"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/spool"
)

// Transport is one configured transport instance.
//
// Deliver delivers d and returns exactly len(d.Addresses) results, in the
// same order. It does not modify d. It may be called concurrently for
// different deliveries.
type Transport interface {
	// Name is the instance name (T= in log lines).
	Name() string
	// Driver is the driver name: appendfile, pipe, smtp, lmtp, autoreply.
	Driver() string
	// Local reports whether this is a local transport (everything but
	// smtp): local transports run as a user and get one Delivery per
	// batch of local addresses.
	Local() bool
	// Deliver runs the transport once for d.
	Deliver(ctx context.Context, d *Delivery) []Result
}

// Credentialed is implemented by the local transports that run as a
// user (appendfile, pipe, lmtp, autoreply). Credentials returns the uid and gid a
// delivery of d runs as (transport user/group, else the router's, else
// the process's own), or Exim's error for a forbidden one (uid 0 is on
// Debian's fixed_never_users). The caller uses it to decide between an
// in-process delivery and one in a worker running as that uid.
type Credentialed interface {
	Credentials(d *Delivery) (Cred, error)
}

var (
	_ Credentialed = (*appendfile)(nil)
	_ Credentialed = (*pipe)(nil)
	_ Credentialed = (*lmtpTransport)(nil)
	_ Credentialed = (*autoreply)(nil)
)

// Status is the outcome for one address.
type Status int

// Outcomes. Exim's names: OK, DEFER, FAIL.
const (
	OK Status = iota
	Defer
	Fail
)

func (s Status) String() string {
	switch s {
	case OK:
		return "OK"
	case Defer:
		return "DEFER"
	}
	return "FAIL"
}

// Retry error types (ErrCode), as Exim's retry rules name them (spec
// chapter "Retry configuration", section "Retry rules").
const (
	ErrTimeout     = "timeout"
	ErrRefused     = "refused"
	ErrRcpt4xx     = "rcpt_4xx"
	ErrMail4xx     = "mail_4xx"
	ErrData4xx     = "data_4xx"
	ErrQuota       = "quota"
	ErrAuthFailed  = "auth_failed"
	ErrTLSRequired = "tls_required"
	ErrLost        = "lost_connection"
)

// Exim's internal error numbers, printed as "defer (N):" in log lines.
const (
	ErrnoNone        = 0
	ErrnoExpandFail  = -1
	ErrnoMailUid     = -6  // "mailbox has wrong uid"
	ErrnoLockFailed  = -9  // "failed to lock mailbox ..."
	ErrnoQuota       = -22 // mailbox quota exceeded
	ErrnoFixedNever  = -29 // user on fixed_never_users
	ErrnoTLSRequired = -38 // hosts_require_tls not satisfied
	ErrnoTLSFailure  = -37
	ErrnoPipeFail    = -18
	ErrnoConnTimeout = -53
	ErrnoHostIsLocal = -50 // "T transport found host H to be local"
	ErrnoNotAbsolute = -21 // "file or directory name ... is not absolute"
)

// Result is the outcome of a delivery for one address.
type Result struct {
	// Address is the address as in Delivery.Addresses[i].Address.
	Address string
	// Status is OK, Defer or Fail.
	Status Status
	// Err is the underlying error, when there is one (for -d output).
	Err error
	// Errno is the number Exim shows in "defer (N):" (0 when none;
	// negative for Exim's own codes, positive for system errnos).
	Errno int
	// Message is the text for the log line and the bounce, as Exim words
	// it (without the "defer (N): " prefix).
	Message string
	// ErrCode is the retry error type (ErrTimeout, ErrRcpt4xx ...), empty
	// when the failure is not host-specific.
	ErrCode string
	// Host and HostAddr name the remote host tried last (H= in logs),
	// Port its port when it was not 25.
	Host, HostAddr string
	Port           int
	// RemotePort is the port connected to, and LocalAddr and LocalPort
	// the connection's own end (":port" after H= and I= in the log with
	// log_selector +outgoing_port and +outgoing_interface).
	RemotePort int
	LocalAddr  string
	LocalPort  int
	// Pipelined reports that the transaction used PIPELINING (L in the
	// log with log_selector +pipelining).
	Pipelined bool
	// Size is the number of bytes the transport wrote or sent for the
	// message, when it knows (S= with log_selector +delivery_size).
	Size int64
	// Continued reports that the message went down a connection kept
	// open from an earlier delivery (the "*" after H= in the log).
	Continued bool
	// ReturnPath is the return path of the delivery when the
	// transport's return_path option set it (ReturnPathSet): P= in the
	// log with log_selector +return_path_on_delivery.
	ReturnPath    string
	ReturnPathSet bool
	// Confirmation is the remote's final reply for this address (C= in
	// the "=>" line, with log_selector +smtp_confirmation), e.g.
	// "250 OK id=1abc-000001-AB".
	Confirmation string
	// TLSCipher is the cipher when the connection used TLS (X=), named
	// as Exim built with GnuTLS names it.
	TLSCipher string
	// TLSVerified is CV= for a delivery over TLS: "yes" (the server's
	// certificate was verified against tls_verify_certificates), "dane"
	// (verified by DANE) or "no".
	TLSVerified string
	// TLSPeerDN is the server certificate's subject as GnuTLS formats it
	// (DN=), empty when none.
	TLSPeerDN string
	// Auth is the name of the client authenticator that authenticated
	// the session (A= on the "=>" line).
	Auth string
	// HostLine marks an error of the host's that Exim also logs on a
	// line of its own ("H=name [ip]: SMTP error ..."): a refusal in
	// the greeting.
	HostLine bool
	// HostLineShown says -v (Delivery.Trace) has shown the host's
	// error line already, where Exim shows it: the log line written
	// for it is not to be shown again.
	HostLineShown bool
	// Chunking reports that BDAT was used (K in the log line).
	Chunking bool
	// Freeze asks the caller to freeze the message (freeze_exec_fail,
	// freeze_signal).
	Freeze bool
	// Private marks a Message for the logs only: a bounce names the
	// address without it (observed with Exim 4.96 for a pipe command
	// with a tainted argument).
	Private bool
	// Panic marks a Defer that Exim 4.96 treats as an internal error: the
	// log line goes to the panic log as well, and no retry rule applies
	// (the address stays on the queue however old it is). Examples: a
	// tainted file name, an smtp transport with no hosts.
	Panic bool
	// PanicLine marks a Message that is also logged on a line of its
	// own, to the main and panic logs, before the address's line: a
	// delivery user on never_users (observed with Exim 4.96).
	PanicLine bool
	// Output is a pipe command's output to put into the bounce message
	// (return_output, return_fail_output), and LogOutput the line to log
	// as "<addr>: T transport output: LINE" (log_output ...).
	Output    string
	LogOutput string
	// Shadow holds the result of a shadow transport run, if one ran.
	Shadow *Result
}

// Address is one address in a Delivery.
type Address struct {
	// Address is the address being delivered (for a pipe or file from a
	// redirection: the command or path, starting with "|" or "/").
	Address string
	// LocalPart and Domain are $local_part and $domain for it.
	LocalPart, Domain string
	// Prefix and Suffix are the affixes the router removed.
	Prefix, Suffix string
	// Original is the envelope address this one came from (the top of
	// its redirection tree), shown in Envelope-to:; empty means Address.
	Original string
	// Home is the home directory from the router, for $home and HOME.
	Home string
	// UID and GID are the router's user and group, -1 when unset.
	UID, GID int
	// HeadersAdd and HeadersRemove are the routers' header changes.
	HeadersAdd, HeadersRemove []string
	// DSNFlags and ORcpt are the DSN parameters of the recipient.
	DSNFlags int
	ORcpt    string
	// Pipe is the command of a pipe address ($address_pipe), File the
	// path of a file address ($address_file).
	Pipe, File string
	// Reply, when not nil, is an autoreply that a filter's mail or
	// vacation command set up: the autoreply transport takes its
	// values (to, cc, bcc, from, reply_to, subject, headers, text,
	// file, log, once, once_repeat; file_expand and return_message
	// as "true") from it instead of from its options. Spec chapter
	// "The autoreply transport": "the options of the transport are
	// ignored" when it is called from a filter's mail command.
	Reply map[string]string
}

// Host is one host for a remote transport, in the order to try.
type Host struct {
	// Name is the host name ("[ip]" for IP literals).
	Name string
	// Addr is its IP address.
	Addr string
	// Port is the port, 0 for the transport's port option.
	Port int
	// MX is the MX preference, -1 when not from an MX record.
	MX int
	// DNSSEC reports that the router found the host (its MX and address
	// records) through DNSSEC-authenticated answers; only such hosts
	// get DANE (spec section "DANE").
	DNSSEC bool
}

// Delivery is one transport run.
type Delivery struct {
	// Header is the message's spool header (sender, headers, received
	// time, DSN data).
	Header *spool.Header
	// Body is the body as stored after the -D file's id line, read with
	// positioned reads so that a transport may read it more than once;
	// BodySize is its length. See BodyReader.
	Body     io.ReaderAt
	BodySize int64
	// Addresses are the addresses of this batch (one unless batching is
	// configured), all routed to this transport.
	Addresses []Address
	// Ctx is the expansion context for the first address, with
	// $local_part, $domain, $home, $address_data ... set; the transport
	// layers its own variables ($return_path, $host ...) over it.
	Ctx *expand.Context
	// Hosts are the router's hosts for a remote transport.
	Hosts []Host
	// Router is the name of the router that routed the addresses.
	Router string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Submit receives the messages the autoreply transport generates; nil
	// makes autoreply defer.
	Submit func(ctx context.Context, m *NewMessage) error
	// Pool, when set, holds open SMTP connections for reuse.
	Pool *Pool
	// Resolver answers the smtp transport's TLSA questions (DANE); nil
	// means the servers of /etc/resolv.conf.
	Resolver *dns.Resolver
	// Spares, when set, lends empty files for new files the transport
	// creates (a maildir delivery), saving an inode allocation each.
	Spares SpareFiles
	// AsRoot, when set, runs fn with the process's own file-system
	// credentials: the run is made by a root process with a user's
	// (internal/fscred), and fn handles the spool's spare files.
	AsRoot func(fn func())
	// Log, when set, writes a line to the main log (the caller puts
	// the message id in front): the smtp transport's DKIM signing
	// notes.
	Log func(text string)
	// LogRewrites is log_selector +address_rewrite: each change the
	// headers_rewrite option makes is logged with Log.
	LogRewrites bool
	// Trace, when set (-v), receives the SMTP dialogue of the smtp
	// transport as Exim shows it.
	Trace io.Writer
	// Waiting, when set, reports whether another message waits for the
	// host (Exim's wait-<transport> hints): a connection that delivered
	// is then kept in Pool for it, else the session ends with the
	// message.
	Waiting func(h Host) bool
}

// asRoot runs fn with the process's own file-system credentials.
func (d *Delivery) asRoot(fn func()) {
	if d.AsRoot != nil {
		d.AsRoot(fn)
		return
	}
	fn()
}

// SpareFiles lends empty files: TakeSpare returns the path of one on
// the file system of dir, which is then the caller's to open, link into
// place and unlink from that path (see spool.Spool.TakeSpare).
type SpareFiles interface {
	TakeSpare(dir string) (path string, ok bool)
}

// log writes text with d.Log, if set.
func (d *Delivery) log(text string) {
	if d.Log != nil {
		d.Log(text)
	}
}

func (d *Delivery) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// BodyReader returns the body (without the -D file's first line) of an
// open -D file.
func BodyReader(f *os.File) (*io.SectionReader, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("transport: stat data file: %w", err)
	}
	var first [64]byte
	n, _ := f.ReadAt(first[:], 0)
	for i := 0; i < n; i++ {
		if first[i] == '\n' {
			return io.NewSectionReader(f, int64(i+1), st.Size()-int64(i+1)), nil
		}
	}
	return nil, fmt.Errorf("transport: data file has no id line")
}

// New builds the transport instance d of cfg. It checks the options that
// Exim checks when it sets a transport up and returns an error with
// Exim's wording for a bad one.
func New(cfg *config.Config, d *config.Driver) (Transport, error) {
	g, err := newGeneric(cfg, d)
	if err != nil {
		return nil, err
	}
	switch d.Driver {
	case "appendfile":
		return newAppendfile(g)
	case "pipe":
		return newPipe(g)
	case "smtp":
		return newSMTP(g)
	case "lmtp":
		return newLMTP(g)
	case "autoreply":
		return newAutoreply(g)
	}
	return nil, &config.Error{Msg: fmt.Sprintf("transport %s: unknown driver %q", d.Name, d.Driver)}
}

// results returns one result per address of d, all alike.
func results(d *Delivery, r Result) []Result {
	out := make([]Result, len(d.Addresses))
	for i, a := range d.Addresses {
		out[i] = r
		out[i].Address = a.Address
	}
	return out
}
