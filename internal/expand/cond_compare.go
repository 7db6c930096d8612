package expand

import (
	"math"
	"strings"
)

// compareConditions are the numeric comparisons (< <= = == > >=) and the
// string comparisons (eq, eqi, ge, gei, gt, gti, le, lei, lt, lti).
// Spec: chapter "String expansions", section "Expansion conditions".
var compareConditions = map[string]condDef{
	"=":  numericCompare(func(a, b int64) bool { return a == b }),
	"==": numericCompare(func(a, b int64) bool { return a == b }),
	">":  numericCompare(func(a, b int64) bool { return a > b }),
	">=": numericCompare(func(a, b int64) bool { return a >= b }),
	"<":  numericCompare(func(a, b int64) bool { return a < b }),
	"<=": numericCompare(func(a, b int64) bool { return a <= b }),

	"eq":  stringCompare(false, func(c int) bool { return c == 0 }),
	"eqi": stringCompare(true, func(c int) bool { return c == 0 }),
	"ge":  stringCompare(false, func(c int) bool { return c >= 0 }),
	"gei": stringCompare(true, func(c int) bool { return c >= 0 }),
	"gt":  stringCompare(false, func(c int) bool { return c > 0 }),
	"gti": stringCompare(true, func(c int) bool { return c > 0 }),
	"le":  stringCompare(false, func(c int) bool { return c <= 0 }),
	"lei": stringCompare(true, func(c int) bool { return c <= 0 }),
	"lt":  stringCompare(false, func(c int) bool { return c < 0 }),
	"lti": stringCompare(true, func(c int) bool { return c < 0 }),
}

// stringCompare makes a condition comparing two strings byte by byte (the
// C locale); caseless comparisons fold ASCII letters to lower case.
func stringCompare(caseless bool, ok func(int) bool) condDef {
	return stringArgs(2, func(_ *state, a []string) (bool, error) {
		if caseless {
			return ok(strings.Compare(asciiLower(a[0]), asciiLower(a[1]))), nil
		}
		return ok(strings.Compare(a[0], a[1])), nil
	})
}

// numericCompare makes a numeric comparison. Exim expands and checks the
// first number before it expands the second.
func numericCompare(cmp func(a, b int64) bool) condDef {
	return func(p *parser, name string) (condition, error) {
		c, err := stringArgs(2, nil)(p, name)
		if err != nil {
			return nil, err
		}
		args := c.(*argCond).args
		return condFunc(func(st *state) (bool, error) {
			var nums [2]int64
			for i, a := range args {
				s, err := st.str(a)
				if err != nil {
					return false, err
				}
				if nums[i], err = conditionNumber(s); err != nil {
					return false, err
				}
			}
			return cmp(nums[0], nums[1]), nil
		}), nil
	}
}

// condFunc is a condition given by a function.
type condFunc func(st *state) (bool, error)

func (f condFunc) test(st *state) (bool, error) { return f(st) }

// conditionNumber reads the number of a numeric condition: optional white
// space, an optional sign, decimal digits, an optional K, M or G (times
// 1024, 1024*1024, 1024*1024*1024) and optional white space. The empty
// string (or only white space) is zero. Spec: "Expansion conditions",
// symbolic operators.
func conditionNumber(s string) (int64, error) {
	t := strings.TrimLeft(s, " \t\n\r\f\v")
	if t == "" {
		return 0, nil
	}
	i := 0
	neg := false
	if t[0] == '-' || t[0] == '+' {
		neg = t[0] == '-'
		i++
	}
	start := i
	for i < len(t) && isDigit(t[i]) {
		i++
	}
	if i == start {
		return 0, errorf("integer expected but \"%s\" found", t)
	}
	// Accumulate as a negative number so that the most negative value
	// fits.
	var v int64
	overflow := false
	for _, c := range t[start:i] {
		d := int64(c - '0')
		if v < (math.MinInt64+d)/10 {
			overflow = true
			break
		}
		v = v*10 - d
	}
	if !neg {
		if v == math.MinInt64 {
			overflow = true
		}
		v = -v
	}
	if overflow {
		return 0, errorf("absolute value of integer \"%s\" is too large (overflow)", t)
	}
	if i < len(t) {
		var mult int64
		switch t[i] {
		case 'k', 'K':
			mult = 1024
		case 'm', 'M':
			mult = 1024 * 1024
		case 'g', 'G':
			mult = 1024 * 1024 * 1024
		}
		if mult != 0 {
			if v > math.MaxInt64/mult || v < math.MinInt64/mult {
				return 0, errorf("absolute value of integer \"%s\" is too large (overflow)", t)
			}
			v *= mult
			i++
		}
	}
	if strings.TrimLeft(t[i:], " \t\n\r\f\v") != "" {
		return 0, errorf("invalid integer \"%s\"", t)
	}
	return v, nil
}
