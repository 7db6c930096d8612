package deliver_test

import (
	"strings"
	"testing"
)

// orderConf routes the recipients of one message down every path at
// once: maildir, pipe, remote (accepted, deferred, failed), a redirect
// to two addresses, :fail: and :blackhole:.
var orderConf = strings.Replace(strings.Replace(e2eConf,
	"  local_parts = team : gone : later : pipe\n",
	"  local_parts = team : gone : later : pipe : hole : pair\n", 1),
	`{:defer: not now}`,
	`{${if eq{$local_part}{hole}{:blackhole:}{${if eq{$local_part}{pair}{carol, ok2@remote.example}{:defer: not now}}}}}`, 1)

// orderRcpts are the recipients of the order cases, in the order given
// on the command line.
var orderRcpts = []string{
	"alice@test.example", "ok1@remote.example", "pipe@test.example",
	"def@remote.example", "gone@test.example", "pair@test.example",
	"rej@remote.example", "hole@test.example", "bob@test.example",
}

// TestDeliveryOrder: the main log lines of one delivery whose
// recipients take different paths come in Exim's order, and so do the
// recipients -bp lists afterwards and the message log (-Mvl).
func TestDeliveryOrder(t *testing.T) {
	runE2ECases(t, []e2eCase{
		{name: "order", conf: orderConf, rcpts: orderRcpts, retry: true, steps: [][]string{{"@bp"}, {"@mvl"}}},
		{name: "order_q", conf: orderConf, rcpts: orderRcpts, retry: true, steps: [][]string{{"-odq"}, {"@mvl"}, {"-q"}, {"@bp"}, {"@mvl"}}},
		{name: "msglog_chain", conf: featConf, rcpts: []string{"sub@test.example", "rj@test.example", "rem@test.example", "nobody@test.example", "p1@test.example", "nb@test.example"}, retry: true, steps: [][]string{{"@mvl"}}},
		{name: "msglog_refused", rcpts: []string{"a@down.example", "alice@test.example", "b@down.example"}, retry: true, steps: [][]string{{"@mvl"}, {"-qf"}, {"@mvl"}}},
		{name: "mail4xx", sender: "mailfail@test.example", rcpts: []string{"ok1@remote.example", "alice@test.example", "ok2@remote.example"}, retry: true, steps: [][]string{{"-q"}, {"-qf"}, {"@mvl"}}},
		// "retry time not reached" is in the message log of a first
		// attempt only (spec chapter "Log files", retry_defer).
		{name: "retry_wait_first", rcpts: []string{"a@down.example"}, retry: true, steps: [][]string{{"@submit", "b@down.example"}, {"@submit", "later@test.example"}}},
		{name: "order_rev", conf: orderConf, rcpts: reversed(orderRcpts), retry: true, steps: [][]string{{"@bp"}, {"@mvl"}}},
	})
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}
