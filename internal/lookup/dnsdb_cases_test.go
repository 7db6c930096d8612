package lookup

// dnsZone is served by the in-test DNS server for the dnsdb tests.
// fail.example answers SERVFAIL.
const dnsZone = `
h1.example. A 192.0.2.1
h1.example. A 192.0.2.2
h1.example. AAAA 2001:db8::1
h6.example. AAAA 2001:db8:0:0:0:0:0:10
m.example. MX 10 mx1.example.
m.example. MX 20 mx2.example.
t.example. TXT "first" "second"
t.example. TXT "other"
s.example. SPF "v=spf1 " "a -all"
_smtp._tcp.srv.example. SRV 1 2 25 mx1.example.
example. SOA ns1.example. hostmaster.example. 2024010101 3600 600 86400 300
example. NS ns1.example.
example. NS ns2.example.
c.example. CNAME h1.example.
1.2.0.192.in-addr.arpa. PTR h1.example.
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR h6.example.
_25._tcp.mx1.example. TLSA 3 1 1 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20
_client._smtp.csa.example. SRV 1 2 0 csa.example.
_client._smtp.csb.example. SRV 1 1 0 csb.example.
_client._smtp.w0.example. SRV 1 0 0 w0.example.
_client._smtp.w9.example. SRV 1 9 0 w9.example.
_client._smtp.p1.example. SRV 1 3 1 p1.example.
_client._smtp.pr2.example. SRV 2 2 0 pr2.example.
_client._smtp.sub.example. SRV 1 3 0 sub.example.
esc.example. TXT "a\"b\\c;d" "x y"
`

