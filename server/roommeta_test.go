package main

import (
	"net/http"
	"slices"
	"testing"

	"github.com/lintelhq/lintel/server/store"
)

// TestRoomDescription: a room's building, floor, seats and equipment go
// through the API and back, and a bad description is refused with what
// is wrong.
func TestRoomDescription(t *testing.T) {
	ts := newTestServer(t)
	in := store.Room{ID: "titlis", Name: "Titlis", TimeZone: "Europe/Zurich", Display: store.DisplayTitle,
		Building: "HQ", Floor: "4", Capacity: 8, Equipment: []string{"display", "whiteboard"}}
	if code := ts.api("POST", "/api/v1/rooms", in, nil); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	var out store.Room
	if code := ts.api("GET", "/api/v1/rooms/titlis", nil, &out); code != http.StatusOK {
		t.Fatalf("get: %d", code)
	}
	if out.Building != "HQ" || out.Floor != "4" || out.Capacity != 8 || !slices.Equal(out.Equipment, in.Equipment) {
		t.Errorf("read back %+v", out)
	}
	for name, bad := range map[string]store.Room{
		"unknown equipment": {ID: "x1", Name: "X", TimeZone: "UTC", Display: store.DisplayTitle, Equipment: []string{"espresso"}},
		"negative seats":    {ID: "x2", Name: "X", TimeZone: "UTC", Display: store.DisplayTitle, Capacity: -1},
	} {
		if code := ts.api("POST", "/api/v1/rooms", bad, nil); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, code)
		}
	}
}
