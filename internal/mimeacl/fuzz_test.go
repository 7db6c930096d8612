package mimeacl

import "testing"

// FuzzWalk walks arbitrary messages: no panics, no endless loops, and
// every part's content lies within the message.
func FuzzWalk(f *testing.F) {
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\nContent-Type: multipart/x; boundary=c\n\n--c\n\nx\n--b--\n"))
	f.Add([]byte("Content-Type: text/plain; name*0*=a''%41; name*1=\"x\n\n=?x?b?aGVs?= body\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		h, b := SplitMessage(msg)
		n := 0
		Walk(nil, h, b, func(p *Part) bool {
			n++
			p.Decode(nil)
			return n < 10000
		})
	})
}

// FuzzDecoders runs both decoders and the header parameter reader.
func FuzzDecoders(f *testing.F) {
	f.Add([]byte("aGVsbG8K=b=\r\n=3D=ZZ=\n"))
	f.Add([]byte(` text/plain; name*=utf-8''%C3%BC; x="a;b"; y=(c) =?utf-8?q?a_b?=`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var d Decoder
		d.Base64(in)
		d.Base64(in)
		decodeQP(in)
		var hf headerFields
		hf.apply("Content-Type:" + string(in))
		hf.apply("Content-Disposition:" + string(in))
		decode2047(string(in))
	})
}
