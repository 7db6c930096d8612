package deliver_test

import (
	"strings"
	"testing"
)

// featConf is the configuration of the end-to-end cases for header
// variables at delivery time, duplicate addresses, filters and their
// actions. A filter is the file filters/LOCALPART written by the case.
const featConf = `exim_user = Debian-exim
exim_group = Debian-exim
deliver_drop_privilege = true
spool_directory = DIR/spool
log_file_path = DIR/spool/log/%slog
primary_hostname = test.example
qualify_domain = test.example
domainlist local_domains = test.example
never_users =
keep_environment =
RETRY_MAIN
begin routers
filters:
  driver = redirect
  local_parts = dsearch;DIR/filters
  file = DIR/filters/$local_part_data
  allow_filter
  user = Debian-exim
  file_transport = file_t
  pipe_transport = pipe_t
  reply_transport = reply_t
  sieve_vacation_directory = DIR/spool/vac
  allow_fail
  allow_defer
  allow_freeze
strict:
  driver = redirect
  local_parts = dsearch;DIR/strict
  data = ${readfile{DIR/strict/$local_part_data}}
  allow_filter
  user = Debian-exim
  file_transport = file_t
  pipe_transport = pipe_t
aliases:
  driver = redirect
  local_parts = team : team2 : sub : p1 : p2 : pp : rem : rem2
  data = ${if eq{$local_part}{team}{alice, bob}{${if eq{$local_part}{team2}{bob, carol, Alice}{${if eq{$local_part}{sub}{team, dave}{${if eq{$local_part}{pp}{|/bin/sh -c "cat >>DIR/mail/pipe-out"}{${if eq{$local_part}{rem}{rem2}{${if eq{$local_part}{rem2}{def@remote.example}{pp}}}}}}}}}}}}
  pipe_transport = pipe_t
aliases2:
  driver = redirect
  local_parts = nb : rj
  data = ${if eq{$local_part}{nb}{nobody@test.example}{rej@remote.example, ok1@remote.example}}
onetime:
  driver = redirect
  local_parts = ot : ot2
  data = ${if eq{$local_part}{ot}{ot2, carol}{def@remote.example, def2@remote.example, ok1@remote.example}}
  one_time
urgent:
  driver = accept
  local_parts = alice : bob
  condition = ${if match{$h_subject:}{urgent}}
  headers_add = X-Body: [$message_body] [$message_body_end] $message_body_size $message_linecount $body_linecount $message_size
  transport = mdir
local:
  driver = accept
  domains = +local_domains
  local_parts = alice : bob : carol : dave : Alice
  transport = mdir
relay:
  driver = manualroute
  domains = remote.example
  route_list = * 127.0.0.1
  self = send
  transport = remote_smtp
begin transports
mdir:
  driver = appendfile
  directory = DIR/mail/$local_part_data
  maildir_format
  user = Debian-exim
  headers_add = X-Subject: $h_subject: ${if def:message_headers{yes}{no}}
file_t:
  driver = appendfile
  user = Debian-exim
  file = ${if match{$address_file}{^/}{$address_file}{DIR/mail/F-$address_file}}
pipe_t:
  driver = pipe
  user = Debian-exim
reply_t:
  driver = autoreply
  user = Debian-exim
` + e2eRemoteTail

