package devices

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lintelhq/lintel/server/store"
)

// With several replicas, an unpaired panel waits on the replica it is
// connected to, and its code lives in that replica's memory; the admin may
// be on any replica. So each replica shows its waiting codes to the others
// (the pending list is everyone's), and a code waiting elsewhere is
// approved by asking the replica that holds it: the panel's connection,
// which receives the credential, is there, and the credential never
// leaves that replica.

// Replicas is what sharing codes needs of the other replicas;
// *store.Replicas is one.
type Replicas interface {
	ID() string
	Show(kind, key string, value []byte) (withdraw func())
	Shown(ctx context.Context, kind string) ([]store.Shown, error)
	Ask(ctx context.Context, replica, kind string, body []byte) ([]byte, error)
}

// Kinds of what replicas show and ask about pairing.
const (
	ShownCodes  = "pairing-codes"
	AskApproval = "pairing-approve"
)

// askTimeout bounds the wait for the replica holding a code.
const askTimeout = 10 * time.Second

// Share makes p list and approve the codes of panels waiting on the other
// replicas. Call it before p serves anyone.
func (p *Pairer) Share(r Replicas) { p.replicas = r }

// approval is an approval passed to the replica holding the code, and
// approved its answer.
type approval struct {
	From string `json:"from"`
	Code string `json:"code"`
	Room string `json:"room"`
	Name string `json:"name"`
}

type approved struct {
	Device Device `json:"device"`
	// Error is one of the error names below, or "" when paired.
	Error   string `json:"error,omitempty"`
	Message string `json:"message,omitempty"`
}

// The errors an approval can end with, by name across replicas, so that
// the admin sees the same status and sentence whichever replica they use.
var approvalErrors = map[string]error{
	"unknown":  ErrCodeUnknown,
	"expired":  ErrCodeExpired,
	"used":     ErrCodeUsed,
	"too-many": ErrTooManyCodes,
	"no-room":  store.ErrNotFound,
}

// Answer answers another replica's question about pairing (its OnAsk);
// ok is false for a question of another kind.
func (p *Pairer) Answer(ctx context.Context, kind string, body []byte) (answer []byte, ok bool) {
	if kind != AskApproval {
		return nil, false
	}
	var q approval
	var out approved
	if err := json.Unmarshal(body, &q); err != nil {
		out.Error, out.Message = "bad", "devices: a malformed approval from another replica"
	} else if d, err := p.approve(ctx, q.From, q.Code, q.Room, q.Name, false); err != nil {
		out.Error, out.Message = "other", err.Error()
		for name, e := range approvalErrors {
			if errors.Is(err, e) {
				out.Error = name
				break
			}
		}
	} else {
		out.Device = d
	}
	b, _ := json.Marshal(out)
	return b, true
}

// approveElsewhere approves code on the replica showing it; found is false
// when no other replica does.
func (p *Pairer) approveElsewhere(ctx context.Context, from, code, room, name string) (d Device, found bool, err error) {
	shown, err := p.replicas.Shown(ctx, ShownCodes)
	if err != nil {
		return Device{}, true, fmt.Errorf("devices: look for the code on the other replicas: %w", err)
	}
	holder := ""
	for _, s := range shown {
		if s.Key == code && s.Replica != p.replicas.ID() {
			holder = s.Replica
		}
	}
	if holder == "" {
		return Device{}, false, nil
	}
	body, _ := json.Marshal(approval{From: from, Code: code, Room: room, Name: name})
	actx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	ans, err := p.replicas.Ask(actx, holder, AskApproval, body)
	if err != nil {
		return Device{}, true, fmt.Errorf("devices: the panel with this code is connected to replica %s, which did not answer; try again: %w", holder, err)
	}
	var out approved
	if err := json.Unmarshal(ans, &out); err != nil {
		return Device{}, true, fmt.Errorf("devices: replica %s answered the approval with something unreadable: %w", holder, err)
	}
	switch e, known := approvalErrors[out.Error]; {
	case out.Error == "":
		return out.Device, true, nil
	case out.Error == "no-room":
		return Device{}, true, fmt.Errorf("devices: add to room %q: %w", room, e)
	case known:
		return Device{}, true, e
	}
	return Device{}, true, errors.New(out.Message)
}

// show announces a waiting code to the other replicas (when shared).
func (p *Pairer) show(w *waiting) (withdraw func()) {
	if p.replicas == nil {
		return func() {}
	}
	v, _ := json.Marshal(Pending{Code: FormatCode(w.code), Addr: w.addr, Since: w.since, Expires: w.expires})
	return p.replicas.Show(ShownCodes, w.code, v)
}

// pendingElsewhere lists the codes waiting on the other replicas.
func (p *Pairer) pendingElsewhere(ctx context.Context) []Pending {
	if p.replicas == nil {
		return nil
	}
	shown, err := p.replicas.Shown(ctx, ShownCodes)
	if err != nil {
		p.svc.log.Warn("cannot list the panels waiting on the other replicas", "err", err)
		return nil
	}
	var out []Pending
	for _, s := range shown {
		var pe Pending
		if s.Replica != p.replicas.ID() && json.Unmarshal(s.Value, &pe) == nil {
			out = append(out, pe)
		}
	}
	return out
}

// Touch tells those following the pending list (Changed) that it may have
// changed: another replica's panel came or went.
func (p *Pairer) Touch() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.notifyLocked()
}
