package deliver

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMarkDelivered(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "input")
	id := "1xWw8V-0002dq-0E"
	if err := MarkDelivered(dir, id, []string{"c@dest.example", "b@dest.example"}); err != nil {
		t.Fatal(err)
	}
	if err := MarkDelivered(dir, id, []string{"d@dest.example"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, id+"-J"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "c@dest.example\nb@dest.example\nd@dest.example\n"; string(b) != want {
		t.Errorf("journal %q, want %q", b, want)
	}
}
