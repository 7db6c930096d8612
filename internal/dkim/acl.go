package dkim

import (
	"strconv"
	"strings"
)

// Signers returns $dkim_signers: the colon-separated signer domains and
// identities (i=, when present) of Verify's results, each once, in
// Verify's order.
// Spec: section "Verifying DKIM signatures in incoming mail".
func Signers(results []Result) string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for i := range results {
		r := &results[i]
		if r.Domain == "" {
			continue
		}
		add(r.Domain)
		add(r.Identity)
	}
	return strings.Join(out, ":")
}

// ACLRun is one call of acl_smtp_dkim: the signer ($dkim_cur_signer) and
// the signature it concerns (nil when the message has none for it: status
// "none").
type ACLRun struct {
	Signer string
	Result *Result
}

// ACLRuns returns the acl_smtp_dkim calls for an expanded
// dkim_verify_signers: one per listed signer (each once), and for a signer
// with several matching signatures one per signature.
func ACLRuns(verifySigners string, results []Result) []ACLRun {
	var runs []ACLRun
	seen := map[string]bool{}
	for _, s := range splitColonList(verifySigners) {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		found := false
		for i := range results {
			r := &results[i]
			if r.Domain == "" {
				continue
			}
			if strings.EqualFold(r.Domain, s) || r.Identity == s {
				runs = append(runs, ACLRun{Signer: s, Result: r})
				found = true
			}
		}
		if !found {
			runs = append(runs, ACLRun{Signer: s})
		}
	}
	return runs
}

// Vars returns the $dkim_* variables (names without "$") for the run.
func (a ACLRun) Vars() map[string]string {
	v := map[string]string{"dkim_cur_signer": a.Signer}
	r := a.Result
	if r == nil {
		v["dkim_verify_status"] = StatusNone
		v["dkim_bodylength"], v["dkim_created"], v["dkim_expires"] = NoLimit, "0", NoLimit
		v["dkim_key_length"], v["dkim_key_testing"], v["dkim_key_nosubdomains"] = "0", "0", "0"
		v["dkim_key_srvtype"], v["dkim_key_granularity"] = "*", "*"
		return v
	}
	v["dkim_verify_status"] = r.Status
	v["dkim_verify_reason"] = r.Reason
	v["dkim_domain"] = r.Domain
	v["dkim_identity"] = r.Identity
	v["dkim_selector"] = r.Selector
	v["dkim_algo"] = r.Algo
	v["dkim_canon_headers"] = r.CanonHeaders
	v["dkim_canon_body"] = r.CanonBody
	v["dkim_headernames"] = r.HeaderNames
	v["dkim_copiedheaders"] = r.CopiedHeaders
	v["dkim_bodylength"] = r.BodyLength
	v["dkim_created"] = r.Created
	v["dkim_expires"] = r.Expires
	v["dkim_key_testing"] = r.KeyTesting
	v["dkim_key_nosubdomains"] = r.KeyNoSubdomains
	v["dkim_key_srvtype"] = r.KeySrvType
	v["dkim_key_granularity"] = r.KeyGranularity
	v["dkim_key_notes"] = r.KeyNotes
	v["dkim_key_length"] = strconv.Itoa(r.KeyLength)
	return v
}

// MatchStatus is the dkim_status ACL condition: whether status is in the
// colon-separated list.
func MatchStatus(list, status string) bool {
	for _, e := range splitColonList(list) {
		if strings.EqualFold(e, status) {
			return true
		}
	}
	return false
}

// MatchSigner is the dkim_signers ACL condition: whether the current
// signer is in the colon-separated list.
func MatchSigner(list, signer string) bool {
	for _, e := range splitColonList(list) {
		if strings.EqualFold(e, signer) {
			return true
		}
	}
	return false
}

// LogField returns the value of the DKIM= field of the <= line: the domain
// of the last signature (in Verify's order) that passed, or "" (no field)
// when none did.
func LogField(results []Result) string {
	for i := len(results) - 1; i >= 0; i-- {
		if results[i].Status == StatusPass {
			return results[i].Domain
		}
	}
	return ""
}
