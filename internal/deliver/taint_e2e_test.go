package deliver_test

import "testing"

// taintConf delivers with appendfile transports whose file or directory
// names are, or are not, tainted (spec chapter "String expansions",
// section "Tainted data"): Exim 4.96 refuses a name built from data of
// the message, as an internal error that no retry rule times out.
const taintConf = e2eMain + `begin routers
r:
  driver = accept
  domains = test.example
  local_parts = t1 : t2 : t3 : t4 : t5 : t6 : t7 : t8 : t9 : t10 : md : rel : sender : p1 : p2 : p3 : p4
  transport = $local_part_data
begin transports
t1:
  driver = appendfile
  file = DIR/mail/$domain
  user = Debian-exim
t2:
  driver = appendfile
  file = DIR/mail/${if eq{$sender_address}{}{x}{$sender_address_local_part}}
  user = Debian-exim
t3:
  driver = appendfile
  file = DIR/mail/${lc:$h_subject:}
  user = Debian-exim
t4:
  driver = appendfile
  file = DIR/mail/${if eq{$local_part}{t4}{yes}{no}}
  user = Debian-exim
t5:
  driver = appendfile
  file = DIR/mail/${lookup{$local_part}lsearch{DIR/lsearch}}
  user = Debian-exim
t6:
  driver = appendfile
  file = DIR/mail/$local_part_data
  user = Debian-exim
t7:
  driver = appendfile
  file = DIR/mail/${length_1:$local_part}
  user = Debian-exim
t8:
  driver = appendfile
  file = DIR/mail/${lookup{$local_part}lsearch{DIR/lsearch}{$value}{$local_part}}
  user = Debian-exim
t9:
  driver = appendfile
  file = DIR/mail/${if match{$local_part}{^(t)}{$1}{no}}
  user = Debian-exim
t10:
  driver = appendfile
  file = DIR/mail/$original_local_part
  user = Debian-exim
md:
  driver = appendfile
  directory = DIR/mail/${local_part}dir
  maildir_format
  user = Debian-exim
rel:
  driver = appendfile
  file = $local_part
  user = Debian-exim
sender:
  driver = appendfile
  file = DIR/mail/sender
  user = Debian-exim
p1:
  driver = pipe
  command = /bin/echo $local_part x
  user = Debian-exim
p2:
  driver = pipe
  command = /bin/sh -c "echo $local_part >>DIR/mail/p2"
  user = Debian-exim
p3:
  driver = pipe
  command = /bin/sh -c "echo $local_part_data >>DIR/mail/p3"
  user = Debian-exim
p4:
  driver = pipe
  command = echo $local_part >>DIR/mail/p4
  use_shell
  user = Debian-exim
begin retry
RETRY_RULES
`

var taintAll = []string{"t1@test.example", "t2@test.example", "t3@test.example", "t4@test.example", "t5@test.example",
	"t6@test.example", "t7@test.example", "t8@test.example", "t9@test.example", "t10@test.example", "md@test.example"}

var taintCases = []e2eCase{
	{name: "taint_all", rcpts: taintAll, retry: true, head: "Subject: Hello\n", steps: [][]string{{"@bp"}}},
	{name: "taint_noretry", rcpts: []string{"t1@test.example", "t6@test.example"}, steps: [][]string{{"@bp"}, {"-qf"}, {"@bp"}}},
	{name: "taint_relative", rcpts: []string{"rel@test.example"}, retry: true},
	// A pipe command's arguments are expanded one by one, and a tainted
	// one fails the address; use_shell's single expansion is run.
	{name: "taint_pipe", rcpts: []string{"p1@test.example", "p2@test.example", "p3@test.example", "p4@test.example"}},
}

func TestTaintedFileNames(t *testing.T) {
	for i := range taintCases {
		taintCases[i].conf = taintConf
		taintCases[i].files = map[string]string{"lsearch": "t5: five\nt8: eight\n"}
	}
	runE2ECases(t, taintCases)
}
