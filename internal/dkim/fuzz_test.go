package dkim

import (
	"bufio"
	"context"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/message"
)

// FuzzParseTags checks that the tag-list parser never panics and that the
// offsets it reports point at the values.
func FuzzParseTags(f *testing.F) {
	for _, s := range []string{
		"v=1; a=rsa-sha256; q=dns/txt; c=relaxed/relaxed; d=example.org\n\t; s=sel; h=From:To; bh=abc=; b=de\n\tf=;",
		"v=DKIM1; k=ed25519; p=", "a=b;;c=d;", "=x", "a", "a=1; a=2", " x = y ; ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tags, err := ParseTags(s)
		if err != nil {
			return
		}
		for _, tg := range tags {
			if s[tg.Start:tg.End] != tg.Value {
				t.Fatalf("offsets of %q do not give its value in %q", tg.Name, s)
			}
		}
	})
}

// FuzzVerify feeds arbitrary signature fields to Verify (the key lookup
// answers with a fixed record).
func FuzzVerify(f *testing.F) {
	f.Add("v=1; a=rsa-sha256; d=example.org; s=x; h=From; bh=AAAA; b=AAAA; l=3", "v=DKIM1; p=AAAA")
	f.Add("v=1; a=ed25519-sha256; c=relaxed; d=e; s=s; h=from:from; bh=; b=", "k=ed25519; p=AAAA")
	f.Fuzz(func(t *testing.T, sig, rec string) {
		msg := "DKIM-Signature: " + sig + "\nFrom: a@example.org\n\nbody\n"
		hs, _, err := message.ReadHeaders(bufio.NewReader(strings.NewReader(msg)))
		if err != nil {
			return
		}
		lookup := func(context.Context, string) ([]string, error) { return []string{rec}, nil }
		for _, r := range Verify(context.Background(), hs, strings.NewReader("body\n"), lookup, VerifyOptions{}) {
			_ = r.LogLine()
		}
	})
}
