package tools

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// statOracleLogs are the logs the option sets are tried on: Exim's own
// and a synthetic one, a bigger log real Exim 4.96 wrote for the scenario
// of testdata/eximstats/gen.sh and the log exigo wrote for it (each also
// with log_selector = +all), and hand-made
// probes of odd lines (probes.log, edge.log) and large volumes (gig.log).
var statOracleLogs = [][]string{
	{"testdata/logs/exim-run.log"},
	{"testdata/logs/synthetic.log"},
	{"testdata/logs/synthetic.log", "testdata/logs/exim-run.log"},
	{"testdata/eximstats/exim-big.log"},
	{"testdata/eximstats/exigo-big.log"},
	{"testdata/eximstats/exim-all.log"},
	{"testdata/eximstats/exigo-all.log"},
	{"testdata/eximstats/probes.log"},
	{"testdata/eximstats/edge.log", "testdata/eximstats/gig.log"},
}

// statOracleOptions are the option sets compared on every log.
var statOracleOptions = [][]string{
	{},
	{"-nvr"},
	{"-h4", "-t5"},
	{"-h0", "-nt", "-ne", "-nr"},
	{"-h12", "-tnl"},
	{"-h60", "-q10,100,1000,50000"},
	{"-q0", "-t0"},
	{"-q120,60", "-t2", "-tnl"},
	{"-bydomain"},
	{"-byemail", "-byhost"},
	{"-byedomain", "-bylocaldomain"},
	{"-byemaildomain", "-bydomain", "-byemail", "-byhost", "-nvr", "-t3"},
	{"-bylocaldomain", "-include_original_destination"},
	{"-include_original_destination", "-byemail", "-byedomain"},
	{"-nr/alice/", "-nt/remote/"},
	{"-nr/^H=(mail|mx).* A=[xy]@/", "-nt/^local/"},
	{"-nr/./", "-h0"},
	{"-emptyok", "-h2"},
	{"-show_rt", "-show_dt"},
	{"-show_rt1,2,10", "-show_dt0,5,60", "-h5"},
	{"-txt", "-h3", "-h20", "-h30"},
	{"-t_remote_users", "-t1", "-h10"},
	{"-t_remote_users", "-tnl", "-byemail"},
	{"-pattern", "Refused connections", "/refused connection/", "-pattern", "Rejects", "/rejected/", "-h2"},
	{"-bylocaldomain", "-t_remote_users", "-pattern", "Five x", "/x{5}/", "-h0"},
	{"-bylocaldomain", "-tnl", "-include_original_destination"},
}

// statCompare runs both eximstats on args and reports any difference.
func statCompare(t *testing.T, script string, args []string) bool {
	t.Helper()
	want, werr, wcode := runScript(t, ".", append([]string{script}, args...)...)
	var out, errb bytes.Buffer
	code := RunEximstats(args, strings.NewReader(""), &out, &errb)
	if code != wcode || out.String() != want || errb.String() != werr {
		t.Errorf("%q: exit %d, want %d; stderr %q, want %q\n%s", args, code, wcode, errb.String(), werr, lineDiff(out.String(), want))
		return false
	}
	return true
}

// lineDiff shows the first lines where got and want part.
func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b || i >= len(g) || i >= len(w) {
			return "first difference at line " + itoa(i+1) + ":\n got " + quoteLine(a) + "\nwant " + quoteLine(b)
		}
	}
	return "same lines"
}

func quoteLine(s string) string { return "\"" + strings.ReplaceAll(s, "\t", "\\t") + "\"" }

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

// TestEximstatsOracle compares exigo's whole report, byte for byte, with
// /usr/sbin/eximstats' on the same logs and options.
func TestEximstatsOracle(t *testing.T) {
	script := needScript(t, "eximstats")
	n := 0
	for li, logs := range statOracleLogs {
		for oi, opts := range statOracleOptions {
			// Every option set on the log real Exim wrote, a quarter of
			// them (in turn) on each of the others: the suite stays fast.
			if logs[0] != "testdata/eximstats/exim-big.log" && oi != 0 && oi%4 != li%4 {
				continue
			}
			statCompare(t, script, append(append([]string{}, opts...), logs...))
			n++
		}
	}
	t.Logf("%d cases", n)
}

// TestEximstatsOracleEdges covers empty input, missing files and bad
// options.
func TestEximstatsOracleEdges(t *testing.T) {
	script := needScript(t, "eximstats")
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.log")
	noise := filepath.Join(dir, "noise.log")
	os.WriteFile(empty, nil, 0o644)
	os.WriteFile(noise, []byte("2023-11-14 10:00:00 Start queue run: pid=1\ngarbage\n"), 0o644)
	out := filepath.Join(dir, "report.txt")
	var got bytes.Buffer
	if code := RunEximstats([]string{"-txt=" + out, "testdata/logs/exim-run.log"}, strings.NewReader(""), &got, &got); code != 0 || got.Len() != 0 {
		t.Errorf("-txt=file: exit %d, %q", code, got.String())
	}
	report, _ := os.ReadFile(out)
	if want, _, _ := runScript(t, ".", script, "testdata/logs/exim-run.log"); string(report) != want {
		t.Errorf("-txt=file wrote\n%s", lineDiff(string(report), want))
	}
	for _, args := range [][]string{
		{empty}, {"-emptyok", empty}, {noise}, {"-emptyok", noise}, {"-emptyok", "-h0", "-q0", "-t0", noise},
		{filepath.Join(dir, "missing.log")}, {"-emptyok", filepath.Join(dir, "missing.log")},
		{filepath.Join(dir, "missing.log"), "testdata/logs/exim-run.log"},
		{"-x"}, {"-", noise}, {"-h7"}, {"-help"}, {"--help"}, {"-h"}, {"-q", noise}, {"-qx", noise}, {"-t", noise}, {"-tx", noise},
		{"-q5,x", noise}, {"-show_rtx", noise}, {"-nr/", "-nt/", "testdata/logs/exim-run.log"},
	} {
		statCompare(t, script, args)
	}
}

// TestEximstatsOracleRandom compares the reports on random logs.
func TestEximstatsOracleRandom(t *testing.T) {
	script := needScript(t, "eximstats")
	dir := t.TempDir()
	n, seeds := 0, int64(8)
	if v := os.Getenv("EXIGO_EXIMSTATS_SOAK_SEEDS"); v != "" { // a longer run by hand
		fmt.Sscan(v, &seeds)
	}
	for seed := int64(1); seed <= seeds; seed++ {
		name := filepath.Join(dir, "gen"+itoa(int(seed))+".log")
		if err := os.WriteFile(name, []byte(genStatLog(seed, int(seed%20+1)*25)), 0o644); err != nil {
			t.Fatal(err)
		}
		for i, opts := range statOracleOptions {
			if i%8 != int(seed)%8 && i != 0 && seeds <= 8 {
				continue
			}
			if !statCompare(t, script, append(append([]string{}, opts...), name)) {
				keep := filepath.Join(os.TempDir(), "eximstats-gen"+itoa(int(seed))+".log")
				os.WriteFile(keep, []byte(genStatLog(seed, int(seed%20+1)*25)), 0o644)
				t.Logf("log kept as %s", keep)
			}
			n++
		}
	}
	t.Logf("%d cases", n)
}