var featCases = []e2eCase{
	// Header and body variables in router conditions, router and
	// transport headers_add, and filter conditions.
	{name: "hdr_urgent", rcpts: []string{"alice@test.example"}},
	{name: "hdr_plain", rcpts: []string{"alice@test.example"}},
	{name: "hdr_filter_urgent", rcpts: []string{"f@test.example"}, files: map[string]string{"filters/f": hdrFilter}},
	{name: "hdr_filter_plain", rcpts: []string{"f@test.example"}, files: map[string]string{"filters/f": hdrFilter}},
	{name: "hdr_filter_body", rcpts: []string{"f@test.example"}, files: map[string]string{"filters/f": bodyFilter}},
	{name: "hdr_filter_order", rcpts: []string{"alice@test.example", "f@test.example"}, files: map[string]string{"filters/f": hdrFilter}},
	// Duplicate addresses.
	{name: "dup_alias", rcpts: []string{"team@test.example", "team2@test.example", "alice@test.example"}},
	{name: "dup_nested", rcpts: []string{"sub@test.example", "team@test.example"}},
	{name: "dup_nested_rev", rcpts: []string{"team@test.example", "sub@test.example"}},
	{name: "dup_nested_three", rcpts: []string{"carol@test.example", "sub@test.example", "dave@test.example"}},
	{name: "dup_pipe_parents", rcpts: []string{"p1@test.example", "p2@test.example"}},
	{name: "dup_pipe_top", rcpts: []string{"p1@test.example", "pp@test.example"}},
	{name: "dup_pipe_top_rev", rcpts: []string{"pp@test.example", "p1@test.example"}},
	{name: "dup_case", rcpts: []string{"alice@test.example", "alice@TEST.example", "bob@test.example", "Bob@test.example"}},
	{name: "dup_deferred", rcpts: []string{"rem@test.example", "def@remote.example", "alice@test.example", "team@test.example"}, retry: true, steps: [][]string{{"-qf"}}},
	{name: "dup_remote", rcpts: []string{"ok1@remote.example", "ok1@REMOTE.example", "ok2@remote.example"}},
	{name: "dup_unrouteable", rcpts: []string{"nb@test.example", "nobody@test.example"}},
	{name: "dup_rejected", rcpts: []string{"rj@test.example", "rej@remote.example", "ok1@remote.example"}},
	{name: "rem_noretry", rcpts: []string{"rem@test.example", "sub@test.example"}},
	{name: "dup_all_parents", rcpts: []string{"sub@test.example", "p1@test.example", "rem@test.example"}, main: "log_selector = +all_parents"},
	{name: "one_time", rcpts: []string{"ot@test.example", "alice@test.example"}, retry: true, steps: [][]string{{"@bp"}, {"-qf"}, {"@bp"}, {"-qf"}}},
	{name: "one_time_queued", rcpts: []string{"ot@test.example"}, retry: true, steps: [][]string{{"-odq"}, {"-qf"}, {"@bp"}, {"-qf"}, {"@bp"}}},
	{name: "one_time_noretry", rcpts: []string{"ot@test.example"}},
	// Filter actions.
	{name: "filter_actions", rcpts: []string{"f@test.example"}, files: map[string]string{"filters/f": actionsFilter}},
	{name: "filter_logwrite_no_logfile", rcpts: []string{"f@test.example"}, files: map[string]string{"filters/f": "# Exim filter\nlogwrite \"hello\"\n"}},
	{name: "filter_fail", rcpts: []string{"f@test.example", "carol@test.example"}, files: map[string]string{"filters/f": failFilter}},
	{name: "filter_defer", rcpts: []string{"f@test.example", "carol@test.example"}, files: map[string]string{"filters/f": failFilter}},
	{name: "filter_defer_retry", rcpts: []string{"f@test.example"}, retry: true, files: map[string]string{"filters/f": failFilter}},
	{name: "filter_freeze", rcpts: []string{"f@test.example", "carol@test.example"}, files: map[string]string{"filters/f": failFilter}},
	{name: "filter_fail_disabled", rcpts: []string{"s@test.example"}, files: map[string]string{"strict/s": failFilter}},
	{name: "filter_error_file", rcpts: []string{"f@test.example"}, files: map[string]string{"filters/f": "# Exim filter\nif then\n"}},
	{name: "filter_unseen_only", rcpts: []string{"fu@test.example"}, files: map[string]string{"filters/fu": "# Exim filter\nunseen deliver carol@test.example\n"}},
	{name: "filter_unseen_alice", rcpts: []string{"alice@test.example"}, files: map[string]string{"filters/alice": "# Exim filter\nunseen deliver carol@test.example\n"}},
	{name: "filter_seen_finish", rcpts: []string{"f@test.example"}, files: map[string]string{"filters/f": "# Exim filter\nunseen deliver carol@test.example\nseen finish\n"}},
	{name: "filter_mail", rcpts: []string{"f@test.example"}, files: map[string]string{"filters/f": mailFilter}, steps: [][]string{{"@submit", "f@test.example"}}},
	{name: "filter_mail_default_to", rcpts: []string{"f@test.example"}, files: map[string]string{"filters/f": "# Exim filter\nmail text \"no to given\"\n"}},
	{name: "filter_mail_reply_to", rcpts: []string{"f@test.example"}, head: "Reply-To: Replies <rt@test.example>\n", files: map[string]string{"filters/f": "# Exim filter\nmail subject \"about $h_subject:\" text \"to the reply address\" return message\n"}},
	{name: "filter_seen_mail", rcpts: []string{"f@test.example"}, files: map[string]string{"filters/f": "# Exim filter\nseen mail to alice@test.example cc bob@test.example subject \"note\" extra_headers \"X-Note: yes\" text \"seen mail\"\n"}},
	{name: "filter_mail_two", rcpts: []string{"f@test.example"}, files: map[string]string{"filters/f": "# Exim filter\nmail to \"A <alice@test.example>, bob@test.example\" text \"line\\n\" return message\n"}},
	{name: "filter_mail_order", rcpts: []string{"f@test.example"}, files: map[string]string{"filters/f": "# Exim filter\nsave DIR/mail/saved\nmail to alice@test.example text \"first\"\npipe \"/bin/sh -c 'cat > DIR/mail/piped'\"\nmail to bob@test.example text \"second\"\n"}},
	{name: "filter_vacation", rcpts: []string{"f@test.example"}, files: map[string]string{"filters/f": vacationFilter, "vacmsg": "Away; you wrote about $h_subject:\n"}},
	// Sieve filters.
	{name: "sieve_urgent", rcpts: []string{"sv@test.example"}, files: map[string]string{"filters/sv": sieveScript}},
	{name: "sieve_plain", rcpts: []string{"sv@test.example"}, files: map[string]string{"filters/sv": sieveScript}},
	{name: "sieve_other", rcpts: []string{"sv@test.example"}, head: "Reply-To: x@other.example\n", files: map[string]string{"filters/sv": strings.Replace(sieveScript, `"from"`, `"reply-to"`, 1)}},
	{name: "sieve_error", rcpts: []string{"sv@test.example"}, files: map[string]string{"filters/sv": "# Sieve filter\nreject \"no\";\n"}},
	{name: "sieve_partial_error", rcpts: []string{"sv@test.example"}, files: map[string]string{"filters/sv": "# Sieve filter\nrequire \"fileinto\";\nfileinto \"x\";\nredirect \"bob\";\n"}},
	{name: "sieve_discard", rcpts: []string{"sv@test.example"}, files: map[string]string{"filters/sv": "# Sieve filter\ndiscard;\n"}},
	{name: "sieve_copy_unrequired", rcpts: []string{"sv@test.example"}, files: map[string]string{"filters/sv": "# Sieve filter\nredirect :copy \"bob@test.example\";\n"}},
	{name: "sieve_copy", rcpts: []string{"sv@test.example"}, files: map[string]string{"filters/sv": "# Sieve filter\nrequire [\"copy\", \"fileinto\"];\nredirect :copy \"bob@test.example\";\nfileinto :copy \"copied\";\n"}},
	{name: "sieve_tests", rcpts: []string{"sv@test.example"}, files: map[string]string{"filters/sv": sieveTests}},
	{name: "sieve_vacation_disabled", rcpts: []string{"sv@test.example"}, files: map[string]string{"strict/sv": "# Sieve filter\nrequire \"vacation\";\nvacation \"away\";\n"}},
	{name: "sieve_vacation", rcpts: []string{"sv@test.example"}, head: "To: Me <sv@test.example>\n", files: map[string]string{"filters/sv": sieveVacation}, steps: [][]string{{"@submit", "sv@test.example"}}},
	{name: "sieve_vacation_not_to_me", rcpts: []string{"sv@test.example"}, head: "To: other@test.example\n", files: map[string]string{"filters/sv": sieveVacation}},
	{name: "sieve_vacation_auto", rcpts: []string{"sv@test.example"}, head: "To: sv@test.example\nAuto-Submitted: auto-replied\n", files: map[string]string{"filters/sv": sieveVacation}},
	{name: "sieve_vacation_options", rcpts: []string{"sv@test.example"}, head: "Cc: alias@test.example\n", files: map[string]string{"filters/sv": "# Sieve filter\nrequire \"vacation\";\nvacation :days 3 :subject \"Gone fishing\" :from \"me@test.example\" :addresses [\"alias@test.example\"] text:\nAway = out,\n  back soon.\n.\n;\n"}},
	{name: "sieve_stop_keep", rcpts: []string{"sv@test.example", "bob@test.example"}, files: map[string]string{"filters/sv": "# Sieve filter\nkeep;\nstop;\nredirect \"carol@test.example\";\n"}},
	{name: "dup_filter", rcpts: []string{"f@test.example", "bob@test.example"}, files: map[string]string{"filters/f": "# Exim filter\ndeliver bob@test.example\ndeliver alice\n"}},
}

