package expand

import (
	"crypto/rand"
	"math/big"
	"strconv"
	"strings"
)

// numberOperators are the arithmetic and time operators.
// Spec: "Expansion operators".
var numberOperators = map[string]opFunc{
	"eval":          func(_ *state, s string, _ []int) (string, error) { return evalArith(s, false) },
	"eval10":        func(_ *state, s string, _ []int) (string, error) { return evalArith(s, true) },
	"time_eval":     func(_ *state, s string, _ []int) (string, error) { return timeEval(s) },
	"time_interval": func(_ *state, s string, _ []int) (string, error) { return timeInterval(s) },
	"randint":       func(_ *state, s string, _ []int) (string, error) { return randInt(s) },
}

// timeEval is ${time_eval:...}: an Exim time interval such as 2d4h5m
// (every number needs a unit of w, d, h, m or s) in seconds. Arithmetic
// wraps at 32 bits; a negative total is refused, as in Exim.
func timeEval(s string) (string, error) {
	bad := errorf("string \"%s\" is not an Exim time interval in \"time_eval\" operator", s)
	if s == "" {
		return "", bad
	}
	var total int32
	for i := 0; i < len(s); {
		start := i
		var n uint32
		for i < len(s) && isDigit(s[i]) {
			n = n*10 + uint32(s[i]-'0')
			i++
		}
		if i == start || i >= len(s) {
			return "", bad
		}
		var mult int32
		switch s[i] {
		case 'w':
			mult = 7 * 24 * 3600
		case 'd':
			mult = 24 * 3600
		case 'h':
			mult = 3600
		case 'm':
			mult = 60
		case 's':
			mult = 1
		default:
			return "", bad
		}
		i++
		total += int32(n) * mult
	}
	if total < 0 {
		return "", bad
	}
	return strconv.Itoa(int(total)), nil
}

// timeInterval is ${time_interval:...}: seconds printed as Exim prints
// times (1w2d3h4m5s). The number wraps at 32 bits as in Exim.
func timeInterval(s string) (string, error) {
	var v uint32
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return "", errorf("string \"%s\" is not a positive number in \"time_interval\" operator", s)
		}
		v = v*10 + uint32(s[i]-'0')
	}
	return formatTime(int32(v)), nil
}

// formatTime prints a time in seconds in Exim's w/d/h/m/s form ("0s" for
// zero, "-" before negative values).
func formatTime(t int32) string {
	if t == -1<<31 {
		// What Exim prints for the one value whose negation overflows.
		return "-5d3h14m8s"
	}
	var b strings.Builder
	if t < 0 {
		b.WriteByte('-')
		t = -t
	}
	if t == 0 {
		return "0s"
	}
	units := []struct {
		n int32
		c byte
	}{{604800, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}}
	for _, u := range units {
		if q := t / u.n; q > 0 {
			b.WriteString(strconv.Itoa(int(q)))
			b.WriteByte(u.c)
			t -= q * u.n
		}
	}
	return b.String()
}

// randInt is ${randint:n}: a random number from 0 to n-1 (0 when n is 0
// or 1).
func randInt(s string) (string, error) {
	n, err := parseExpandInt(s)
	if err != nil {
		return "", err
	}
	if n < 0 {
		return "", errorf("non-negative integer expected but \"%s\" found", s)
	}
	if n <= 1 {
		return "0", nil
	}
	r, rerr := rand.Int(rand.Reader, big.NewInt(n))
	if rerr != nil {
		return "", errorf("randint: %v", rerr)
	}
	return r.String(), nil
}

// parseExpandInt reads an integer the way Exim reads numeric expansion
// arguments: decimal with optional sign and K/M/G, with Exim's texts.
func parseExpandInt(s string) (int64, error) {
	t := strings.TrimLeft(s, " \t\n\r\f\v")
	i := 0
	if i < len(t) && (t[i] == '-' || t[i] == '+') {
		i++
	}
	start := i
	for i < len(t) && isDigit(t[i]) {
		i++
	}
	if i == start {
		return 0, errorf("integer expected but \"%s\" found", s)
	}
	v, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, errorf("absolute value of integer \"%s\" is too large (overflow)", s)
	}
	rest := t[i:]
	if rest != "" {
		switch rest[0] {
		case 'k', 'K':
			v *= 1024
			rest = rest[1:]
		case 'm', 'M':
			v *= 1024 * 1024
			rest = rest[1:]
		case 'g', 'G':
			v *= 1024 * 1024 * 1024
			rest = rest[1:]
		}
	}
	if strings.TrimLeft(rest, " \t\n\r\f\v") != "" {
		return 0, errorf("invalid integer \"%s\"", s)
	}
	return v, nil
}
