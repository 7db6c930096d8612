cd /tmp/lg && rm -rf spool mail && mkdir -p spool/log mail && chmod 777 mail && chown -R Debian-exim:Debian-exim spool && C=/tmp/lg/conf
for i in 1 2 3 4 5; do printf 'Subject: t%s\n\nhello %s\n' $i $i | exim -C $C -f sender$i@src$((i%3)).example user$((i%2))@test.example user9@other.example; sleep 0.3; done
printf 'Subject: f\n\nx\n' | exim -C $C -f s@x.example failme@test.example
for i in 1 2 3; do printf 'HELO h%s\r\nMAIL FROM:<a%s@remote.example>\r\nRCPT TO:<bad%s@test.example>\r\nRCPT TO:<x@elsewhere.example>\r\nRCPT TO:<ok@test.example>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n' $i $i $i | exim -C $C -bs -oMa 10.0.0.$i >/dev/null; done
sleep 1; exim -C $C -q; sleep 1; exim -C $C -qf
