package cli

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/message"
)

// messageBodyVisible is the default of message_body_visible: how much of
// the body $message_body and $message_body_end show.
const messageBodyVisible = 500

// testMessage is the message that -bem reads from a file, presented to the
// expansion engine.
type testMessage struct {
	headers message.Headers
	charset string
}

// Header implements expand.Message.
func (m *testMessage) Header(name string, mode expand.HeaderMode) (string, bool) {
	switch mode {
	case expand.HeaderRaw:
		return m.headers.Raw(name)
	case expand.HeaderBasic:
		return m.headers.Basic(name)
	case expand.HeaderList:
		return m.headers.List(name)
	}
	return m.headers.Decoded(name, m.charset)
}

// Headers implements expand.Message.
func (m *testMessage) Headers(raw bool) string {
	if raw {
		return m.headers.String()
	}
	return m.headers.DecodedBlock(m.charset)
}

// loadTestMessage reads the -bem file and sets the message variables in
// vars, adding Message-Id: and Date: headers as Exim does for a locally
// submitted message that lacks them.
func loadTestMessage(path string, vars expand.VarMap, now time.Time) (*testMessage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to open %s: %w", path, unwrapPathError(err))
	}
	r := bufio.NewReader(strings.NewReader(string(data)))
	hs, first, err := message.ReadHeaders(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	rest := make([]byte, r.Buffered())
	r.Read(rest)
	body := first + string(rest)
	id := testMessageID(now)
	host := vars["primary_hostname"]
	hasHeader := func(name string) bool {
		_, ok := hs.Raw(name)
		return ok
	}
	if !hasHeader("Message-Id") {
		hs = append(hs, message.Header{Name: "Message-Id", Text: "Message-Id: <E" + id + "@" + host + ">\n", Type: 'I'})
	}
	if !hasHeader("Date") {
		hs = append(hs, message.Header{Name: "Date", Text: "Date: " + now.Format("Mon, 2 Jan 2006 15:04:05 -0700") + "\n", Type: ' '})
	}
	vars["message_id"] = id
	vars["message_exim_id"] = id
	vars["message_size"] = strconv.Itoa(len(data))
	vars["message_linecount"] = strconv.Itoa(strings.Count(string(data), "\n"))
	vars["body_linecount"] = strconv.Itoa(strings.Count(body, "\n"))
	vars["body_zerocount"] = strconv.Itoa(strings.Count(body, "\x00"))
	vars["message_body_size"] = strconv.Itoa(len(body))
	flat := strings.ReplaceAll(body, "\n", " ")
	start, end := flat, flat
	if len(flat) > messageBodyVisible {
		start = flat[:messageBodyVisible]
		end = flat[len(flat)-messageBodyVisible:]
	}
	vars["message_body"] = start
	vars["message_body_end"] = end
	return &testMessage{headers: hs, charset: "UTF-8"}, nil
}

// testMessageID makes an Exim-shaped message id for -bem.
func testMessageID(now time.Time) string {
	return base62(now.Unix(), 6) + "-" + base62(int64(os.Getpid()), 6) + "-" + base62(int64(now.Nanosecond()/1000/500), 2)
}

const base62Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func base62(v int64, width int) string {
	b := make([]byte, width)
	for i := width - 1; i >= 0; i-- {
		b[i] = base62Digits[v%62]
		v /= 62
	}
	return string(b)
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
