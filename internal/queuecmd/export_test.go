package queuecmd

// ListedFromCache returns how many directories of the spool a listing
// would now take from the listing cache, and how many it would read.
func ListedFromCache(spoolDir string) (cached, read int) {
	c := openCache(spoolDir, true)
	dirs, _, _, err := scanDirsCache(spoolDir, false, c)
	if err != nil {
		return 0, 0
	}
	defer dirs.close()
	for _, s := range dirs.state {
		if s.from != nil {
			cached++
		} else {
			read++
		}
	}
	return cached, read
}

// CacheFile is the name of the listing cache under SPOOL/db.
const CacheFile = cacheName
