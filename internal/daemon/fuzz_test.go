package daemon

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/exigo-mta/exigo/internal/config"
)

// FuzzRequest feeds the supervisor's two parsers, the request line from
// the daemon (JSON, then CheckRequest) and the framing of the worker
// protocol, with arbitrary bytes: neither may panic, and a frame read
// back is the frame written.
func FuzzRequest(f *testing.F) {
	cfg, err := config.LoadBytes("/fuzz.conf", []byte("never_users = bin\nbegin routers\nr:\n  driver = accept\n  check_local_user\n  transport = t\nfwd:\n  driver = redirect\n  check_local_user\n  file = $home/.forward\ninc:\n  driver = redirect\n  check_local_user\n  data = :include:$home/l, :include:/l/$local_part@$domain\nbegin transports\nt:\n  driver = appendfile\n  file = /tmp/x\n  user = ${local_part}\n"), config.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"id":1,"run":{"message_id":"1xWuK9-00072s-7f","transport":"t","router":"r","uid":1,"gid":1,"addresses":[{"Address":"daemon@x","LocalPart":"daemon"}]}}`))
	f.Add([]byte(`{"id":2,"cancel":true}`))
	f.Add([]byte(`{"id":4,"run":{"message_id":"1xWuK9-00072s-7f","router":"fwd","uid":1,"gid":1,"op":"read","path":"/usr/sbin/.forward","addresses":[{"LocalPart":"daemon","Domain":"x"}]}}`))
	f.Add([]byte(`{"id":5,"run":{"message_id":"1xWuK9-00072s-7f","router":"inc","uid":1,"gid":1,"op":"read","path":"/etc/x","include_data":"y","addresses":[{"LocalPart":"daemon","Domain":"x"}]}}`))
	f.Add([]byte(`{"id":3,"run":{"message_id":"../../x","uid":0}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fr frame
		if json.Unmarshal(b, &fr) == nil && fr.Run != nil {
			CheckRequest(cfg, fr.Run)
		}
		ReadFrame(bytes.NewReader(b))
		var buf bytes.Buffer
		if err := WriteFrame(&buf, b); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFrame(&buf)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("frame round trip: %q, %v", got, err)
		}
	})
}
