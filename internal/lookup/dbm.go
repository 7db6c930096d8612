package lookup

import "os"

// dbm, dbmnz and dbmjz read Berkeley DB files (Exim's build on Debian uses
// Berkeley DB 5.3, spec 9.3 and 4.4). No well-kept pure-Go reader for
// Berkeley DB hash/btree files exists, so exigo opens nothing: a missing
// file gives Exim's own message, an existing one an error that says exigo
// cannot read it. Convert such files to cdb (same keys, no trailing zero).
func openDBM(file string) (handle, error) {
	if _, err := os.Stat(file); err != nil {
		return nil, openFailed(file, "as a db (v4.1+) file", err)
	}
	return nil, &OpenError{Msg: "failed to open " + file + " as a db (v4.1+) file: exigo cannot read Berkeley DB (dbm) files; convert it to a cdb file and use a cdb lookup"}
}