const hdrFilter = `# Exim filter
if $h_subject: contains "urgent" then
  deliver bob@test.example
elif $header_from: contains "Sender" and $message_headers contains "Message-Id" then
  deliver carol@test.example
endif
`

const bodyFilter = `# Exim filter
if $message_body contains "line two" and $message_body_size is 18 then
  deliver dave@test.example
endif
`

const actionsFilter = `# Exim filter
logfile DIR/mail/flog
logwrite "subject is $h_subject:"
logwrite "from $h_from:"
save DIR/mail/saved
pipe "/bin/sh -c 'cat > DIR/mail/piped'"
unseen deliver carol@test.example
`

const mailFilter = `# Exim filter
mail to $reply_address subject "Re: $h_subject:" text "auto text\n" once DIR/spool/once
deliver alice@test.example
`

const vacationFilter = `# Exim filter
vacation to "alice@test.example" file DIR/vacmsg once DIR/spool/vonce log DIR/spool/vlog
`

const sieveScript = `# Sieve filter
require ["fileinto", "copy"];
if header :contains "subject" "urgent" {
  redirect "bob@test.example";
  fileinto :copy "urgent";
} elsif address :is :domain "from" "test.example" {
  fileinto "local";
  stop;
} else {
  keep;
}
discard;
`

