package lookup

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// dirHandle serves dsearch: the "file" is a directory searched for an entry
// named by the key with lstat (spec 9.3, dsearch).
type dirHandle struct{ dir string }

func openDir(dir string) (handle, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, openFailed(dir, "for directory search", err)
	}
	if !fi.IsDir() {
		return nil, openFailed(dir, "for directory search", syscall.ENOTDIR)
	}
	return dirHandle{dir}, nil
}

func (dirHandle) close() {}

// find applies the options ret=full (the whole path is returned) and
// filter=file|dir|subdir ("subdir" does not match "." and ".."); unknown
// option values are ignored, as in Exim 4.96.
func (h dirHandle) find(_ *Registry, st *typeSpec, key string, _ Expander, _ int) (string, bool, error) {
	if strings.Contains(key, "/") {
		return "", false, &DeferError{Key: key, Msg: fmt.Sprintf("key for dsearch lookup contains a slash: %s", key)}
	}
	path := filepath.Join(h.dir, key)
	if key == "." || key == ".." {
		path = h.dir + "/" + key
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return "", false, nil
	}
	switch st.opts["filter"] {
	case "file":
		if !fi.Mode().IsRegular() {
			return "", false, nil
		}
	case "dir":
		if !fi.IsDir() {
			return "", false, nil
		}
	case "subdir":
		if !fi.IsDir() || key == "." || key == ".." {
			return "", false, nil
		}
	}
	if st.opts["ret"] == "full" {
		return h.dir + "/" + key, true, nil
	}
	return key, true, nil
}
