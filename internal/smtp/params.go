package smtp

import "strings"

// Param is one ESMTP parameter of MAIL or RCPT ("NAME=VALUE" or "NAME").
type Param struct {
	Name  string
	Value string
	// HasValue is true when the parameter had an "=".
	HasValue bool
}

// ExtractMailParams splits the ESMTP parameters off the end of a MAIL
// argument, as Exim does: words after the last space are taken from the
// end while known reports their name as known; the first unknown one
// stops the scan and stays part of the address text (which then fails
// to parse: "X may not follow <a@b>").
func ExtractMailParams(arg string, known func(name string, hasValue bool) bool) (string, []Param) {
	var params []Param
	for {
		i := strings.LastIndexByte(arg, ' ')
		if i < 0 {
			return arg, params
		}
		word := arg[i+1:]
		name, value, has := strings.Cut(word, "=")
		if !known(name, has) {
			return arg, params
		}
		params = append([]Param{{Name: name, Value: value, HasValue: has}}, params...)
		arg = strings.TrimRight(arg[:i], " ")
	}
}

// ExtractRcptParams does the same for RCPT. Exim 4.96 differs from MAIL
// here: when an unknown word without "=" ends the scan, the space before
// it becomes "=" in the address text ("<a@b> junk" is reported as
// "<a@b>=junk").
func ExtractRcptParams(arg string, known func(name string, hasValue bool) bool) (string, []Param) {
	var params []Param
	for {
		i := strings.LastIndexByte(arg, ' ')
		if i < 0 {
			return arg, params
		}
		word := arg[i+1:]
		name, value, has := strings.Cut(word, "=")
		if !known(name, has) {
			if !has {
				arg = arg[:i] + "=" + word
			}
			return arg, params
		}
		params = append([]Param{{Name: name, Value: value, HasValue: has}}, params...)
		arg = strings.TrimRight(arg[:i], " ")
	}
}
