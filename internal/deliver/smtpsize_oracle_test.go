package deliver_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
	"github.com/exigo-mta/exigo/internal/transport/smtptest"
)

// smtpSizeConf sends everything to a test server with log_selector
// +delivery_size.
const smtpSizeConf = `primary_hostname = test.example
qualify_domain = test.example
spool_directory = DIR/spool
log_file_path = DIR/log/%slog
keep_environment =
log_selector = +delivery_size
begin routers
r:
  driver = manualroute
  route_list = * 127.0.0.1
  self = send
  transport = t
begin transports
t:
  driver = smtp
  port = PORT
  allow_localhost
  hosts_try_fastopen = :
`

// TestSMTPDeliverySizeDifferential compares the S= of "=>" lines of
// smtp deliveries (the bytes sent: CRLF line ends, doubled dots, the
// final dot line with DATA; the chunk with BDAT, logged K) and the SIZE=
// offered with MAIL, for messages of several shapes.
func TestSMTPDeliverySizeDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	bodies := []string{"Subject: s\n\n.a\nline\n..b\n", "Subject: s\n", "Subject: s\nX-A: a\n b\n\n\n\n", "Subject: s\n\nno newline"}
	for _, chunking := range []bool{false, true} {
		t.Run("chunking="+strconv.FormatBool(chunking), func(t *testing.T) {
			run := func(bin string) string {
				srv := &smtptest.Server{Size: true, Chunking: chunking}
				if err := srv.Start(); err != nil {
					t.Fatal(err)
				}
				defer srv.Close()
				dir, err := os.MkdirTemp("", "exigo-size-")
				if err != nil {
					t.Fatal(err)
				}
				defer os.RemoveAll(dir)
				os.Chmod(dir, 0o755)
				for _, d := range []string{"spool", "log"} {
					os.Mkdir(filepath.Join(dir, d), 0o777)
					os.Chmod(filepath.Join(dir, d), 0o777)
				}
				conf := strings.ReplaceAll(smtpSizeConf, "DIR", dir)
				conf = strings.ReplaceAll(conf, "PORT", strconv.Itoa(srv.Port()))
				cf := filepath.Join(dir, "conf")
				os.WriteFile(cf, []byte(conf), 0o644)
				for _, b := range bodies {
					oracletest.Run(t, bin, b, "-C", cf, "-odi", "-f", "a@b.example", "x@y.example")
				}
				log, _ := os.ReadFile(filepath.Join(dir, "log", "mainlog"))
				var out []string
				for _, l := range strings.Split(string(log), "\n") {
					if strings.Contains(l, " => ") {
						out = append(out, l[strings.Index(l, " => "):])
					}
				}
				for _, l := range srv.Log() {
					out = append(out, sizeMailRE.FindAllString(l, -1)...)
				}
				return strings.Join(out, "\n")
			}
			if want, got := run(exim), run(exigo); want != got {
				t.Errorf("exim and exigo differ\n--- exim:\n%s\n--- exigo:\n%s", want, got)
			}
		})
	}
}

// sizeMailRE finds the MAIL commands in a test server's transcript.
var sizeMailRE = regexp.MustCompile(`MAIL FROM:<[^>]*> SIZE=\d+`)
