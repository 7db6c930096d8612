package expand

import (
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/lists"
)

// listOperators are the list operators. Spec: "Expansion operators".
var listOperators = map[string]opFunc{
	"listcount": func(_ *state, s string, _ []int) (string, error) {
		return strconv.Itoa(len(lists.Split(s, ':'))), nil
	},
}

// listSuffixOperators holds listnamed and listnamed_<type>.
var listSuffixOperators = map[string]suffixOp{
	"listnamed": listNamedOp,
}

// namedListKinds maps the listnamed_<type> letters to the kinds asked of
// Context.NamedList and the words of Exim's error text.
var namedListKinds = []struct {
	letter byte
	kind   string
	word   string
}{
	{'d', "domain", "domain"},
	{'h', "host", "host"},
	{'a', "address", "address"},
	{'l', "localpart", "localpart"},
}

// maxNamedListDepth caps the nesting of +name references in a named list.
const maxNamedListDepth = 50

// listNamedOp is ${listnamed:name} and ${listnamed_<type>:name}: the items
// of the named list, with referenced lists (+name) replaced by their
// items, joined by " : ". Items of a list whose separator is not ":" get
// their colons doubled. Spec: "Expansion operators", listnamed.
func listNamedOp(_, suffix string, has bool) opFunc {
	return func(st *state, name string, _ []int) (string, error) {
		kinds := namedListKinds
		word := ""
		if has {
			kinds = nil
			for _, k := range namedListKinds {
				if suffix != "" && suffix[0] == k.letter {
					kinds = append(kinds, k)
					word = k.word + " "
				}
			}
			if kinds == nil {
				return "", errorf("bad suffix on \"list\" operator")
			}
		}
		name = strings.TrimPrefix(name, "+")
		if st.ctx.NamedList != nil {
			for _, k := range kinds {
				if text, ok := st.ctx.NamedList(k.kind, name); ok {
					var items []string
					flattenNamedList(st, k.kind, text, &items, 0)
					return strings.Join(items, " : "), nil
				}
			}
		}
		return "", errorf("\"%s\" is not a %snamed list", name, word)
	}
}

func flattenNamedList(st *state, kind, text string, out *[]string, depth int) {
	sep, _ := lists.Separator(text, ':')
	for _, item := range lists.Split(text, ':') {
		if ref, ok := strings.CutPrefix(item, "+"); ok && depth < maxNamedListDepth {
			if sub, found := st.ctx.NamedList(kind, ref); found {
				flattenNamedList(st, kind, sub, out, depth+1)
				continue
			}
		}
		if sep != ':' {
			item = strings.ReplaceAll(item, ":", "::")
		}
		*out = append(*out, item)
	}
}
