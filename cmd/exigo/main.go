// Command exigo is a mail transfer agent that replaces Exim 4 in place: it
// reads Exim's configuration, answers to Exim's command line and writes
// Exim's logs. The program's behaviour depends on the name it is called by
// (exim, sendmail, mailq, ...); see internal/cli.
package main

import (
	"os"

	"github.com/exigo-mta/exigo/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
