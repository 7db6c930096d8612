package expand

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// cryptoItems are the expansion items that sign and check: hmac, the BATV
// prvs pair, SRS encoding and certificate field extraction.
// Spec: chapter "String expansions", section "Expansion items".
var cryptoItems = map[string]itemDef{
	"hmac":        argsAfter(3, 3, evalHmac),
	"prvs":        argsAfter(2, 3, evalPrvs),
	"prvscheck":   {parse: parsePrvscheck},
	"srs_encode":  argsAfter(3, 3, evalSRSEncode),
	"certextract": {parse: parseCertextract},
}

// hmacHashes are the hash functions ${hmac} accepts.
var hmacHashes = map[string]func() hash.Hash{
	"md5":  md5.New,
	"sha1": sha1.New,
}

// evalHmac is ${hmac{md5|sha1}{secret}{string}}: RFC 2104 HMAC, in hex.
func evalHmac(st *state, args []node) (string, error) {
	a, err := st.strArgs(args)
	if err != nil {
		return "", err
	}
	h, ok := hmacHashes[a[0]]
	if !ok {
		return "", errorf("hmac algorithm \"%s\" is not recognised", a[0])
	}
	m := hmac.New(h, []byte(a[1]))
	m.Write([]byte(a[2]))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// prvsDays is how long a prvs signature is valid.
// Spec: chapter "Access control lists", "Bounce address tag validation".
const prvsDays = 7

// prvsHash is the signature of a prvs address: the first six hex digits
// of HMAC-SHA1 over key number, expiry day and address.
func prvsHash(secret, keynum, day, addr string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(keynum + day + addr))
	return hex.EncodeToString(m.Sum(nil))[:6]
}

// prvsToday is the day number (modulo 1000) that prvs expiry days count in.
func (st *state) prvsToday() int {
	return int(st.now().Unix()/86400) % 1000
}

// evalPrvs is ${prvs{address}{secret}{keynum}}.
// Spec: "Expansion items", ${prvs...}.
func evalPrvs(st *state, args []node) (string, error) {
	a, err := st.strArgs(args)
	if err != nil {
		return "", err
	}
	addr := a[0]
	at := strings.IndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", errorf("prvs first argument must be a qualified email address")
	}
	key := "0"
	if len(a) > 2 {
		key = a[2]
	}
	if len(key) != 1 || !isDigit(key[0]) {
		return "", errorf("prvs third argument must be a single digit")
	}
	day := fmt.Sprintf("%03d", (int(st.now().Unix()/86400)+prvsDays)%1000)
	return "prvs=" + key + day + prvsHash(a[1], key, day, addr) + "=" + addr, nil
}

// prvsPattern is the form of a prvs-signed address.
const prvsPattern = `(?i)^prvs\=([0-9])([0-9]{3})([A-F0-9]{6})\=(.+)\@(.+)$`

// prvscheckNode is ${prvscheck{address}{secret}{string}}.
type prvscheckNode struct {
	addr, secret, result node
}

func parsePrvscheck(p *parser, name string) (node, error) {
	addr, ok, err := p.parseArg()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errorf("Not enough arguments for '%s' (min is 1)", name)
	}
	rest, err := p.itemArgs(name, 1, 2)
	if err != nil {
		return nil, err
	}
	n := &prvscheckNode{addr: addr, secret: rest[0]}
	if len(rest) > 1 {
		n.result = rest[1]
	}
	return n, nil
}

func (n *prvscheckNode) eval(st *state, b *[]byte) error {
	addr, err := st.str(n.addr)
	if err != nil {
		return err
	}
	re, err := compileRegex(prvsPattern)
	if err != nil {
		return err
	}
	g, ok, _ := re.Match(addr)
	if !ok {
		return nil
	}
	key, day, sig := g[1], g[2], g[3]
	local, domain := g[4], g[5]
	decoded := local + "@" + domain
	st.setItemVar("prvscheck_address", decoded)
	st.setItemVar("prvscheck_keynum", key)
	defer func() {
		delete(st.ctx.ItemVars, "prvscheck_address")
		delete(st.ctx.ItemVars, "prvscheck_keynum")
	}()
	secret, err := st.str(n.secret)
	if err != nil {
		return err
	}
	ok = prvsHash(secret, key, day, decoded) == sig
	if expire, _ := strconv.Atoi(day); expire < st.prvsToday() {
		ok = false
	}
	res := ""
	if ok {
		res = "1"
	}
	st.setItemVar("prvscheck_result", res)
	out := ""
	if n.result != nil {
		if out, err = st.str(n.result); err != nil {
			return err
		}
	}
	if out == "" {
		out = decoded
	}
	*b = append(*b, out...)
	return nil
}
