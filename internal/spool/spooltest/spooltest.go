// Package spooltest writes large queues in Exim 4.96's spool format for
// benchmarks and differential tests of the queue listing: -H and -D
// files written directly (no Exim process per message), with a
// configuration file beside them that both Exim and exigo read.
//
// The messages vary the way a real queue does: null senders, one to
// five recipients, some with DSN fields, frozen ones, delivered
// recipients (the non-recipients tree, with generated addresses), a
// deleted header, arrival times over the last month with many messages
// in the same second (so that the order of -bp, by second, fraction and
// process part, is exercised), and body sizes from bytes to megabytes
// (bodies above 16K are sparse files).
//
// Spec chapter "Format of spool files".
package spooltest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/spool"
)

// Options describe a queue to write.
type Options struct {
	// Dir is the directory to create: Dir/conf, Dir/spool, Dir/log.
	Dir string
	// N is the number of messages.
	N int
	// Seed selects the messages; the same seed gives the same queue.
	Seed uint64
	// Split is split_spool_directory: messages go to input/X/. Without
	// it they go to input/ itself.
	Split bool
}

// WriteQueue writes the queue and its configuration.
func WriteQueue(o Options) error {
	dir, n, seed := o.Dir, o.N, o.Seed
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("spooltest: directory: %w", err)
	}
	sp, err := spool.Open(spool.Options{Dir: filepath.Join(abs, "spool"), Split: o.Split})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(abs, "log"), 0o750); err != nil {
		return fmt.Errorf("spooltest: log directory: %w", err)
	}
	conf := fmt.Sprintf(`spool_directory = %[1]s/spool
log_file_path = %[1]s/log/%%slog
exim_user = root
exim_group = root
primary_hostname = test.example
keep_environment =
split_spool_directory = %[2]v
queue_only
begin routers
r:
  driver = accept
  transport = t
begin transports
t:
  driver = appendfile
  file = /dev/null
`, abs, o.Split)
	if err := os.WriteFile(filepath.Join(abs, "conf"), []byte(conf), 0o644); err != nil {
		return fmt.Errorf("spooltest: conf: %w", err)
	}
	g := &gen{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: time.Now().Unix(), seen: map[spool.ID]bool{}}
	bodies := map[int][]byte{}
	for i := 0; i < n; i++ {
		h, size := g.message()
		b, err := h.Encode()
		if err != nil {
			return err
		}
		d := sp.InputDir(h.ID)
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("spooltest: input directory: %w", err)
		}
		if err := writeData(filepath.Join(d, string(h.ID)+"-D"), h.ID, size, bodies); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(d, string(h.ID)+"-H"), b, 0o640); err != nil {
			return fmt.Errorf("spooltest: -H file: %w", err)
		}
	}
	return nil
}

// writeData writes the -D file: its name line, then the body. Bodies
// above 16K are left sparse (a hole of zeros): the listing reads only
// the file's size, and a queue of large messages then takes no disk.
func writeData(path string, id spool.ID, size int, bodies map[int][]byte) error {
	data := []byte(string(id) + "-D\n")
	if size <= 16<<10 {
		if bodies[size] == nil {
			bodies[size] = body(size)
		}
		data = append(data, bodies[size]...)
	}
	if err := os.WriteFile(path, data, 0o640); err != nil {
		return fmt.Errorf("spooltest: -D file: %w", err)
	}
	if size > 16<<10 {
		if err := os.Truncate(path, int64(len(data)+size)); err != nil {
			return fmt.Errorf("spooltest: -D file: %w", err)
		}
	}
	return nil
}

// body returns size bytes of text in 76-character lines.
func body(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = 'a' + byte(i%26)
		if i%77 == 76 {
			b[i] = '\n'
		}
	}
	if size > 0 {
		b[size-1] = '\n'
	}
	return b
}

type gen struct {
	rnd  *rand.Rand
	now  int64
	seen map[spool.ID]bool
	sec  int64
}

