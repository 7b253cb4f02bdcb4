package tablet

import (
	"context"
	"errors"
	"net"
	"sync"
)

// pipeListener hands the connections that the tablets' panels dial inside
// the server to an http.Server serving the panel endpoint, as a network
// listener would. No port is opened: the panels run in this process.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

var errClosed = errors.New("tablet: the server is stopping")

// dial returns a connection to the panel endpoint that the endpoint sees
// as coming from remote (the tablet's address), so that the hub's limits
// per address and the devices page see the tablet, not the server.
func (l *pipeListener) dial(ctx context.Context, remote string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- addrConn{Conn: server, remote: pipeAddr(remote)}:
		return client, nil
	case <-l.closed:
	case <-ctx.Done():
	}
	client.Close()
	server.Close()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, errClosed
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr("tablets") }

// addrConn is the endpoint's end of a pipe, with the tablet's address.
type addrConn struct {
	net.Conn
	remote net.Addr
}

func (c addrConn) RemoteAddr() net.Addr { return c.remote }

// pipeAddr is an address as the tablet's HTTP request gave it.
type pipeAddr string

func (pipeAddr) Network() string  { return "pipe" }
func (a pipeAddr) String() string { return string(a) }
