package graph

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
)

func TestRoomsFromPlaces(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	e.srv.AddMailbox(graphtest.Mailbox{Address: "aurora@x", Name: "Aurora", Room: true, Capacity: 8, Building: "HQ", Floor: 2})
	e.srv.AddMailbox(graphtest.Mailbox{Address: "ceo@x", Name: "Chief Executive"})

	_, err := e.p.Rooms(context.Background())
	var ce *calendar.Error
	if !errors.As(err, &ce) || ce.Kind != calendar.ErrDenied || !strings.Contains(ce.Fix, "Place.Read.All") {
		t.Fatalf("without Place.Read.All: err = %v", err)
	}

	e.srv.AddApp(graphtest.App{ClientID: testClientID, Secret: testSecret, Roles: []string{"Calendars.ReadWrite", "Place.Read.All"}})
	// A new provider: the old one holds a token without the new role.
	p, err := New(context.Background(), e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	rooms, err := p.Rooms(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Room{Address: "aurora@x", Name: "Aurora", Capacity: 8, Building: "HQ", Floor: 2}
	if len(rooms) != 1 || rooms[0] != want {
		t.Errorf("rooms %+v, want [%+v]", rooms, want)
	}
}
