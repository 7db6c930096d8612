// DKIM signing in the smtp transport (Exim specification chapter "DKIM,
// SPF, SRS and DMARC", section "Signing outgoing messages", and the
// dkim_* options of chapter "The smtp transport").

package transport

import (
	"bufio"
	"bytes"
	"crypto"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/exigo-mta/exigo/internal/dkim"
	"github.com/exigo-mta/exigo/internal/message"
)

// dkimSignatures returns the DKIM-Signature fields for d's message as wo
// writes it ("" when the transport does not sign, or signing failed and
// dkim_strict is false). An error defers the delivery: an expansion that
// failed, or a signing failure with dkim_strict true. The package comment
// of internal/dkim gives the contract this follows.
func (s *smtpTransport) dkimSignatures(e *env, d *Delivery, wo *writeOpts) (string, error) {
	if s.opts.String("dkim_domain") == "" {
		return "", nil
	}
	defer func() {
		delete(e.vars, "dkim_domain")
		delete(e.vars, "dkim_selector")
	}()
	domains, err := s.dkimExpand(e, "dkim_domain")
	if err != nil {
		return "", err
	}
	var opts []dkim.SignOptions
	var failure error
	for _, dom := range splitList(domains, ':') {
		dom = strings.ToLower(dom)
		e.vars["dkim_domain"] = dom
		delete(e.vars, "dkim_selector")
		sels, err := s.dkimExpand(e, "dkim_selector")
		if err != nil {
			return "", err
		}
		for _, sel := range splitList(sels, ':') {
			e.vars["dkim_selector"] = sel
			keyText, err := s.dkimExpand(e, "dkim_private_key")
			if err != nil {
				return "", err
			}
			if dkim.KeyDisabled(keyText) {
				continue
			}
			o := dkim.SignOptions{Domain: dom, Selector: sel, Now: d.now()}
			key, err := loadDKIMKey(d, keyText)
			if err != nil {
				if failure == nil {
					failure = err
				}
				continue
			}
			o.Key = key
			for _, f := range []struct {
				opt string
				dst *string
			}{
				{"dkim_canon", &o.Canon}, {"dkim_hash", &o.Hash}, {"dkim_identity", &o.Identity},
				{"dkim_sign_headers", &o.SignHeaders}, {"dkim_timestamps", &o.Timestamps},
			} {
				if *f.dst, err = s.dkimExpand(e, f.opt); err != nil {
					return "", err
				}
			}
			opts = append(opts, o)
		}
	}
	var sigs []string
	if failure == nil && len(opts) > 0 {
		hs, err := sentHeaders(d, wo)
		if err == nil {
			sigs, err = dkim.Sign(hs, s.sentBody(d), opts...)
		}
		failure = err
	}
	if failure != nil {
		strict, err := s.dkimExpand(e, "dkim_strict")
		if err != nil {
			return "", err
		}
		if dkim.Strict(strict) {
			d.log("DKIM: message could not be signed, and dkim_strict is set. Deferring message delivery.")
			return "", &dkimStrictError{failure}
		}
		return "", nil
	}
	return strings.Join(sigs, ""), nil
}

// dkimStrictError is a signing failure under dkim_strict. Exim defers
// the delivery with errno EACCES ("Permission denied").
type dkimStrictError struct{ err error }

func (e *dkimStrictError) Error() string { return "DKIM: signing failed: " + e.err.Error() }
func (e *dkimStrictError) Unwrap() error { return e.err }

// loadDKIMKey reads an expanded dkim_private_key (a file when it starts
// with "/"), logging Exim's line when the file cannot be read.
func loadDKIMKey(d *Delivery, text string) (crypto.Signer, error) {
	if strings.HasPrefix(text, "/") {
		b, err := os.ReadFile(text)
		if err != nil {
			d.log("unable to open file for reading: " + text)
			return nil, fmt.Errorf("DKIM: reading private key: %w", err)
		}
		text = string(b)
	}
	return dkim.ParsePrivateKey([]byte(text))
}

// dkimExpand expands one dkim_* option; a forced failure gives "".
func (s *smtpTransport) dkimExpand(e *env, name string) (string, error) {
	v, err := s.expandOpt(e, name)
	if err != nil && forced(err) {
		return "", nil
	}
	return v, err
}

// sentHeaders returns the header lines as wo writes them (Exim's added
// lines, header changes) for signing.
func sentHeaders(d *Delivery, wo *writeOpts) (message.Headers, error) {
	var hs message.Headers
	if d.Header != nil {
		hs = d.Header.Headers
	}
	block := headerBlock(hs, wo)
	out, _, err := message.ReadHeaders(bufio.NewReader(io.MultiReader(bytes.NewReader(block), strings.NewReader("\n"))))
	if err != nil {
		return nil, fmt.Errorf("DKIM: reading the headers to sign: %w", err)
	}
	return out, nil
}

// sentBody returns the body as the transport sends it.
func (s *smtpTransport) sentBody(d *Delivery) io.Reader {
	if d.Body == nil {
		return strings.NewReader("")
	}
	return io.NewSectionReader(d.Body, 0, d.BodySize)
}
