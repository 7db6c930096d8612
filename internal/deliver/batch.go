package deliver

import (
	"slices"
	"strings"

	"github.com/exigo-mta/exigo/internal/router"
)

// # Address batching in local transports (spec chapter of that name)
//
// With batch_max above one, addresses routed to the same local
// transport go in one run, up to batch_max of them, taken in chain
// order: none when an option of the transport refers to $local_part;
// only those of one domain when one refers to $domain; and only those
// with the same errors address, header changes, user and group, and
// file or pipe command. The first of a run is logged with "=>", the
// others with "->".

// batchRules says how a local transport batches.
type batchRules struct {
	max        int
	sameDomain bool
}

// localBatching returns the batching rules of transport name.
func (m *attempt) localBatching(name string) batchRules {
	td := m.d.Config.Transport(name)
	if td == nil {
		return batchRules{max: 1}
	}
	n, ok := td.Options.Int("batch_max")
	if !ok || n <= 1 {
		return batchRules{max: 1}
	}
	r := batchRules{max: int(n)}
	for _, opt := range td.Options.Names() {
		if !td.Options.IsSet(opt) {
			continue
		}
		v := td.Options.Line(opt)
		if refersTo(v, "local_part") {
			return batchRules{max: 1}
		}
		if refersTo(v, "domain") {
			r.sameDomain = true
		}
	}
	return r
}

// refersTo reports whether an option's text refers to variable name
// ($name or ${name}).
func refersTo(text, name string) bool {
	if name == "" {
		return false
	}
	if strings.Contains(text, "${"+name+"}") {
		return true
	}
	form := "$" + name
	for i := 0; ; {
		j := strings.Index(text[i:], form)
		if j < 0 {
			return false
		}
		end := i + j + len(form)
		if end >= len(text) || !isNameChar(text[end]) {
			return true
		}
		i = end
	}
}

func isNameChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// batchable reports whether b can join a run that a started.
func batchable(a, b *item, r batchRules) bool {
	x, y := a.addr, b.addr
	if a.transport != b.transport || x.ErrorsTo != y.ErrorsTo || x.UID != y.UID || x.GID != y.GID {
		return false
	}
	if r.sameDomain && x.Domain != y.Domain {
		return false
	}
	if !slices.Equal(x.HeadersAdd, y.HeadersAdd) || !slices.Equal(x.HeadersRemove, y.HeadersRemove) {
		return false
	}
	if x.Kind != y.Kind {
		return false
	}
	if x.Kind != router.Mailbox && x.Address != y.Address {
		return false
	}
	return true
}

// localRuns groups local addresses into transport runs.
func (m *attempt) localRuns(items []*item) [][]*item {
	rules := map[string]batchRules{}
	used := make([]bool, len(items))
	var runs [][]*item
	for i, it := range items {
		if used[i] {
			continue
		}
		used[i] = true
		r, ok := rules[it.transport]
		if !ok {
			r = m.localBatching(it.transport)
			rules[it.transport] = r
		}
		run := []*item{it}
		for j := i + 1; j < len(items) && len(run) < r.max; j++ {
			if !used[j] && batchable(it, items[j], r) {
				used[j] = true
				run = append(run, items[j])
			}
		}
		runs = append(runs, run)
	}
	return runs
}
