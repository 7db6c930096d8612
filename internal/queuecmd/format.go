package queuecmd

import (
	"strconv"
	"time"
)

// FormatAge renders a message's time on the queue as the first column of
// -bp shows it: whole minutes up to 90 minutes, then hours (rounded) up to
// 72 hours, then days (rounded), right-aligned in two digits plus the
// unit. The thresholds were found by running Exim 4.96; the spec
// (chapter "The Exim command line", -bp) shows only "25m".
func FormatAge(age time.Duration) string {
	return string(appendAge(nil, int64(age/time.Second)))
}

// appendAge appends the age column for an age in whole seconds.
func appendAge(b []byte, sec int64) []byte {
	// Exim works in whole seconds and C integer division (toward zero).
	m := sec / 60
	unit := byte('m')
	v := m
	if m > 90 {
		v, unit = (m+30)/60, 'h'
		if v > 72 {
			v, unit = (v+12)/24, 'd'
		}
	}
	if v >= 0 && v < 10 {
		b = append(b, ' ')
	}
	b = strconv.AppendInt(b, v, 10)
	return append(b, unit)
}

// FormatSize renders a message size as the -bp size column does, five
// characters wide: bytes below 1K, one decimal of K below 10K, whole K
// (rounded) below 1M, one decimal of M below 10M, then whole M. Exim
// computes the size in a 32-bit int, so sizes of 2 GiB and more wrap;
// that is reproduced. A size that could not be found (no -D file) is
// five spaces.
func FormatSize(size int64, known bool) string {
	return string(appendSize(nil, size, known))
}

// appendSize appends the size column (see FormatSize).
func appendSize(b []byte, size int64, known bool) []byte {
	if !known {
		return append(b, "     "...)
	}
	v := int64(int32(uint32(size)))
	const k, m = 1024, 1024 * 1024
	var buf [24]byte
	s := buf[:0]
	switch {
	case v < k:
		s = strconv.AppendInt(s, v, 10)
	case v < 10*k:
		s = strconv.AppendFloat(s, float64(v)/k, 'f', 1, 64)
		s = append(s, 'K')
	case v < m:
		s = strconv.AppendInt(s, (v+k/2)/k, 10)
		s = append(s, 'K')
	case v < 10*m:
		s = strconv.AppendFloat(s, float64(v)/m, 'f', 1, 64)
		s = append(s, 'M')
	default:
		s = strconv.AppendInt(s, (v+m/2)/m, 10)
		s = append(s, 'M')
	}
	for i := len(s); i < 5; i++ {
		b = append(b, ' ')
	}
	return append(b, s...)
}
