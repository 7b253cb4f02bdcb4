package loadtest

import (
	"context"
	"fmt"
	"net/http"
	gosync "sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lintelhq/lintel/proto"
)

// panel is one simulated door panel: a websocket speaking the protocol by
// hand. Its reader decodes every frame (strictly, as a real panel does) and
// stamps the arrival of the one frame the run waits for.
type panel struct {
	dev device
	ws  *websocket.Conn

	// When the last dial said hello and got its first state.
	helloAt, firstState time.Time

	mu      gosync.Mutex
	match   func(proto.Message) bool // what the run waits for; nil: nothing
	got     chan arrival             // the matching frame, at most one
	readErr error                    // why the reader stopped
	refusal *proto.Error             // the last error frame the server sent
	done    chan struct{}            // closed when the reader stops
}

type dialer = *websocket.Dialer

type arrival struct {
	at  time.Time
	msg proto.Message
}

func isState(m proto.Message) bool { return m.Type == proto.TypeState }

// dial connects a panel, says hello and waits for its room's first state.
func dial(ctx context.Context, d dialer, url string, dev device, timeout time.Duration) (*panel, error) {
	p := &panel{dev: dev}
	if err := p.redial(ctx, d, url, isState, timeout); err != nil {
		return nil, err
	}
	at, _, err := p.wait(ctx, timeout)
	if err != nil {
		p.close()
		return nil, fmt.Errorf("first state: %w", err)
	}
	p.firstState = at
	return p, nil
}

// redial opens a new connection for the panel, waiting for match, and
// says hello. The caller waits for the match.
func (p *panel) redial(ctx context.Context, d dialer, url string, match func(proto.Message) bool, timeout time.Duration) error {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+p.dev.token)
	ws, resp, err := d.DialContext(ctx, url, h)
	if err != nil {
		if resp != nil {
			err = fmt.Errorf("%w (HTTP %s)", err, resp.Status)
		}
		return fmt.Errorf("dial: %w", err)
	}
	p.mu.Lock()
	p.ws = ws
	p.got = make(chan arrival, 1)
	p.done = make(chan struct{})
	p.match = match
	p.readErr, p.refusal = nil, nil
	p.mu.Unlock()
	go p.read(ws, p.got, p.done)
	hello := proto.Message{Type: proto.TypeHello, Hello: &proto.Hello{Protocol: proto.Version, Firmware: "loadtest"}}
	p.helloAt = time.Now()
	if err := p.send(hello, timeout); err != nil {
		p.close()
		return err
	}
	return nil
}

func (p *panel) read(ws *websocket.Conn, got chan arrival, done chan struct{}) {
	defer close(done)
	for {
		_, data, err := ws.ReadMessage()
		at := time.Now()
		if err == nil {
			var m proto.Message
			if m, err = proto.Decode(data); err == nil {
				p.mu.Lock()
				if m.Type == proto.TypeError {
					p.refusal = m.Error
				}
				if p.match != nil && p.match(m) {
					p.match = nil
					got <- arrival{at: at, msg: m}
				}
				p.mu.Unlock()
				continue
			}
			err = fmt.Errorf("the server sent an invalid frame: %w", err)
		}
		p.mu.Lock()
		p.readErr = err
		p.mu.Unlock()
		return
	}
}

// expect sets what the next wait waits for. Call it before causing the
// frame, so that a fast answer is not missed.
func (p *panel) expect(match func(proto.Message) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.got: // a frame nobody waited for
	default:
	}
	p.match = match
}

// wait returns the arrival time of the frame expect asked for.
func (p *panel) wait(ctx context.Context, timeout time.Duration) (time.Time, proto.Message, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case a := <-p.got:
		return a.at, a.msg, nil
	case <-p.done:
		select {
		case a := <-p.got:
			return a.at, a.msg, nil
		default:
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.refusal != nil {
			return time.Time{}, proto.Message{}, fmt.Errorf("panel %s: connection closed: %w", p.dev.id, p.refusal)
		}
		return time.Time{}, proto.Message{}, fmt.Errorf("panel %s: connection closed: %w", p.dev.id, p.readErr)
	case <-ctx.Done():
		return time.Time{}, proto.Message{}, fmt.Errorf("panel %s: %w", p.dev.id, ctx.Err())
	case <-t.C:
		return time.Time{}, proto.Message{}, fmt.Errorf("panel %s: no answer within %v", p.dev.id, timeout)
	}
}

// send writes one frame. Only the run writes, one frame at a time per panel.
func (p *panel) send(m proto.Message, timeout time.Duration) error {
	b, err := proto.Encode(m)
	if err != nil {
		return fmt.Errorf("panel %s: %w", p.dev.id, err)
	}
	p.ws.SetWriteDeadline(time.Now().Add(timeout))
	if err := p.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		return fmt.Errorf("panel %s: send %s: %w", p.dev.id, m, err)
	}
	return nil
}

// close says goodbye as a panel would and waits for the reader to stop.
func (p *panel) close() {
	bye := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "load test done")
	err := p.ws.WriteControl(websocket.CloseMessage, bye, time.Now().Add(time.Second))
	if err == nil {
		// The server answers the close; the reader then stops by itself.
		select {
		case <-p.done:
		case <-time.After(time.Second):
		}
	}
	p.ws.Close()
	<-p.done
}
