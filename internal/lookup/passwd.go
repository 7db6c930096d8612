package lookup

import (
	"fmt"
	"os"
	"strings"

	"github.com/exigo-mta/exigo/internal/strerror"
)

// passwd looks a user name up in the password file and returns the entry
// as a traditional /etc/passwd line from the password field on, with "*"
// for the password: "*:0:0:root:/root:/bin/bash" (spec 9.4, passwd).
// exigo reads Options.PasswdFile directly instead of calling getpwnam(),
// so users known only through NSS modules (LDAP, sssd) are not found.
func (r *Registry) passwd(user string) (string, bool, error) {
	if user == "" || strings.ContainsAny(user, ":\n") {
		return "", false, nil
	}
	data, err := os.ReadFile(r.opts.PasswdFile)
	if err != nil {
		return "", false, &DeferError{Msg: fmt.Sprintf("failed to read %s: %s", r.opts.PasswdFile, strerror.Text(err))}
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 7 || f[0] != user {
			continue
		}
		return "*:" + strings.Join(f[2:7], ":"), true, nil
	}
	return "", false, nil
}