func (g *gen) id() spool.ID {
	for {
		// Runs of messages in the same second, as a busy server has.
		if g.sec == 0 || g.rnd.IntN(4) == 0 {
			// Ages in minutes, hours and days, as -bp shows them, each
			// half a minute from a change of the age column: a listing
			// made within 30 seconds of writing shows the same ages.
			span := []int64{7200, 4 * 86400, 30 * 86400}[g.rnd.IntN(3)]
			g.sec = g.now - 30 - 60*g.rnd.Int64N(span/60)
		}
		id := spool.FormatID(g.sec, 1000+g.rnd.Int64N(400000), g.rnd.IntN(62*62))
		if !g.seen[id] {
			g.seen[id] = true
			return id
		}
	}
}

var (
	domains = []string{"example.com", "example.org", "mail.example.net", "x.example"}
	sizes   = []int{12, 300, 900, 1023, 1500, 4000, 9000, 20000, 150000, 1100000}
)

func (g *gen) addr(prefix string) string {
	return fmt.Sprintf("%s%d@%s", prefix, g.rnd.IntN(5000), domains[g.rnd.IntN(len(domains))])
}

// message returns a header and the body size.
func (g *gen) message() (*spool.Header, int) {
	id := g.id()
	h := spool.NewHeader(id)
	h.User, h.UID, h.GID = "root", 0, 0
	h.Received = time.Unix(id.Time().Unix(), int64(g.rnd.IntN(1000000))*1000)
	h.ReceivedComplete = h.Received.Add(time.Millisecond)
	h.ReceivedProtocol = "local"
	h.Local = true
	h.BodyLinecount = 3
	h.MaxReceivedLinelength = 76
	if g.rnd.IntN(10) == 0 {
		h.Sender = ""
	} else {
		h.Sender = g.addr("sender")
	}
	nr := 1 + g.rnd.IntN(5)
	for i := 0; i < nr; i++ {
		r := spool.NewRecipient(g.addr(fmt.Sprintf("rcpt%d-", i)))
		if g.rnd.IntN(20) == 0 {
			r.ORcpt = "rfc822;" + r.Address
			r.DSNFlags = spool.DSNNotifySuccess | spool.DSNNotifyFailure
		}
		if i > 0 && g.rnd.IntN(30) == 0 {
			// A one_time child: errors_to and parent fields.
			r.ErrorsTo, r.PNo = "errors@example.com", 0
		}
		h.Recipients = append(h.Recipients, r)
	}
	if g.rnd.IntN(25) == 0 {
		h.ACLVars = []spool.ACLVar{{Kind: 'm', Name: "_note", Value: "two\nlines"}, {Kind: 'c', Name: "0", Value: "x"}}
	}
	if g.rnd.IntN(40) == 0 {
		h.User, h.UID, h.GID = "someone", 1000, 1000
		h.SenderSetUntrusted = true
	}
	if g.rnd.IntN(20) == 0 {
		h.Frozen = time.Unix(h.Received.Unix()+600, 0)
	}
	if nr > 1 && g.rnd.IntN(10) == 0 {
		var done []string
		for _, r := range h.Recipients[:nr/2] {
			done = append(done, r.Address)
		}
		if g.rnd.IntN(3) == 0 {
			done = append(done, "generated@"+domains[0])
		}
		h.NonRecipients = spool.BuildTree(done)
	}
	to := h.Recipients[0].Address
	date := h.Received.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700")
	h.Headers = message.Headers{
		{Name: "Received", Type: 'P', Text: fmt.Sprintf("Received: from root by test.example with local (Exim 4.96)\n\t(envelope-from <%s>)\n\tid %s\n\tfor %s;\n\t%s\n", h.Sender, id, to, date)},
		{Name: "To", Type: 'T', Text: "To: " + to + "\n"},
		{Name: "Subject", Type: ' ', Text: fmt.Sprintf("Subject: message %s\n", id)},
		{Name: "Message-Id", Type: 'I', Text: fmt.Sprintf("Message-Id: <E%s@test.example>\n", id)},
		{Name: "From", Type: 'F', Text: "From: " + h.Sender + "\n"},
		{Name: "Date", Type: ' ', Text: "Date: " + date + "\n"},
	}
	if g.rnd.IntN(30) == 0 {
		h.Headers = append(h.Headers, message.Header{Name: "X-Removed", Type: '*', Text: "X-Removed: gone\n"})
	}
	return h, sizes[g.rnd.IntN(len(sizes))]
}
