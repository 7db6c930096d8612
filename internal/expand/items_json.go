package expand

import "strings"

// The JSON forms of ${extract}. Exim does not parse JSON fully: it finds
// the end of the object or array by counting its own kind of bracket,
// splits members at commas outside nested brackets (quotes are not
// considered), and returns values as written. These helpers reproduce
// that. Spec: chapter "String expansions", ${extract json...}.

// jsonSpan returns the text inside the bracket pair starting s (after
// white space), or an error naming the missing bracket.
func jsonSpan(s string, open, close byte, what string) (string, error) {
	s = strings.TrimLeft(s, " \t\n\r")
	if s == "" || s[0] != open {
		return "", errorf("missing '%c' wrapping %s for extract json", open, what)
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case open:
			depth++
		case close:
			depth--
			if depth == 0 {
				return s[1:i], nil
			}
		}
	}
	return "", errorf("missing '%c' wrapping %s for extract json", close, what)
}

// jsonNext returns the text up to the next comma outside nested brackets
// and what follows the comma (ok false when there is no comma).
func jsonNext(s string) (elem, rest string, more bool) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case ',':
			if depth == 0 {
				return s[:i], s[i+1:], true
			}
		}
	}
	return s, "", false
}

// jsonElement returns element n (from 1) of a JSON array.
func jsonElement(s string, n int, unquote bool) (string, bool, error) {
	body, err := jsonSpan(s, '[', ']', "array")
	if err != nil {
		return "", false, err
	}
	for i := 1; ; i++ {
		if strings.Trim(body, " \t\n\r") == "" {
			return "", false, nil
		}
		elem, rest, _ := jsonNext(body)
		if i == n {
			return jsonResult(strings.Trim(elem, " \t\n\r"), unquote)
		}
		body = rest
	}
}

// jsonMember returns the value of the member named key of a JSON object.
func jsonMember(s, key string, unquote bool) (string, bool, error) {
	body, err := jsonSpan(s, '{', '}', "object")
	if err != nil {
		return "", false, err
	}
	for {
		body = strings.TrimLeft(body, " \t\n\r")
		if body == "" {
			return "", false, nil
		}
		if body[0] != '"' {
			return "", false, errorf("missing '\"' wrapping string key for extract json")
		}
		end := jsonStringEnd(body)
		if end < 0 {
			return "", false, errorf("missing '\"' wrapping string key for extract json")
		}
		name := body[1:end]
		body = strings.TrimLeft(body[end+1:], " \t\n\r")
		if body == "" || body[0] != ':' {
			return "", false, errorf("missing object value-separator for extract json")
		}
		val, rest, _ := jsonNext(strings.TrimLeft(body[1:], " \t\n\r"))
		if name == key {
			return jsonResult(val, unquote)
		}
		body = rest
	}
}

// jsonStringEnd returns the index of the quote closing the string that
// starts s, skipping backslash-escaped characters; -1 if there is none.
func jsonStringEnd(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// jsonResult gives a found value: as written for "json", without its
// quotes (and anything after them) for "jsons".
func jsonResult(v string, unquote bool) (string, bool, error) {
	if !unquote {
		return v, true, nil
	}
	if v == "" || v[0] != '"' {
		return "", false, errorf("missing '\"' wrapping string result for extract jsons")
	}
	end := jsonStringEnd(v)
	if end < 0 {
		return "", false, errorf("missing '\"' wrapping string result for extract jsons")
	}
	return v[1:end], true, nil
}