// dnsdbCases are dnsdb queries with real Exim's answers (render format).
var dnsdbCases = []struct{ query, want string }{
	{"a=h1.example", "F<192.0.2.1\n192.0.2.2>"},
	{"aaaa=h1.example", "F<2001:db8::1>"},
	{"aaaa=h6.example", "F<2001:db8::10>"},
	{"a+=h1.example", "F<2001:db8::1\n192.0.2.1\n192.0.2.2>"},
	{">: a+=h1.example", "F<2001:db8::1:192.0.2.1:192.0.2.2>"},
	{"a+=h6.example", "F<2001:db8::10>"},
	{"a+=nx.example", "N"},
	{"a+=fail.example", `Failed: lookup of "a+=fail.example" gave DEFER: `},
	{"mx=m.example", "F<10 mx1.example\n20 mx2.example>"},
	{">:,; mx=m.example", "F<10;mx1.example:20;mx2.example>"},
	{">;,:mx=m.example", "F<10:mx1.example;20:mx2.example>"},
	{"mxh=m.example", "F<mx1.example\nmx2.example>"},
	{"mx=h1.example", "N"},
	{"txt=t.example", "F<first\nother>"},
	{"t.example", "F<first\nother>"},
	{">\n,: txt=t.example", "F<first:second\nother>"},
	{">\n; txt=t.example", "F<firstsecond\nother>"},
	{">|, txt=t.example", "F<first second|other>"},
	{">:,; txt=t.example", "F<first;second:other>"},
	{">:; txt=t.example", "F<firstsecond:other>"},
	{"txt=esc.example", "F<a\"b\\c;d>"},
	{">\n,: txt=esc.example", "F<a\"b\\c;d:x y>"},
	{"spf=s.example", "F<v=spf1 a -all>"},
	{">;,: spf=s.example", "F<v=spf1 :a -all>"},
	{"srv=_smtp._tcp.srv.example", "F<1 2 25 mx1.example>"},
	{">;,/ srv=_smtp._tcp.srv.example", "F<1/2/25/mx1.example>"},
	{"soa=a.b.example", "F<ns1.example>"},
	{">:,; soa=a.b.example", "F<ns1.example;hostmaster.example;2024010101;3600;600;86400;300>"},
	{"soa=nx.nothere", "N"},
	{"ns=example", "F<ns1.example\nns2.example>"},
	{"ns=m.example", "N"},
	{"zns=x.y.example", "F<ns1.example\nns2.example>"},
	{"zns=a.nothere", "N"},
	{"ptr=192.0.2.1", "F<h1.example>"},
	{"ptr=2001:db8::1", "F<h6.example>"},
	{"ptr=1.2.0.192.in-addr.arpa", "F<h1.example>"},
	{"ptr = <; 192.0.2.1 ; 2001:db8::1", "F<h1.example\nh6.example>"},
	{"ptr=192.0.2.1:192.0.2.5", "F<h1.example>"},
	{"ptr=notanip", "N"},
	{"cname=c.example", "F<h1.example>"},
	{"a=c.example", "F<192.0.2.1\n192.0.2.2>"},
	{"tlsa=_25._tcp.mx1.example", "F<3 1 1 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20>"},
	{">:,| tlsa=_25._tcp.mx1.example", "F<3|1|1|0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20>"},
	{"csa=csa.example", "F<Y csa.example>"},
	{"csa=csb.example", "F<N csb.example>"},
	{"csa=w0.example", "F<N w0.example>"},
	{"csa=w9.example", "N"},
	{"csa=p1.example", "F<? p1.example>"},
	{"csa=pr2.example", "N"},
	{"csa=x.sub.example", "N"},
	{"csa=nothing.example", "N"},
	{"csa=192.0.2.1", "N"},
	{"a=h1.example:m.example", "F<192.0.2.1\n192.0.2.2>"},
	{"aaaa=h1.example:h6.example", "F<2001:db8::1\n2001:db8::10>"},
	{"mx=m.example:nx.example:h1.example", "F<10 mx1.example\n20 mx2.example>"},
	{">; a = <, h1.example, h6.example", "F<192.0.2.1;192.0.2.2>"},
	{"a=h1.example::h6.example", "N"},
	{"a=nx.example", "N"},
	{"a=m.example", "N"},
	{"a=fail.example", `Failed: lookup of "a=fail.example" gave DEFER: `},
	{"a=fail.example:h1.example", "F<192.0.2.1\n192.0.2.2>"},
	{"txt=fail.example:nx.example", `Failed: lookup of "txt=fail.example:nx.example" gave DEFER: `},
	{"defer_strict,a=fail.example:h1.example", `Failed: lookup of "defer_strict,a=fail.example:h1.example" gave DEFER: `},
	{"defer_never,a=fail.example", "N"},
	{"defer_never,txt=fail.example:t.example", "F<first\nother>"},
	{"defer_lax,a=h1.example:fail.example", "F<192.0.2.1\n192.0.2.2>"},
	{"dnssec_strict,a=h1.example", `Failed: lookup of "dnssec_strict,a=h1.example" gave DEFER: `},
	{"dnssec_never,a=h1.example", "F<192.0.2.1\n192.0.2.2>"},
	{"dnssec_lax,a=h1.example", "F<192.0.2.1\n192.0.2.2>"},
	{"retrans_2s,retry_1,a=h1.example", "F<192.0.2.1\n192.0.2.2>"},
	{">:a=h1.example", "F<192.0.2.1:192.0.2.2>"},
	{">,a=h1.example", "F<192.0.2.1,192.0.2.2>"},
	{">  a=h1.example", "F<192.0.2.1 192.0.2.2>"},
	{" A=h1.example", "F<192.0.2.1\n192.0.2.2>"},
	{" a = h1.example ", "F<192.0.2.1\n192.0.2.2>"},
	{"a=h1.example.", "F<192.0.2.1\n192.0.2.2>"},
	{"a=H1.EXAMPLE", "F<192.0.2.1\n192.0.2.2>"},
	{"a=", "N"},
	{"a", "N"},
	{">", "N"},
	{"defer_lax,", "N"},
	{"a==h1.example", "N"},
	{"=h1.example", `Failed: lookup of "=h1.example" gave DEFER: unsupported DNS record type`},
	{"foo=x.example", `Failed: lookup of "foo=x.example" gave DEFER: unsupported DNS record type`},
	{"defer_bogus,a=x.example", `Failed: lookup of "defer_bogus,a=x.example" gave DEFER: unsupported dnsdb defer behaviour`},
	{"dnssec_bogus,a=x", `Failed: lookup of "dnssec_bogus,a=x" gave DEFER: unsupported dnsdb dnssec behaviour`},
	{"retrans_x,a=x", `Failed: lookup of "retrans_x,a=x" gave DEFER: unsupported dnsdb timeout value`},
	{"retry_x,a=x", `Failed: lookup of "retry_x,a=x" gave DEFER: dnsdb modifier syntax error`},
}
