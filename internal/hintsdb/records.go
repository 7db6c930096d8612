package hintsdb

import "time"

// Every record carries TimeStamp, the time it was last written, which
// exim_tidydb ages records by.

// RetryRecord is a record of the retry database. Keys: "R:domain" (a
// routing failure), "R:local@domain" (a local delivery, or with
// retry_use_local_part), "R:address:<sender>" (a 4xx to RCPT),
// "T:host:ip" and "T:host:ip:port" (a host failure; the port when it is
// not 25), "T:host:ip:port:msgid" (a message-specific failure: 4xx to
// MAIL or DATA). Spec: chapter "Exim utilities", section "exim_dumpdb".
type RetryRecord struct {
	TimeStamp   time.Time `json:"ts"`
	FirstFailed time.Time `json:"first"`
	LastTry     time.Time `json:"last"`
	NextTry     time.Time `json:"next"`
	// Expired is set when the final cutoff of the rule has passed.
	Expired bool `json:"expired,omitempty"`
	// BasicErrno is the errno (111 connection refused, 110 timed out) or
	// Exim's negative code (-44 RCPT 4xx, -45 MAIL 4xx, -46 DATA 4xx, -32
	// host lookup failed, ...).
	BasicErrno int `json:"errno"`
	// MoreErrno is the additional code: 'A' or 'M' for connection
	// errors (host from an A or an MX record), (code-400)<<8 | 'A'/'M'
	// for SMTP 4xx errors.
	MoreErrno int    `json:"more"`
	Text      string `json:"text"`
}

// WaitRecord is a record of a wait-<transport> database: the ids of
// messages waiting for the host that is the key, oldest first. When the
// host's record is full, its ids move to a continuation record keyed
// "host:N" (N counting from 0) and Sequence, in the host's own record,
// counts the continuation records (spec chapter "Exim utilities",
// section "exim_dumpdb").
type WaitRecord struct {
	TimeStamp time.Time `json:"ts"`
	IDs       []string  `json:"ids"`
	Sequence  int       `json:"seq,omitempty"`
}

// Callout results, as Exim's exim_fixdb numbers them.
const (
	CalloutUnknown = 0
	CalloutAccept  = 1
	CalloutReject  = 2
)

// CalloutRecord is a record of the callout cache. A key with "@" is an
// address record (only Result is used); a key without is a domain record,
// whose Result is the domain's own answer (for MAIL FROM) and Postmaster
// and Random the results of the postmaster and random local part checks,
// each with the time it was found.
type CalloutRecord struct {
	TimeStamp       time.Time `json:"ts"`
	Result          int       `json:"result"`
	Postmaster      int       `json:"postmaster,omitempty"`
	Random          int       `json:"random,omitempty"`
	PostmasterStamp time.Time `json:"pstamp,omitempty"`
	RandomStamp     time.Time `json:"rstamp,omitempty"`
}

// RatelimitRecord is a record of the ratelimit database. The key is
// formed by the ratelimit condition: "period/per_what/key", with
// "/unique" after per_what when a unique= filter is kept (then Bloom is
// set). TimeStamp has microseconds.
type RatelimitRecord struct {
	TimeStamp time.Time    `json:"ts"`
	Rate      float64      `json:"rate"`
	Bloom     *BloomFilter `json:"bloom,omitempty"`
}

// BloomFilter is the unique= filter of a ratelimit record.
type BloomFilter struct {
	Epoch time.Time `json:"epoch"`
	Size  int       `json:"size"`
	Bits  []byte    `json:"bits"`
}

// MiscRecord is a record of the misc database: serialization of ETRN
// runs ("etrn-..."), of deliveries to one host ("host-serialize-IP") and
// of a transport's max_parallel ("tpt-serialize-NAME"). Count is how many
// holders there are.
type MiscRecord struct {
	TimeStamp time.Time `json:"ts"`
	Count     int       `json:"count"`
}

// TLSRecord is a record of the tls database: a TLS session kept for
// resumption with the host that is the key.
type TLSRecord struct {
	TimeStamp time.Time `json:"ts"`
	Session   []byte    `json:"session"`
}

// SeenRecord is a record of the seen database (the "seen" ACL
// condition).
type SeenRecord struct {
	TimeStamp time.Time `json:"ts"`
}
