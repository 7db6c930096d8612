// Fuzzing the configuration parser: no input may panic or hang it.
package config

import "testing"

func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"primary_hostname = x\n",
		"FOO = 1\n.ifdef FOO\nauto_thaw = 1h\n.else\n.endif\n",
		"begin acl\na:\n  accept hosts = :\n  !verify = sender\n",
		"begin routers\nr:\n driver = accept\n transport = t\nbegin transports\nt:\n driver = smtp\n",
		"begin retry\n* * F,2h,15m; G,16h,1h,1.5\nbegin rewrite\n*@x y Ff\n",
		"smtp_banner = \"a\\x41\\101\\n\" \\\n  more\n",
		"domainlist d = a : b\nhide mysql_servers = x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := LoadBytes("/nonexistent/fuzz.conf", data, Options{Macros: []Macro{{Name: "D", Value: "d"}}})
		if err == nil {
			_ = c.MainLines()
			for _, d := range c.Routers {
				_ = d.Lines()
			}
		} else {
			_ = err.Error()
		}
	})
}
