#!/bin/bash
# mkspool.sh DIR: build a test spool in DIR with real Exim (queue_only):
# writes DIR/conf, DIR/spool, DIR/log, and DIR/ids (one id per line, in
# the order made). Varied messages: null sender, long addresses, many
# recipients, frozen, delivered recipients, old arrival times, sizes,
# untrusted sender, a deleted header, DSN fields, a generated address.
set -e
D=$1
mkdir -p "$D"
cat > "$D/conf" <<CONF
spool_directory = $D/spool
log_file_path = $D/log/%slog
exim_user = root
exim_group = root
primary_hostname = test.example
keep_environment =
queue_only
dsn_advertise_hosts = *
acl_smtp_rcpt = acl_r
begin acl
acl_r:
  accept
begin routers
r:
  driver = accept
  transport = t
begin transports
t:
  driver = appendfile
  file = /dev/null
CONF
X="exim -C $D/conf"
new() { # stdin message; args: exim options; prints the new id
	$X -odq -oMm 1xWrpf-0004bL-14 "$@" >/dev/null 2>&1 || true
	ls -t "$D/spool/input" | grep -- '-H$' | head -1 | cut -c1-16
}
msg() { printf 'Subject: %s\n\n%s\n' "$1" "$2"; }
ids=()
ids+=($(msg plain body | new a@example.com b@example.com))
ids+=($(msg bounce body | new -f '<>' c@example.com))
L=$(printf 'l%.0s' $(seq 60))
ids+=($(msg long body | new -f "$L@sender-$L.example" "$L@$L.example" short@x.example))
many=(); for i in $(seq 30); do many+=("rcpt$i@many.example"); done
ids+=($(msg many body | new "${many[@]}"))
ids+=($(msg frozen body | new f1@example.com f2@example.com)); $X -Mf ${ids[-1]} >/dev/null
ids+=($(msg delivered body | new d1@example.com d2@example.com d3@example.com)); $X -Mmd ${ids[-1]} d2@example.com >/dev/null
ids+=($(msg both body | new g1@example.com g2@example.com)); $X -Mmd ${ids[-1]} g1@example.com >/dev/null; $X -Mf ${ids[-1]} >/dev/null
big=$(head -c 2000 /dev/zero | tr '\0' x)
ids+=($(msg big2k "$big" | new k@example.com))
huge=$(head -c 1100000 /dev/zero | tr '\0' 'y' | fold -w 76)
ids+=($(msg big1m "$huge" | new m@example.com))
ids+=($(printf 'To: t@example.com\nBcc: hidden@example.com\nSubject: bcc\n\nb\n' | new -t))
ids+=($(printf 'EHLO c\nMAIL FROM:<s@example.com>\nRCPT TO:<dsn@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;dsn@example.com\nRCPT TO:<plain@example.com>\nDATA\nSubject: dsn\n\nb\n.\nQUIT\n' | $X -bs >/dev/null 2>&1; ls -t "$D/spool/input" | grep -- '-H$' | head -1 | cut -c1-16))
ids+=($(msg old2h body | new o1@example.com))
ids+=($(msg old4d body | new o2@example.com))
ids+=($(msg old100d body | new o3@example.com))
ids+=($(msg untrusted body | new u@example.com))
ids+=($(msg generated body | new alias@example.com other@example.com))
H() { echo "$D/spool/input/$1-H"; }
now=$(date +%s)
sed -i "4s/^[0-9]* /$((now-7200)) /" "$(H ${ids[11]})"
sed -i "4s/^[0-9]* /$((now-4*86400)) /" "$(H ${ids[12]})"
sed -i "4s/^[0-9]* /$((now-100*86400)) /" "$(H ${ids[13]})"
sed -i '2s/.*/someone 1000 1000/; s/^-local$/-local\n-sender_set_untrusted/' "$(H ${ids[14]})"
sed -i 's/^XX$/YY alias@example.com\nNN aaa-generated@example.com\nNN zz-generated@example.com/' "$(H ${ids[15]})"
printf '%s\n' "${ids[@]}" > "$D/ids"
