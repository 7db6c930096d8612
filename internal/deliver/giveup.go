package deliver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/router"
	"github.com/exigo-mta/exigo/internal/spool"
)

// GiveUp implements -Mg (spec chapter "The Exim command line", -Mg):
// the message is cancelled ("cancelled by" the caller's login), every
// recipient not yet delivered fails, and a bounce listing them without
// reasons goes to the sender; a bounce message is just discarded. A
// frozen message is thawed first ("Unfrozen by forced delivery").
func (d *Deliverer) GiveUp(ctx context.Context, id spool.ID, by string) error {
	lock, err := d.Spool.Lock(id)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			d.Log.Write(fmt.Sprintf("%s Spool file %s-D not found", id, id), mainlog.Main)
		}
		return err
	}
	defer lock.Unlock()
	h, err := d.Spool.ReadHeader(id)
	if err != nil {
		return fmt.Errorf("deliver: %w", err)
	}
	m := &attempt{d: d, ctx: ctx, lock: lock, h: h, now: d.now()}
	if !h.Frozen.IsZero() {
		m.logf("Unfrozen by forced delivery")
	}
	return m.cancel(by)
}

// cancel fails every undelivered recipient of the locked message with
// a bounce listing them without reasons (none for a bounce message),
// logs "cancelled by WHO" and "Completed", and removes the message.
func (m *attempt) cancel(by string) error {
	d, h := m.d, m.h
	m.logf("cancelled by %s", by)
	m.writeLogs()
	if h.Sender != "" {
		done := map[string]bool{}
		for _, a := range spool.Addresses(h.NonRecipients) {
			done[a] = true
		}
		for _, a := range m.readJournal() {
			done[a] = true
		}
		// The chain lists the last recipient first, as Exim's does.
		for i := len(h.Recipients) - 1; i >= 0; i-- {
			r := h.Recipients[i]
			if done[r.Address] {
				continue
			}
			m.failChain = append(m.failChain, &item{addr: router.NewAddress(r.Address), top: r.Address, state: failed})
		}
		if len(m.failChain) > 0 {
			if err := m.sendBounce(); err != nil {
				d.Log.Write(fmt.Sprintf("%s Error in sending bounce: %v", h.ID, err), mainlog.Main, mainlog.Panic)
			}
		}
	}
	m.logf("%s", m.completedLine())
	m.writeLogs()
	if d.Config.Main.Bool("preserve_message_logs") {
		d.Spool.PreserveMsglog(h.ID)
	}
	if err := d.Spool.Remove(m.lock); err != nil {
		return fmt.Errorf("deliver: %w", err)
	}
	return nil
}
