package graph

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
)

// echoEndpoint answers Graph's validation handshake and accepts
// notifications.
func echoEndpoint(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("validationToken"); tok != "" {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, tok)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// Subscriptions are created, renewed and deleted in $batch calls with the
// real SDK; a room outside the access policy gets a denial that says the
// room falls back to polling, and a URL Graph cannot validate says how
// to fix the URL.
func TestSubscribeRenewUnsubscribe(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	var rooms []string
	for _, n := range []string{"a", "b", "c"} {
		rooms = append(rooms, e.room(n))
	}
	e.srv.Deny(rooms[2])
	url := echoEndpoint(t)
	exp := time.Now().Add(4000 * time.Minute).Truncate(time.Second)
	var reqs []calendar.SubscribeRequest
	for _, r := range rooms {
		reqs = append(reqs, calendar.SubscribeRequest{Room: r, NotificationURL: url + "/graph/notifications", LifecycleURL: url + "/graph/lifecycle", ClientState: "state-" + r, Expires: exp})
	}
	ctx := context.Background()
	got := e.p.Subscribe(ctx, reqs)
	for _, r := range rooms[:2] {
		if s := got[r]; s.Err != nil || s.ID == "" || !s.Expires.Equal(exp) {
			t.Errorf("%s: %+v", r, s)
		}
	}
	if s := got[rooms[2]]; !errors.Is(s.Err, calendar.ErrDenied) || !strings.Contains(s.Err.Error(), "falls back to polling") {
		t.Errorf("denied room: %v", s.Err)
	}
	st := e.srv.Stats()
	if st.Requests != 1 || st.BatchItems != 3 {
		t.Errorf("stats %+v: want one $batch of 3", st)
	}
	subs := e.srv.Subscriptions()
	if len(subs) != 2 || subs[0].ClientState == "" || subs[0].LifecycleURL == "" {
		t.Fatalf("subscriptions in Graph: %+v", subs)
	}

	ids := []string{got[rooms[0]].ID, got[rooms[1]].ID}
	later := exp.Add(200 * time.Minute)
	for id, s := range e.p.Renew(ctx, ids, later) {
		if s.Err != nil || !s.Expires.Equal(later) {
			t.Errorf("renew %s: %+v", id, s)
		}
	}
	e.srv.ExpireSubscription(ids[1])
	if s := e.p.Renew(ctx, ids[1:], later)[ids[1]]; !errors.Is(s.Err, calendar.ErrNotFound) {
		t.Errorf("renewing an expired subscription: %v, want not found", s.Err)
	}
	for id, err := range e.p.Unsubscribe(ctx, ids) {
		if err != nil {
			t.Errorf("unsubscribe %s: %v", id, err)
		}
	}
	if n := len(e.srv.Subscriptions()); n != 0 {
		t.Errorf("%d subscriptions left", n)
	}

	bad := e.p.Subscribe(ctx, []calendar.SubscribeRequest{{Room: rooms[0], NotificationURL: "http://127.0.0.1:1/graph/notifications", ClientState: "x", Expires: exp}})
	if err := bad[rooms[0]].Err; err == nil || !strings.Contains(err.Error(), "reachable from the internet") {
		t.Errorf("unreachable URL: %v", err)
	}
}
