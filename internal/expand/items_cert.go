package expand

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"strconv"
	"strings"
	"time"
)

// certVars are the variables that hold certificates.
var certVars = map[string]bool{
	"tls_in_ourcert": true, "tls_in_peercert": true,
	"tls_out_ourcert": true, "tls_out_peercert": true,
}

// certextractNode is ${certextract{field}{$certvar}{yes}{no}}.
// Spec: "Expansion items", ${certextract...}.
//
// The certificate variable's value is taken to be the certificate in PEM
// form (as $tls_in_peercert and friends expand to). Supported fields:
// version, serial_number, subject and issuer (with an RDN type modifier
// and ">sep"), notbefore and notafter (with "int"), sig_algorithm,
// signature, subj_altname (with dns, uri or mail), ocsp_uri and crl_uri.
type certextractNode struct {
	field node
	cert  string // the variable's name
	yn    yesNo
}

func parseCertextract(p *parser, name string) (node, error) {
	field, ok, err := p.parseArg()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errorf("missing '{' for field arg of certextract")
	}
	p.skipSpace()
	if p.eof() || p.peek() != '{' {
		return nil, errorf("missing '{' for cert variable arg of certextract")
	}
	p.pos++
	if p.eof() || p.peek() != '$' {
		return nil, errorf("second argument of \"certextract\" must be a certificate variable")
	}
	p.pos++
	end := strings.IndexByte(p.rest(), '}')
	if end < 0 {
		return nil, errorf("missing } at end of string")
	}
	v := p.src[p.pos : p.pos+end]
	p.pos += end + 1
	if _, ok := lookupVariable(v); !ok {
		return nil, errorf("no variable named \"%s\"", v)
	}
	if !certVars[v] {
		return nil, errorf("\"%s\" is not a certificate", v)
	}
	yn, err := p.parseYesNo(name)
	if err != nil {
		return nil, err
	}
	return &certextractNode{field: field, cert: v, yn: yn}, nil
}

func (n *certextractNode) eval(st *state, b *[]byte) error {
	field, err := st.str(n.field)
	if err != nil {
		return err
	}
	val, found := "", false
	if st.ctx.Vars != nil {
		if pemText, ok := st.ctx.Vars.Var(n.cert); ok {
			if cert := decodeCert(pemText); cert != nil {
				val, found = certField(cert, field)
			}
		}
	}
	saved := st.value
	st.value = val
	defer func() { st.value = saved }()
	return n.yn.choose(st, "certextract", found, val, b)
}

// decodeCert decodes a PEM (or raw DER) certificate; nil if it is not one.
func decodeCert(s string) *x509.Certificate {
	der := []byte(s)
	if blk, _ := pem.Decode([]byte(s)); blk != nil {
		der = blk.Bytes
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil
	}
	return c
}

// certField extracts one field, with its comma-separated modifiers.
func certField(c *x509.Certificate, spec string) (string, bool) {
	field, rest, _ := strings.Cut(spec, ",")
	field = strings.TrimSpace(field)
	sep := "\n"
	var mods []string
	for rest != "" {
		if rest[0] == '>' {
			// ">c" sets the list separator to c, which may be a comma.
			if len(rest) > 1 {
				sep, rest = rest[1:2], rest[2:]
			} else {
				sep, rest = "", ""
			}
			rest = strings.TrimPrefix(rest, ",")
			continue
		}
		var m string
		m, rest, _ = strings.Cut(rest, ",")
		mods = append(mods, m)
	}
	mod := ""
	if len(mods) > 0 {
		mod = mods[0]
	}
	switch field {
	case "version":
		return strconv.Itoa(c.Version), true
	case "serial_number":
		return hex.EncodeToString(c.SerialNumber.Bytes()), true
	case "subject":
		return dnField(c.Subject, mod, sep), true
	case "issuer":
		return dnField(c.Issuer, mod, sep), true
	case "notbefore":
		return certTime(c.NotBefore, mod), true
	case "notafter":
		return certTime(c.NotAfter, mod), true
	case "sig_algorithm":
		return c.SignatureAlgorithm.String(), true
	case "signature":
		return hex.EncodeToString(c.Signature), true
	case "subj_altname":
		var items []string
		add := func(tag string, vals []string) {
			for _, v := range vals {
				switch mod {
				case "":
					items = append(items, tag+"="+v)
				case tag:
					items = append(items, v)
				}
			}
		}
		add("dns", c.DNSNames)
		var uris []string
		for _, u := range c.URIs {
			uris = append(uris, u.String())
		}
		add("uri", uris)
		add("mail", c.EmailAddresses)
		return joinCertList(items, sep), true
	case "ocsp_uri":
		return joinCertList(c.OCSPServer, sep), true
	case "crl_uri":
		return joinCertList(c.CRLDistributionPoints, sep), true
	}
	return "", false
}

// joinCertList joins items with sep, doubling sep inside items.
func joinCertList(items []string, sep string) string {
	if sep == "" {
		return strings.Join(items, "")
	}
	q := make([]string, len(items))
	for i, it := range items {
		q[i] = strings.ReplaceAll(it, sep, sep+sep)
	}
	return strings.Join(q, sep)
}

// rdnLabels names the attribute types a DN modifier may select.
var rdnLabels = map[string]string{
	"2.5.4.3": "CN", "2.5.4.10": "O", "2.5.4.11": "OU",
	"0.9.2342.19200300.100.1.25": "DC", "2.5.4.6": "C", "2.5.4.7": "L",
	"2.5.4.8": "ST", "2.5.4.5": "SERIALNUMBER",
}

// dnField gives a distinguished name in RFC 4514 form, or the values of
// one attribute type as a list.
func dnField(n pkix.Name, mod, sep string) string {
	if mod == "" {
		return n.String()
	}
	var vals []string
	for _, atv := range n.Names {
		if rdnLabel(atv.Type) == mod {
			if s, ok := atv.Value.(string); ok {
				vals = append(vals, s)
			}
		}
	}
	return joinCertList(vals, sep)
}

func rdnLabel(oid asn1.ObjectIdentifier) string {
	if l, ok := rdnLabels[oid.String()]; ok {
		return l
	}
	return oid.String()
}

// certTime formats a validity time: seconds since the epoch with "int",
// otherwise a readable UTC time.
func certTime(t time.Time, mod string) string {
	if mod == "int" {
		return strconv.FormatInt(t.Unix(), 10)
	}
	return t.UTC().Format("Jan _2 15:04:05 2006 GMT")
}