const sieveVacation = `# Sieve filter
require "vacation";
vacation "I am away.";
`

const sieveTests = `# Sieve filter
require ["fileinto", "envelope", "subaddress", "comparator-i;ascii-numeric"];
/* each true test files into a folder of its own */
if exists ["subject", "from"] { fileinto "exists"; }
if not exists "x-none" { fileinto "notexists"; }
if size :under 1K { fileinto "small"; }
if size :over 1M { fileinto "big"; }
if allof (true, header :matches "subject" "case sieve_*") { fileinto "allof"; }
if anyof (false, address :localpart "from" "SENDER") { fileinto "anyof"; }
if envelope :is "from" "sender@test.example" { fileinto "envelope"; }
if envelope :domain "to" "test.example" { fileinto "envto"; }
if header :comparator "i;octet" :contains "subject" "CASE" { fileinto "octet"; }
if header :contains "subject" text:
sieve_tests
.
{ fileinto "text"; }
if address :user "from" "sender" { fileinto "user"; }
`

const failFilter = `# Exim filter
if $h_subject: contains "fail" then fail text "go away $local_part" endif
if $h_subject: contains "defer" then defer text "later please" endif
if $h_subject: contains "freeze" then freeze text "cold" endif
`

func TestEndToEndFeatures(t *testing.T) {
	for i := range featCases {
		featCases[i].conf = featConf
	}
	runE2ECases(t, featCases)
}
