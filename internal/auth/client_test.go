package auth

import "testing"

// TestCRAMResponse is the example of RFC 2195.
func TestCRAMResponse(t *testing.T) {
	got := CRAMResponse("tim", "tanstaaftanstaaf", "<1896.697170952@postoffice.reston.mci.net>")
	if got != "tim b913a602c7eda7a495b4e6e7334d3890" {
		t.Errorf("got %q", got)
	}
}

func TestCaretNUL(t *testing.T) {
	for in, want := range map[string]string{"^u^p": "\x00u\x00p", "a^^b": "a^b", "plain": "plain"} {
		if got := caretNUL(in); got != want {
			t.Errorf("%q: got %q", in, got)
		}
	}
}
