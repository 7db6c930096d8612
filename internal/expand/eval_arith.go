package expand

import (
	"math"
	"strconv"
)

// maxArithDepth caps parenthesis and unary-operator nesting in ${eval:...}.
const maxArithDepth = 500

// arithError is a failure of ${eval:...} at a position of its input.
type arithError struct {
	msg string
	pos int
}

// arith parses and evaluates the integer expressions of ${eval:...} and
// ${eval10:...}: C's operator priorities, 64-bit arithmetic, decimal,
// octal and hex numbers (only decimal for eval10) with K, M and G
// multipliers. Spec: "Expansion operators", eval.
type arith struct {
	s       string
	pos     int
	decimal bool
	depth   int
}

// evalArith evaluates s, giving Exim's error text on failure.
func evalArith(s string, decimal bool) (string, error) {
	a := &arith{s: s, decimal: decimal}
	v, e := a.expr()
	if e == nil && a.pos < len(a.s) {
		e = &arithError{"expecting operator", a.pos}
	}
	if e != nil {
		return "", errorf("error in expression evaluation: %s (after processing \"%s\")", e.msg, s[:e.pos])
	}
	return strconv.FormatInt(v, 10), nil
}

func (a *arith) skip() {
	for a.pos < len(a.s) && isSpace(a.s[a.pos]) {
		a.pos++
	}
}

// binary levels, lowest priority first.
var arithLevels = [][]string{
	{"|"}, {"^"}, {"&"}, {"<<", ">>"}, {"+", "-"}, {"*", "/", "%"},
}

func (a *arith) expr() (int64, *arithError) { return a.level(0) }

func (a *arith) level(l int) (int64, *arithError) {
	if l == len(arithLevels) {
		return a.unary()
	}
	x, e := a.level(l + 1)
	if e != nil {
		return 0, e
	}
	for {
		a.skip()
		op := ""
		for _, o := range arithLevels[l] {
			if len(a.s)-a.pos >= len(o) && a.s[a.pos:a.pos+len(o)] == o {
				op = o
				break
			}
		}
		if op == "" {
			return x, nil
		}
		a.pos += len(op)
		y, e := a.level(l + 1)
		if e != nil {
			return 0, e
		}
		x, e = a.apply(op, x, y)
		if e != nil {
			return 0, e
		}
	}
}

func (a *arith) apply(op string, x, y int64) (int64, *arithError) {
	switch op {
	case "|":
		return x | y, nil
	case "^":
		return x ^ y, nil
	case "&":
		return x & y, nil
	case "<<":
		return x << (uint64(y) & 63), nil
	case ">>":
		return x >> (uint64(y) & 63), nil
	case "+":
		if y > 0 && x > math.MaxInt64-y {
			return 0, &arithError{"overflow in sum", a.pos}
		}
		return x + y, nil
	case "-":
		// Exim adds the negation: only an overflow upwards is caught.
		ny := -y
		if ny > 0 && x > math.MaxInt64-ny {
			return 0, &arithError{"overflow in difference", a.pos}
		}
		return x + ny, nil
	case "*":
		return x * y, nil
	case "/":
		if y == 0 {
			return 0, &arithError{"divide by zero", a.pos}
		}
		if x == math.MinInt64 && y == -1 {
			return math.MaxInt64, nil
		}
		return x / y, nil
	default: // %
		if y == 0 {
			return 0, &arithError{"modulo by zero", a.pos}
		}
		if x == math.MinInt64 && y == -1 {
			return math.MaxInt64, nil
		}
		return x % y, nil
	}
}

func (a *arith) unary() (int64, *arithError) {
	a.depth++
	defer func() { a.depth-- }()
	if a.depth > maxArithDepth {
		return 0, &arithError{"expression nested too deeply", a.pos}
	}
	a.skip()
	if a.pos < len(a.s) {
		switch a.s[a.pos] {
		case '-', '~', '+':
			op := a.s[a.pos]
			a.pos++
			v, e := a.unary()
			if e != nil {
				return 0, e
			}
			switch op {
			case '-':
				return -v, nil
			case '~':
				return ^v, nil
			}
			return v, nil
		case '(':
			a.pos++
			v, e := a.expr()
			if e != nil {
				return 0, e
			}
			a.skip()
			if a.pos >= len(a.s) || a.s[a.pos] != ')' {
				return 0, &arithError{"expecting closing parenthesis", a.pos}
			}
			a.pos++
			return v, nil
		}
	}
	v, ok := a.number()
	if !ok {
		return 0, &arithError{"expecting number or opening parenthesis", a.pos}
	}
	return v, nil
}

// number reads an unsigned number, saturating at the largest int64, and
// an optional K, M or G multiplier (which wraps).
func (a *arith) number() (int64, bool) {
	s, i := a.s, a.pos
	base := uint64(10)
	if !a.decimal && i < len(s) && s[i] == '0' {
		base = 8
		if i+1 < len(s) && (s[i+1] == 'x' || s[i+1] == 'X') {
			base = 16
			i += 2
		}
	}
	start := i
	var v uint64
	sat := false
	for ; i < len(s); i++ {
		d := digitValue(s[i])
		if d >= base {
			break
		}
		if v > (math.MaxInt64-d)/base {
			sat = true
		}
		v = v*base + d
	}
	if i == start && base != 16 {
		return 0, false
	}
	if sat {
		v = math.MaxInt64
	}
	r := int64(v)
	if i < len(s) {
		switch s[i] {
		case 'k', 'K':
			r *= 1024
			i++
		case 'm', 'M':
			r *= 1024 * 1024
			i++
		case 'g', 'G':
			r *= 1024 * 1024 * 1024
			i++
		}
	}
	a.pos = i
	return r, true
}

func digitValue(c byte) uint64 {
	switch {
	case isDigit(c):
		return uint64(c - '0')
	case c >= 'a' && c <= 'f':
		return uint64(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return uint64(c-'A') + 10
	}
	return 99
}
