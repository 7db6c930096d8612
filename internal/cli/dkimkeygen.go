package cli

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/exigo-mta/exigo/internal/dkim"
)

// DKIMKeygenName is the program name (argv[0]) of the DKIM key generator;
// `exigo --dkim-keygen` runs it too. See DESIGN.md, "Names outside Exim's
// grammar".
const DKIMKeygenName = "exigo-dkim-keygen"

// runDKIMKeygen makes a DKIM key pair: it writes the private key (PEM,
// mode 0600) and prints the DNS record to publish.
func runDKIMKeygen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(DKIMKeygenName, flag.ContinueOnError)
	fs.SetOutput(stderr)
	typ := fs.String("type", "rsa", "key type: rsa or ed25519")
	bits := fs.Int("bits", 2048, "RSA key size in bits")
	selector := fs.String("selector", "", "DKIM selector (required)")
	domain := fs.String("domain", "", "signing domain (required)")
	out := fs.String("out", "", "private key file (default SELECTOR.private); '-' writes it to standard output")
	record := fs.String("record", "", "also write the DNS record line to this file")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s -selector SEL -domain DOMAIN [-type rsa|ed25519] [-bits N] [-out FILE] [-record FILE]\n", DKIMKeygenName)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *selector == "" || *domain == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	key, err := dkim.GenerateKey(*typ, *bits)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", DKIMKeygenName, err)
		return 1
	}
	pemText, err := dkim.MarshalPrivateKey(key)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", DKIMKeygenName, err)
		return 1
	}
	rec, err := dkim.Record(key.Public())
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", DKIMKeygenName, err)
		return 1
	}
	line := dkim.ZoneLine(*selector, *domain, rec) + "\n"
	path := *out
	if path == "" {
		path = *selector + ".private"
	}
	if path == "-" {
		stdout.Write(pemText)
	} else if err := writeNew(path, pemText, 0o600); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", DKIMKeygenName, err)
		return 1
	}
	if *record != "" {
		if err := writeNew(*record, []byte(line), 0o644); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", DKIMKeygenName, err)
			return 1
		}
	}
	io.WriteString(stdout, line)
	return 0
}

// writeNew writes a file that must not exist yet (a key is never
// overwritten by mistake).
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
