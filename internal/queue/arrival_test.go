package queue

import (
	"testing"

	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/message"
)

func TestArrivalLine(t *testing.T) {
	def := mainlog.DefaultSelector
	tests := []struct {
		a    Arrival
		sel  mainlog.Selector
		want string
	}{
		{Arrival{ID: "1xWrqV-0006Rl-0J", Sender: "a@b.example", HeloName: "vm", HostAddress: "127.0.0.1", Protocol: "esmtp", Size: 434, MessageID: "m@x"}, def,
			"1xWrqV-0006Rl-0J <= a@b.example H=(vm) [127.0.0.1] P=esmtp S=434 id=m@x"},
		{Arrival{ID: "1xWrqL-0006LV-1n", Ident: "root", Local: true, Protocol: "local-smtp", Size: 248, MessageID: "E1@x", MessageIDCreated: true}, def,
			"1xWrqL-0006LV-1n <= <> U=root P=local-smtp S=248"},
		{Arrival{ID: "1xWrqL-0006LV-1n", Sender: "s@x", HostAddress: "10.0.0.1", HostPort: 4000, HeloName: "h", InterfaceAddress: "10.0.0.2", InterfacePort: 25,
			Protocol: "esmtpsa", TLSCipher: "TLS1.3:TLS_AES_256_GCM_SHA384:256", AuthName: "plain", AuthID: "u", Size: 9, Recipients: []string{"r@x", "q@x"},
			Headers: message.Headers{{Name: "Subject", Text: "Subject: hello\n"}}},
			def | mainlog.SelIncomingPort | mainlog.SelIncomingInterface | mainlog.SelSubject | mainlog.SelReceivedRecipients,
			`1xWrqL-0006LV-1n <= s@x H=(h) [10.0.0.1]:4000 I=[10.0.0.2]:25 P=esmtpsa X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no A=plain:u S=9 T="hello" for r@x q@x`},
	}
	for _, tt := range tests {
		if got := ArrivalLine(&tt.a, tt.sel); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}
