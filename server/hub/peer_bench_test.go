package hub_test

import (
	"bytes"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lintelhq/lintel/proto"
)

// BenchmarkFanoutPeer is BenchmarkFanout against a peer: gorilla's chat
// example (examples/chat: a hub goroutine, a broadcast channel, a read
// pump and a write pump per client, 1 KB buffers, pings every 54 s), as
// minimal as a broadcaster gets, with no authentication, caps or
// protocol. Run both together to compare latency on the same machine at
// the same moment:
//
//	go test -run '^$' -bench 'Fanout(Peer)?/panels=10000' -benchtime 20x ./server/hub/
//
// B/panel and stack-B/panel are exact either way; the RSS figures are the
// process's, so the second benchmark of a run inherits what the first left
// behind: compare RSS with one benchmark per run (-bench 'Fanout/' and
// -bench 'FanoutPeer/').
func BenchmarkFanoutPeer(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("panels=%d", n), func(b *testing.B) {
			if n > 1000 && testing.Short() {
				b.Skip("10,000 panels: skipped in -short mode")
			}
			h := newChatHub()
			go h.run()
			defer close(h.stop)
			st := benchState()
			runFanout(b, n, http.HandlerFunc(h.serveWs), func() int { return int(h.count.Load()) }, func() {
				st.ServerTime = st.ServerTime.Add(time.Second)
				msg, err := proto.Encode(proto.Message{Type: proto.TypeState, State: &st})
				if err != nil {
					b.Fatal(err)
				}
				h.broadcast <- msg
			}, nil)
		})
	}
}

// The rest is gorilla's examples/chat (hub.go, client.go), trimmed of
// comments, with a stop channel.

const (
	chatWriteWait      = 10 * time.Second
	chatPongWait       = 60 * time.Second
	chatPingPeriod     = (chatPongWait * 9) / 10
	chatMaxMessageSize = 512
)

var chatUpgrader = websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024}

type chatClient struct {
	hub  *chatHub
	conn *websocket.Conn
	send chan []byte
}

type chatHub struct {
	clients    map[*chatClient]bool
	broadcast  chan []byte
	register   chan *chatClient
	unregister chan *chatClient
	stop       chan struct{}
	count      atomic.Int64
}

func newChatHub() *chatHub {
	return &chatHub{
		broadcast:  make(chan []byte),
		register:   make(chan *chatClient),
		unregister: make(chan *chatClient),
		clients:    make(map[*chatClient]bool),
		stop:       make(chan struct{}),
	}
}

func (h *chatHub) run() {
	for {
		select {
		case <-h.stop:
			for c := range h.clients {
				c.conn.Close()
			}
			return
		case client := <-h.register:
			h.clients[client] = true
			h.count.Add(1)
		case client := <-h.unregister:
			if _, ok := h.clients[client]; ok {
				delete(h.clients, client)
				close(client.send)
				h.count.Add(-1)
			}
		case message := <-h.broadcast:
			for client := range h.clients {
				select {
				case client.send <- message:
				default:
					close(client.send)
					delete(h.clients, client)
					h.count.Add(-1)
				}
			}
		}
	}
}

func (c *chatClient) readPump() {
	defer func() {
		select {
		case c.hub.unregister <- c:
		case <-c.hub.stop:
		}
		c.conn.Close()
	}()
	c.conn.SetReadLimit(chatMaxMessageSize)
	c.conn.SetReadDeadline(time.Now().Add(chatPongWait))
	c.conn.SetPongHandler(func(string) error { c.conn.SetReadDeadline(time.Now().Add(chatPongWait)); return nil })
	for {
		_, message, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		message = bytes.TrimSpace(message)
		_ = message // the chat example broadcasts it; the panels' hello is dropped
	}
}

func (c *chatClient) writePump() {
	ticker := time.NewTicker(chatPingPeriod)
	defer func() {
		ticker.Stop()
		c.conn.Close()
	}()
	for {
		select {
		case message, ok := <-c.send:
			c.conn.SetWriteDeadline(time.Now().Add(chatWriteWait))
			if !ok {
				c.conn.WriteMessage(websocket.CloseMessage, []byte{})
				return
			}
			w, err := c.conn.NextWriter(websocket.TextMessage)
			if err != nil {
				return
			}
			w.Write(message)
			// The chat example joins queued messages with newlines into
			// one frame; a panel needs one state per frame, so each
			// queued one is a frame of its own.
			if err := w.Close(); err != nil {
				return
			}
			for range len(c.send) {
				if err := c.conn.WriteMessage(websocket.TextMessage, <-c.send); err != nil {
					return
				}
			}
		case <-ticker.C:
			c.conn.SetWriteDeadline(time.Now().Add(chatWriteWait))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
}

func (h *chatHub) serveWs(w http.ResponseWriter, r *http.Request) {
	conn, err := chatUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	client := &chatClient{hub: h, conn: conn, send: make(chan []byte, 256)}
	select {
	case h.register <- client:
	case <-h.stop:
		conn.Close()
		return
	}
	go client.writePump()
	go client.readPump()
}
