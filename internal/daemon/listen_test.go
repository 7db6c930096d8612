package daemon

import (
	"fmt"
	"strings"
	"testing"
)

func TestPlanDescribe(t *testing.T) {
	tests := []struct {
		interfaces, ports, oX, tls string
		want                       string
	}{
		{"", "smtp", "2525", "", "port 2525 (IPv6 and IPv4)"},
		{"", "smtp", "2598:2597", "", "port 2598 (IPv6 and IPv4) port 2597 (IPv6 and IPv4)"},
		{"<; 127.0.0.1 ; ::1.2596", "smtp", "2598:2597", "", "[127.0.0.1]:{2598,2597} [::1]:2596"},
		{"", "smtp", "<; 127.0.0.1.2595;[::1]:2594", "", "[127.0.0.1]:2595 [::1]:2594"},
		{"127.0.0.1", "25 : 465", "", "465", "[127.0.0.1]:25 and for SMTPS on [127.0.0.1]:465"},
		{"<; 127.0.0.1 ; ::1", "1 : 2 : 3 : 4", "", "3 : 4", "[127.0.0.1]:{1,2} [::1]:{1,2} and for SMTPS on [127.0.0.1]:{3,4} [::1]:{3,4}"},
		{"", "1 : 2 : 3", "", "3", "port 1 (IPv6 and IPv4) port 2 (IPv6 and IPv4) and for SMTPS on port 3 (IPv6 and IPv4)"},
	}
	for _, tt := range tests {
		ls, err := Plan(tt.interfaces, tt.ports, tt.oX, tt.tls, false)
		if err != nil {
			t.Errorf("Plan(%q, %q, %q): %v", tt.interfaces, tt.ports, tt.oX, err)
			continue
		}
		if got := Describe(ls); got != tt.want {
			t.Errorf("Describe(Plan(%q, %q, %q)) = %q, want %q", tt.interfaces, tt.ports, tt.oX, got, tt.want)
		}
		for _, l := range ls {
			if l.TLSOnConnect != strings.Contains(" : "+tt.tls+" : ", " : "+fmt.Sprint(l.Port)+" : ") {
				t.Errorf("%v: TLSOnConnect = %v", l, l.TLSOnConnect)
			}
		}
	}
	if _, err := Plan("bogus.x.y", "25", "", "", false); err == nil {
		t.Error("bad interface accepted")
	}
}
