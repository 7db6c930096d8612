package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"

	"github.com/exigo-mta/exigo/internal/deliver"
)

// Client is the daemon's side of the supervisor socket: a
// deliver.LocalRunner that asks the root supervisor to run local
// transports as other users. It is safe for concurrent use; requests
// are multiplexed over the one socket.
type Client struct {
	conn net.Conn

	wmu     sync.Mutex
	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan frame
	err     error
}

var _ deliver.LocalRunner = (*Client)(nil)

// NewClient starts a client on the supervisor socket f (the daemon's
// inherited fd).
func NewClient(f *os.File) (*Client, error) {
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("supervisor socket: %w", err)
	}
	c := &Client{conn: conn, pending: map[uint64]chan frame{}}
	go c.read()
	return c, nil
}

// read delivers the answers to their requests until the socket closes,
// then fails the requests still waiting.
func (c *Client) read() {
	sc := bufio.NewScanner(c.conn)
	sc.Buffer(make([]byte, 64<<10), 2*maxFrame)
	for sc.Scan() {
		var f frame
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			continue
		}
		c.mu.Lock()
		ch := c.pending[f.ID]
		delete(c.pending, f.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- f
		}
	}
	c.mu.Lock()
	c.err = errors.New("supervisor has gone away")
	for id, ch := range c.pending {
		ch <- frame{ID: id, Error: c.err.Error()}
		delete(c.pending, id)
	}
	c.mu.Unlock()
}

func (c *Client) send(f frame) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err = c.conn.Write(append(b, '\n'))
	return err
}

// RunLocal implements deliver.LocalRunner. When ctx ends first, the
// supervisor is asked to stop the worker and its answer (the transport's
// deferral) is still awaited, so that a delivery that happened is never
// reported as deferred.
func (c *Client) RunLocal(ctx context.Context, req *deliver.LocalRequest) (*deliver.LocalResponse, error) {
	ch := make(chan frame, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return nil, c.err
	}
	c.next++
	id := c.next
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.send(frame{ID: id, Run: req}); err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	var a frame
	select {
	case a = <-ch:
	case <-ctx.Done():
		c.send(frame{ID: id, Cancel: true})
		a = <-ch
	}
	if a.Error != "" {
		return nil, errors.New(a.Error)
	}
	var resp deliver.LocalResponse
	if err := json.Unmarshal(a.Output, &resp); err != nil {
		return nil, fmt.Errorf("worker answer: %w", err)
	}
	return &resp, nil
}

// Close closes the socket.
func (c *Client) Close() error { return c.conn.Close() }
