package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/store"
	"github.com/lintelhq/lintel/server/store/etcdtest"
)

// BenchmarkReplicaFanout measures how long a room's new state takes from
// its owner's re-read to every panel of the room: on one server (bbolt),
// and on three replicas on etcd with the panels spread over all three (two
// thirds of them on replicas that do not own the room, reached through
// etcd's watch). Same panels, same room, same machine, one run:
//
//	go test -run '^$' -bench ReplicaFanout -benchtime 50x ./server/
//
// It reports the p50 and p99 over all panels and changes, in ms.
func BenchmarkReplicaFanout(b *testing.B) {
	const panels = 150
	b.Run("single", func(b *testing.B) {
		ts := newTestServer(b)
		fanoutBench(b, []*testServer{ts}, panels)
	})
	b.Run("replicas-3", func(b *testing.B) {
		cluster := etcdtest.Start(b, 1)
		fanoutBench(b, startReplicas(b, cluster, 3), panels)
	})
}

// statePanel is a panel connection that tells when each state arrives.
type statePanel struct {
	conn *websocket.Conn
	seen chan arrival
}

// arrival is a state's first meeting's title, and when the state came.
type arrival struct {
	title string
	at    time.Time
}

func dialStatePanel(b *testing.B, url, token string) *statePanel {
	conn, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		b.Fatal(err)
	}
	hello, _ := proto.Encode(proto.Message{Type: proto.TypeHello, Hello: &proto.Hello{Protocol: proto.Version, Firmware: "bench"}})
	if err := conn.WriteMessage(websocket.TextMessage, hello); err != nil {
		b.Fatal(err)
	}
	p := &statePanel{conn: conn, seen: make(chan arrival, 1024)}
	go func() {
		defer close(p.seen)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			at := time.Now()
			if m, err := proto.Decode(data); err == nil && m.Type == proto.TypeState && len(m.State.Meetings) > 0 {
				p.seen <- arrival{m.State.Meetings[0].Title, at}
			}
		}
	}()
	b.Cleanup(func() { conn.Close() })
	return p
}

func fanoutBench(b *testing.B, servers []*testServer, panels int) {
	const room = "fan"
	servers[0].addRoom(store.Room{ID: room, Name: "Fan", TimeZone: "UTC", Display: store.DisplayTitle})
	conns := make([]*statePanel, panels)
	for i := range conns {
		ts := servers[i%len(servers)]
		conns[i] = dialStatePanel(b, ts.wsURL(), servers[0].addDevice(room))
	}
	// The owner reads the room (on one server, the server).
	owner := servers[0]
	if owner.app.replicas != nil {
		owner = nil
		for deadline := time.Now().Add(20 * time.Second); owner == nil; time.Sleep(10 * time.Millisecond) {
			for _, ts := range servers {
				if ts.app.replicas.Owns(room) {
					owner = ts
				}
			}
			if owner == nil && time.Now().After(deadline) {
				b.Fatal("no replica took the room")
			}
		}
	}
	change := func(title string) {
		now := owner.now().UTC()
		err := owner.app.db.UpdateEvents(room, func([]store.Event) ([]store.Event, error) {
			return []store.Event{{ID: title, Subject: title, Organizer: "Bench", Start: now.Add(-time.Minute), End: now.Add(30 * time.Minute)}}, nil
		})
		if err != nil {
			b.Fatal(err)
		}
		owner.app.sync.Refresh(context.Background(), room)
	}
	// wait collects, for every panel, when title arrived.
	wait := func(title string, start time.Time, into []time.Duration) []time.Duration {
		for i, p := range conns {
			timeout := time.After(10 * time.Second)
			for got := (arrival{}); got.title != title; {
				select {
				case a, ok := <-p.seen:
					if !ok {
						b.Fatalf("panel %d disconnected", i)
					}
					got = a
				case <-timeout:
					b.Fatalf("panel %d: %q not within 10 s", i, title)
				}
				if got.title == title {
					into = append(into, got.at.Sub(start))
				}
			}
		}
		return into
	}
	// Warm up: every panel has a state with a meeting.
	change("warm")
	wait("warm", time.Now(), nil)

	var took []time.Duration
	b.ResetTimer()
	for n := range b.N {
		title := fmt.Sprint("chg-", n)
		start := time.Now()
		change(title)
		took = wait(title, start, took)
	}
	b.StopTimer()
	reportLatencies(b, took)
}

// reportLatencies reports the p50 and p99 of took, in ms, instead of the
// time per operation.
func reportLatencies(b *testing.B, took []time.Duration) {
	slices.Sort(took)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
	b.ReportMetric(ms(took[len(took)*99/100]), "p99-ms")
	b.ReportMetric(0, "ns/op")
}
