package expand

import "strings"

// Traditional DES crypt(3): the key is the first eight characters (seven
// bits each), the two salt characters swap pairs of bits of the DES
// expansion, and a zero block is encrypted 25 times. The tables are those
// of the DES standard (FIPS 46-3), with bits numbered from 1.

var desIP = [64]byte{
	58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
	62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
	57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
	61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
}

var desE = [48]byte{
	32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13,
	12, 13, 14, 15, 16, 17, 16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25,
	24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1,
}

var desP = [32]byte{
	16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
	2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
}

var desPC1 = [56]byte{
	57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
	10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
	63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
	14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
}

var desPC2 = [48]byte{
	14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10,
	23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
	41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48,
	44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
}

var desShifts = [16]byte{1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1}

var desS = [8][64]byte{
	{14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
		0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
		4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
		15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13},
	{15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
		3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
		0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
		13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9},
	{10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
		13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
		13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
		1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12},
	{7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
		13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
		10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
		3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14},
	{2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
		14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
		4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
		11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3},
	{12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
		10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
		9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
		4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13},
	{4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
		13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
		1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
		6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12},
	{13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
		1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
		7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
		2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11},
}

// desBlock encrypts block (64 bits, bit 1 the most significant) iter times
// with the given expansion table.
func desBlock(key, block uint64, e *[48]byte, iter int) uint64 {
	bit := func(v uint64, n byte, width int) uint64 { return v >> (width - int(n)) & 1 }
	var cd uint64
	for _, n := range desPC1 {
		cd = cd<<1 | bit(key, n, 64)
	}
	c, d := cd>>28, cd&0xfffffff
	var subkeys [16]uint64
	for r := 0; r < 16; r++ {
		for s := byte(0); s < desShifts[r]; s++ {
			c = (c<<1 | c>>27) & 0xfffffff
			d = (d<<1 | d>>27) & 0xfffffff
		}
		cd := c<<28 | d
		var k uint64
		for _, n := range desPC2 {
			k = k<<1 | bit(cd, n, 56)
		}
		subkeys[r] = k
	}
	for ; iter > 0; iter-- {
		var v uint64
		for _, n := range desIP {
			v = v<<1 | bit(block, n, 64)
		}
		l, r := v>>32, v&0xffffffff
		for round := 0; round < 16; round++ {
			var x uint64
			for _, n := range e {
				x = x<<1 | bit(r, n, 32)
			}
			x ^= subkeys[round]
			var s uint64
			for i := 0; i < 8; i++ {
				six := x >> (42 - 6*i) & 0x3f
				row := six>>4&2 | six&1
				col := six >> 1 & 0xf
				s = s<<4 | uint64(desS[i][row*16+col])
			}
			var f uint64
			for _, n := range desP {
				f = f<<1 | bit(s, n, 32)
			}
			l, r = r, l^f
		}
		pre := r<<32 | l
		// The final permutation is the inverse of the initial one.
		var out uint64
		for i, n := range desIP {
			out |= bit(pre, byte(i+1), 64) << (64 - int(n))
		}
		block = out
	}
	return block
}

// desCrypt is traditional crypt(3); setting starts with the two salt
// characters.
func desCrypt(key, setting string) (string, bool) {
	if len(setting) < 2 {
		return "", false
	}
	e := desE
	for j := 0; j < 2; j++ {
		v := strings.IndexByte(cryptAlphabet, setting[j])
		if v < 0 {
			return "", false
		}
		for k := 0; k < 6; k++ {
			if v>>k&1 != 0 {
				i := 6*j + k
				e[i], e[i+24] = e[i+24], e[i]
			}
		}
	}
	var k uint64
	for i := 0; i < 8; i++ {
		var c byte
		if i < len(key) {
			c = key[i]
		}
		k = k<<8 | uint64(c<<1)
	}
	v := desBlock(k, 0, &e, 25)
	out := []byte(setting[:2])
	for i := 0; i < 10; i++ {
		out = append(out, cryptAlphabet[v>>(58-6*i)&0x3f])
	}
	out = append(out, cryptAlphabet[v<<2&0x3f])
	return string(out), true
}
