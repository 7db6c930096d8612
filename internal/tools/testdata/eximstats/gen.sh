# Drives one MTA ($1: exim or exigo) through the eximstats scenario and
# prints its mainlog: exim-big.log (exim) and exigo-big.log (exigo) with
# conf; exim-all.log and exigo-all.log with conf.all (log_selector = +all,
# set C below). Needs sink.py listening on 127.0.0.1:2525 and root.

M=$1; C=/tmp/big/conf
cd /tmp/big && rm -rf spool mail && mkdir -p spool/log mail && chmod 777 mail && chown -R Debian-exim:Debian-exim spool
msg() { printf 'Subject: %s\n\n%s\n' "$1" "$2"; }
# local submissions
for i in 1 2 3 4; do msg "t$i" "hello $i $(seq 1 $((i*40)))" | $M -C $C -odi -f sender$i@src$((i%3)).example user$((i%2))@test.example ok$i@remote.example; done
msg pipe "to the pipe" | $M -C $C -odi -f prog-sender@test.example prog@test.example
msg list "to the list" | $M -C $C -odi -f owner@test.example staff@lists.example
msg fail "x" | $M -C $C -odi -f postmaster@test.example failme@test.example
msg bounce "will bounce" | $M -C $C -odi -f user1@test.example rej1@far.example user2@test.example
msg frozen "bounce of this freezes" | $M -C $C -odi -f nobody@nowhere.invalid rej2@remote.example
msg defer "deferred" | $M -C $C -odi -f sender1@src1.example def1@remote.example
# SMTP sessions from several hosts
smtp() { # ip helo from rcpts... ; subject
  ip=$1 helo=$2 from=$3 subj=$4; shift 4
  { printf 'HELO %s\r\nMAIL FROM:<%s>\r\n' $helo $from
    for r; do printf 'RCPT TO:<%s>\r\n' $r; done
    printf 'DATA\r\nSubject: %s\r\n\r\nbody %s\r\n.\r\nQUIT\r\n' "$subj" "$(seq 1 20)"; } |
  $M -C $C -odi -bs -oMa $ip -oMs $helo >/dev/null
}
smtp 10.0.0.1 mx.alpha.example a@alpha.example hi user1@test.example bad1@test.example x@elsewhere.example
smtp 10.0.0.2 mx.beta.example b@beta.example hi user2@test.example ok5@remote.example grey1@test.example
smtp 10.0.0.3 relay.gamma.example c@gamma.example spam user1@test.example
smtp 10.0.0.1 mx.alpha.example a2@alpha.example hi ok6@far.example def2@far.example user3@test.example
smtp 10.0.0.4 h4.delta.example d@delta.example hi bad2@test.example grey2@test.example
smtp 10.0.0.3 relay.gamma.example '' hi user1@test.example
smtp 10.0.0.2 mx.beta.example b@beta.example spam user2@test.example
sleep 1
$M -C $C -qf
sleep 7
$M -C $C -qf
cat spool/log/mainlog
