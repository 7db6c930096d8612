package expand

import (
	"strings"
	"sync"
	"testing"
)

// TestCache checks that cached and uncached expansion agree, that a
// template is parsed once, that errors are not kept and that the bound
// holds.
func TestCache(t *testing.T) {
	c := NewCache(3)
	ctx := &Context{Vars: VarMap{"local_part": "joe", "domain": "example.com"}, Templates: c}
	for _, tc := range []struct{ in, want, err string }{
		{"plain", "plain", ""},
		{"$local_part@$domain", "joe@example.com", ""},
		{"${uc:$local_part}", "JOE", ""},
		{"${if eq{$domain}{example.com}{yes}{no}}", "yes", ""},
		{"${uc:x", "", "missing"},
		{"$nosuchvar", "", "unknown variable name"},
	} {
		for range 2 {
			got, err := String(tc.in, ctx)
			want, werr := String(tc.in, &Context{Vars: ctx.Vars})
			if got != want || (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
				t.Errorf("%q: cached %q %v, uncached %q %v", tc.in, got, err, want, werr)
			}
			if tc.err == "" && (err != nil || got != tc.want) {
				t.Errorf("%q: got %q %v, want %q", tc.in, got, err, tc.want)
			}
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
		}
		if c.Len() > 3 {
			t.Fatalf("cache holds %d, bound 3", c.Len())
		}
	}
	a, _ := c.Parse("${lc:A}")
	b, _ := c.Parse("${lc:A}")
	if a != b {
		t.Errorf("template parsed twice")
	}
	var nilc *Cache
	if s, err := String("x", &Context{Templates: nilc}); s != "x" || err != nil {
		t.Errorf("nil cache: %q %v", s, err)
	}
}

// TestCacheConcurrent expands through one cache from many goroutines
// (run with -race).
func TestCacheConcurrent(t *testing.T) {
	c := NewCache(8)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := &Context{Vars: VarMap{"domain": "d.example"}, Templates: c}
			for i := range 200 {
				s := "${length_" + string(rune('1'+(g+i)%9)) + ":$domain}"
				if _, err := String(s, ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkStringCached compares expanding an option-like string with
// and without a template cache.
func BenchmarkStringCached(b *testing.B) {
	s := "${if and{{!eq{$sender_host_address}{}}{match_domain{$domain}{+local_domains}}}{yes}{no}}"
	vars := VarMap{"sender_host_address": "192.0.2.1", "domain": "example.com"}
	for _, cached := range []bool{false, true} {
		name := "uncached"
		ctx := &Context{Vars: vars}
		if cached {
			name, ctx.Templates = "cached", NewCache(0)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				String(s, ctx)
			}
		})
	}
}
