package queuecmd

import (
	"os"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/spool"
)

// FuzzScanHeader feeds arbitrary -H files to the listing's scanner and
// to the tree insertion used by -Mmd.
func FuzzScanHeader(f *testing.F) {
	f.Add([]byte("1xWrpf-0004bL-14-H\nroot 0 0\n<a@b>\n1795770087 0\n-frozen 1\n-aclc x 3\nabc\nYN b@c\nNN a@c\n2\na@c\nd@e x 1,2#1\n\n012  Subject: x\n"))
	if b, err := os.ReadFile("testdata/mkspool.sh"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newReader()
		if scanHeader(b, &r.s) != nil {
			return
		}
		_ = r.appendRecipients(nil, ListOptions{Generated: true})
		h, err := spool.Parse(b)
		if err == nil {
			addDelivered(h.NonRecipients, []string{"x@y", "a@b", "m@n"})
		}
	})
}

func TestFormatAgeAndSize(t *testing.T) {
	ages := map[int64]string{0: " 0m", 59: " 0m", 60: " 1m", 5459: "90m", 5460: " 2h", 260999: "72h", 261000: " 3d", 301000: " 4d", 8640000: "100d", -100: "-1m"}
	for sec, want := range ages {
		if got := FormatAge(time.Duration(sec) * time.Second); got != want {
			t.Errorf("FormatAge(%d) = %q, want %q", sec, got, want)
		}
	}
	sizes := map[int64]string{1023: " 1023", 1024: " 1.0K", 1076: " 1.1K", 10189: "10.0K", 10240: "  10K", 10752: "  11K", 1048575: "1024K", 1048576: " 1.0M", 1101005: " 1.1M", 10485760: "  10M", 11010048: "  11M", 10737418240: "-2147483648"}
	for n, want := range sizes {
		if got := FormatSize(n, true); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
