package expand

import "github.com/exigo-mta/exigo/internal/message"

// HeaderBlock presents a message's header block to expansions: the
// Message that every holder of a message (the SMTP DATA stage, delivery,
// -bem, -bf) gives its Context. Charset is headers_charset, the target of
// $h_ decoding; empty means UTF-8.
type HeaderBlock struct {
	Block   message.Headers
	Charset string
}

func (m *HeaderBlock) charset() string {
	if m.Charset == "" {
		return "UTF-8"
	}
	return m.Charset
}

// Header implements Message.
func (m *HeaderBlock) Header(name string, mode HeaderMode) (string, bool) {
	switch mode {
	case HeaderRaw:
		return m.Block.Raw(name)
	case HeaderBasic:
		return m.Block.Basic(name)
	case HeaderList:
		return m.Block.List(name)
	}
	return m.Block.Decoded(name, m.charset())
}

// Headers implements Message.
func (m *HeaderBlock) Headers(raw bool) string {
	if raw {
		return m.Block.String()
	}
	return m.Block.DecodedBlock(m.charset())
}
