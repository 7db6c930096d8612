package lookup

import (
	"encoding/binary"
	"os"
)

// cdbHandle reads a D. J. Bernstein constant database (spec 9.3, cdb):
// a 2048-byte header of 256 (position, slots) pairs, records of key length,
// data length, key and data, and hash tables of (hash, position) slots,
// all little-endian 32-bit. Keys are looked up exactly (case matters),
// without a terminating zero.
type cdbHandle struct {
	f    *os.File
	size int64
}

const cdbHeader = 2048

func openCDB(file string) (handle, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, openFailed(file, "for cdb lookup", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, openFailed(file, "for cdb lookup", err)
	}
	if fi.IsDir() {
		f.Close()
		return nil, &OpenError{Msg: "failed to open cannot read header from " + file + " for cdb lookup: Is a directory"}
	}
	if fi.Size() < cdbHeader {
		f.Close()
		return nil, &OpenError{Msg: "failed to open " + file + " too short for cdb lookup: Success"}
	}
	return &cdbHandle{f: f, size: fi.Size()}, nil
}

func (h *cdbHandle) close() { h.f.Close() }

func cdbHash(key string) uint32 {
	h := uint32(5381)
	for i := 0; i < len(key); i++ {
		h = (h<<5 + h) ^ uint32(key[i])
	}
	return h
}

func (h *cdbHandle) u32pair(off int64) (uint32, uint32, bool) {
	var b [8]byte
	if off < 0 || off+8 > h.size {
		return 0, 0, false
	}
	if _, err := h.f.ReadAt(b[:], off); err != nil {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint32(b[:4]), binary.LittleEndian.Uint32(b[4:]), true
}

// find returns the first record with the key. A corrupt file reads as "not
// found" rather than failing.
func (h *cdbHandle) find(_ *Registry, _ *typeSpec, key string, _ Expander, _ int) (string, bool, error) {
	hv := cdbHash(key)
	tpos, tslots, ok := h.u32pair(int64(hv&255) * 8)
	if !ok || tslots == 0 {
		return "", false, nil
	}
	slot := (hv >> 8) % tslots
	for n := uint32(0); n < tslots; n++ {
		sh, rpos, ok := h.u32pair(int64(tpos) + int64(slot)*8)
		if !ok || rpos == 0 {
			return "", false, nil
		}
		if sh == hv {
			klen, dlen, ok := h.u32pair(int64(rpos))
			if ok && int64(klen) == int64(len(key)) && int64(rpos)+8+int64(klen)+int64(dlen) <= h.size {
				buf := make([]byte, int(klen)+int(dlen))
				if _, err := h.f.ReadAt(buf, int64(rpos)+8); err == nil && string(buf[:klen]) == key {
					return string(buf[klen:]), true, nil
				}
			}
		}
		slot++
		if slot == tslots {
			slot = 0
		}
	}
	return "", false, nil
}
