package router

import (
	"testing"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
)

// fakeMessage offers one header to expansions.
type fakeMessage map[string]string

func (m fakeMessage) Header(name string, _ expand.HeaderMode) (string, bool) {
	v, ok := m[name]
	return v, ok
}
func (m fakeMessage) Headers(bool) string { return "" }

// TestRedirectFilter runs filter files in the redirect router with the
// message's headers.
func TestRedirectFilter(t *testing.T) {
	conf := `primary_hostname = test.example
begin routers
r1:
  driver = redirect
  allow_filter
  user = root
  data = ${if eq{$local_part}{a}{# Exim filter\nif \$h_subject: contains spam then save /var/spam else deliver b@x.y endif}\
         {${if eq{$local_part}{c}{# Exim filter\nunseen deliver d@x.y}{# Exim filter\nif}}}}
  file_transport = t
r2:
  driver = accept
  transport = t
begin transports
t:
  driver = appendfile
  file = /dev/null
`
	cfg, err := config.LoadBytes("t.conf", []byte(conf), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr, subject string
		status        Status
		child         string
		unseen        bool
	}{
		{"a@test.example", "buy spam now", Redirect, "/var/spam", false},
		{"a@test.example", "hello", Redirect, "b@x.y", false},
		{"c@test.example", "hello", Redirect, "d@x.y", true},
		{"e@test.example", "hello", Defer, "", false},
	}
	for _, tc := range tests {
		s, err := New(cfg, &Env{Message: fakeMessage{"subject": tc.subject}})
		if err != nil {
			t.Fatal(err)
		}
		res := s.Route(NewAddress(tc.addr), Mode{AddressTest: true})
		child := ""
		if len(res.Children) > 0 {
			child = res.Children[0].Address
		}
		if res.Status != tc.status || child != tc.child || (res.Unseen != nil) != tc.unseen {
			t.Errorf("%s %q: status %v child %q unseen %v (%s), want %v %q %v",
				tc.addr, tc.subject, res.Status, child, res.Unseen != nil, res.Message, tc.status, tc.child, tc.unseen)
		}
	}
}
