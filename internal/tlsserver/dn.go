package tlsserver

import (
	"encoding/asn1"
	"encoding/hex"
	"strings"
	"unicode/utf16"
)

// Distinguished names as GnuTLS prints them (gnutls_x509_crt_get_dn), which
// is what Exim puts in $tls_in_peerdn and the DN= log field: the RDNs in the
// order they are encoded (not RFC 4514's reversed order), joined by ","
// without spaces, multi-valued RDNs joined by "+", GnuTLS's short attribute
// names ("CN", "EMAIL", "serialNumber"), RFC 4514 escaping, and unknown
// attribute types as "1.2.3.4=#<hex of the DER value>". Exim
// specification: chapter "Encrypted SMTP connections using TLS/SSL",
// section "OpenSSL vs GnuTLS" (GnuTLS uses commas, RFC 2253).

// attrNames are GnuTLS's names for the attribute types it knows.
var attrNames = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.4":                    "surName",
	"2.5.4.5":                    "serialNumber",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "street",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.12":                   "title",
	"2.5.4.13":                   "description",
	"2.5.4.15":                   "businessCategory",
	"2.5.4.16":                   "postalAddress",
	"2.5.4.17":                   "postalCode",
	"2.5.4.18":                   "postOfficeBox",
	"2.5.4.41":                   "name",
	"2.5.4.42":                   "givenName",
	"2.5.4.43":                   "initials",
	"2.5.4.44":                   "generationQualifier",
	"2.5.4.46":                   "dnQualifier",
	"2.5.4.65":                   "pseudonym",
	"0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1":  "UID",
	"1.2.840.113549.1.9.1":       "EMAIL",
	"1.3.6.1.4.1.311.60.2.1.1":   "jurisdictionOfIncorporationLocalityName",
	"1.3.6.1.4.1.311.60.2.1.2":   "jurisdictionOfIncorporationStateOrProvinceName",
	"1.3.6.1.4.1.311.60.2.1.3":   "jurisdictionOfIncorporationCountryName",
}

type attrTypeAndValue struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// rdnSET is one relative distinguished name (a SET OF; encoding/asn1 treats
// slice types whose name ends in SET as sets).
type rdnSET []attrTypeAndValue

// FormatDN formats a DER-encoded X.509 Name (a certificate's RawSubject)
// as GnuTLS does. It returns "" for a name that does not parse.
func FormatDN(raw []byte) string {
	var seq []rdnSET
	rest, err := asn1.Unmarshal(raw, &seq)
	if err != nil || len(rest) != 0 {
		return ""
	}
	var b strings.Builder
	for i, rdn := range seq {
		if i > 0 {
			b.WriteByte(',')
		}
		for j, atv := range rdn {
			if j > 0 {
				b.WriteByte('+')
			}
			oid := atv.Type.String()
			name, known := attrNames[oid]
			if !known {
				b.WriteString(oid)
				b.WriteString("=#")
				b.WriteString(hex.EncodeToString(atv.Value.FullBytes))
				continue
			}
			b.WriteString(name)
			b.WriteByte('=')
			if s, ok := attrString(atv.Value); ok {
				b.WriteString(escapeDNValue(s))
			} else {
				b.WriteByte('#')
				b.WriteString(hex.EncodeToString(atv.Value.FullBytes))
			}
		}
	}
	return b.String()
}

// attrString decodes the directory string types.
func attrString(v asn1.RawValue) (string, bool) {
	if v.Class != asn1.ClassUniversal {
		return "", false
	}
	switch v.Tag {
	case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String, asn1.TagNumericString, asn1.TagT61String, 26 /* VisibleString */ :
		return string(v.Bytes), true
	case asn1.TagBMPString:
		if len(v.Bytes)%2 != 0 {
			return "", false
		}
		u := make([]uint16, len(v.Bytes)/2)
		for i := range u {
			u[i] = uint16(v.Bytes[2*i])<<8 | uint16(v.Bytes[2*i+1])
		}
		return string(utf16.Decode(u)), true
	case 28: // UniversalString, UCS-4
		if len(v.Bytes)%4 != 0 {
			return "", false
		}
		var r []rune
		for i := 0; i < len(v.Bytes); i += 4 {
			r = append(r, rune(v.Bytes[i])<<24|rune(v.Bytes[i+1])<<16|rune(v.Bytes[i+2])<<8|rune(v.Bytes[i+3]))
		}
		return string(r), true
	}
	return "", false
}

// escapeDNValue applies RFC 4514 section 2.4 escaping.
func escapeDNValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';':
			b.WriteByte('\\')
			b.WriteByte(c)
		case i == 0 && (c == '#' || c == ' '):
			b.WriteByte('\\')
			b.WriteByte(c)
		case i == len(s)-1 && c == ' ':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
