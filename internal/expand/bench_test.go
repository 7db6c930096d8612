package expand

import "testing"

// Typical router and ACL strings, as admins write them.
var benchStrings = []string{
	"${lc:$local_part}",
	"${if eq{$sender_host_address}{127.0.0.1}{yes}{no}}",
	"${if and{{def:sender_host_address}{!eq{$sender_host_address}{}}}{remote}{local}}",
	"/var/mail/${lc:$local_part}",
	"${if exists{/etc/exim4/$domain}{/etc/exim4/$domain}{0}}",
	"${lookup{$local_part}lsearch{/dev/null}{$value}{nobody}}",
	"${if match{$h_subject:}{^\\[SPAM\\]}{spam}{ham}}",
	"$primary_hostname ESMTP Exim $version_number $tod_full",
}

func benchVars() VarMap {
	return VarMap{
		"local_part": "Esteban", "sender_host_address": "192.0.2.1",
		"domain": "example.net", "primary_hostname": "mx.example.net",
		"version_number": "4.96",
	}
}

// BenchmarkEval evaluates already-parsed typical expansions.
func BenchmarkEval(b *testing.B) {
	var tmpls []*Template
	for _, s := range benchStrings {
		t, err := Parse(s)
		if err != nil {
			b.Skipf("%q does not parse yet: %v", s, err)
		}
		tmpls = append(tmpls, t)
	}
	ctx := &Context{Vars: benchVars()}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, t := range tmpls {
			t.Eval(ctx)
		}
	}
}

// BenchmarkParse parses typical expansions.
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, s := range benchStrings {
			Parse(s)
		}
	}
}
