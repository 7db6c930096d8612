package cli

import (
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// twoStageSelections are the command lines that Exim 4.96 accepts for
// two-stage queue runs with selections and flags (spec chapter "The Exim
// command line", options -qq..., -qR and -qS), and for -q options that
// add up across several arguments (-qql logs "remote deliveries
// suppressed" in both stages). -qqG<name> is left out: exigo's queue
// runs know no named queues.
var twoStageSelections = [][]string{
	{"-qq"}, {"-qqf"}, {"-qqff"}, {"-qqi"}, {"-qqif"}, {"-qql"}, {"-qqfl"},
	{"-qqR", "remote.example"}, {"-qqRf", "remote.example"}, {"-qqRff", "remote.example"},
	{"-qqRr", "rem.te"}, {"-qqRrf", "rem.te"}, {"-qqRrff", "rem.te"},
	{"-qqS", "a@"}, {"-qqSf", "a@"}, {"-qqSff", "a@"}, {"-qqSrff", "^a@"},
	{"-qqRremote.example"}, {"-qqRfd"}, {"-qqSx"},
	{"-qqR", "remote.example", "-qq"}, {"-qqR", "remote.example", "-qf"},
	{"-qi", "-qqR", "remote.example"}, {"-qqR", "nothing", "-R", "remote.example"},
	{"-qqS", "a@", "-R", "remote.example"}, {"-qR", "remote.example", "-qq"},
	{"-qq", "-qqR", "remote.example"},
}

// TestTwoStageSelectionDifferential queues a message whose delivery
// defers and runs the queue with each accepted -qq command line, then
// compares exit code, stderr and the main log of Exim and exigo.
func TestTwoStageSelectionDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	uid, gid := oracletest.EximUser(t)
	for _, args := range twoStageSelections {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			var res [2]oracletest.Result
			var logs [2]string
			for i, bin := range []string{exim, exigo} {
				flow := func(bin, conf string) {
					oracletest.Run(t, bin, "Subject: x\n\nbody\n", "-C", conf, "-odq", "-f", "a@b.example", "u@remote.example")
					res[i] = oracletest.Run(t, bin, "", append([]string{"-C", conf}, args...)...)
				}
				logs[i] = strings.Join(runQueueFlow(t, bin, "", uid, gid, flow), "\n")
			}
			if logs[0] != logs[1] {
				t.Errorf("main logs differ\n--- exim\n%s\n--- exigo\n%s", logs[0], logs[1])
			}
			if res[0].Code != res[1].Code || res[0].Stderr != res[1].Stderr {
				t.Errorf("exim %d %q, exigo %d %q", res[0].Code, res[0].Stderr, res[1].Code, res[1].Stderr)
			}
		})
	}
}
