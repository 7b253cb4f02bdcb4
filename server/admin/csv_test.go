package admin

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/lintelhq/lintel/server/calendar/builtin"
	"github.com/lintelhq/lintel/server/store"
)

func TestParseRoomsCSV(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "lintel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cal := builtin.New(db)
	s := &Server{opts: Opts{Store: db, Provider: cal, Builtin: cal}}

	rooms, errs := s.parseRoomsCSV(strings.NewReader("id,name,calendar,tz,display,instant,teams\nrigi,Rigi,rigi@contoso.com,Europe/Zurich,organizer,true,false\npilatus,Pilatus,,Europe/Zurich,,1,\n"))
	if errs != nil {
		t.Fatal(errs)
	}
	if len(rooms) != 2 || rooms[0].Calendar != "rigi@contoso.com" || rooms[0].Display != store.DisplayOrganizer || !rooms[0].Booking.Instant {
		t.Errorf("first room %+v", rooms[0])
	}
	if rooms[1].Calendar != "pilatus" || rooms[1].Display != store.DisplayTitle {
		t.Errorf("defaults for the built-in calendar: %+v", rooms[1])
	}
	// Where the room is and what it has.
	rooms, errs = s.parseRoomsCSV(strings.NewReader("id,name,tz,building,floor,capacity,equipment\ntitlis,Titlis,UTC,HQ,4,8,Display;video\n"))
	if errs != nil {
		t.Fatal(errs)
	}
	if r := rooms[0]; r.Building != "HQ" || r.Floor != "4" || r.Capacity != 8 || strings.Join(r.Equipment, ",") != "display,video" {
		t.Errorf("described room %+v", r)
	}
	for _, tc := range []struct {
		csv  string
		want []string
	}{
		{"id,name,tz,capacity\nrigi,Rigi,UTC,many\n", []string{`capacity is "many", not a number of seats`}},
		{"id,name,tz,capacity\nrigi,Rigi,UTC,-3\n", []string{"capacity -3 must be from 0"}},
		{"id,name,tz,equipment\nrigi,Rigi,UTC,display;espresso\n", []string{`equipment "espresso" is not one of display, video, whiteboard`}},
		{"id,name,tz,equipment\nrigi,Rigi,UTC,video;video\n", []string{`equipment "video" is listed twice`}},
		{"", []string{"needs a header line"}},
		{"name,tz\nx,UTC\n", []string{`line 1: the header has no "id" column`}},
		{"id,name,tz\nrigi,Rigi,Mars/Base\n", []string{`line 2: time zone "Mars/Base"`}},
		{"id,name,tz\nrigi,Rigi,UTC\nrigi,Rigi 2,UTC\n", []string{`line 3: room id "rigi" appears twice (first on line 2)`}},
		{"id,name,tz,display\nrigi,Rigi,UTC,everything\n", []string{`display mode "everything"`}},
		{"id,name,tz\n\"unterminated,x,UTC\n", []string{"line 2: not valid CSV"}},
		// Every bad line at once, each with all its problems.
		{"id,name,tz,display,instant\nok,Ok,UTC,title,true\nbad id!,Bad,Mars/Base,title,sure\nx,,UTC,title,\ny,Y,UTC,everything,maybe\n", []string{
			`line 3: instant is "sure", not true or false; time zone "Mars/Base"`,
			"line 4: room x has no name",
			`line 5: instant is "maybe", not true or false; room y: display mode "everything"`,
		}},
	} {
		rooms, errs := s.parseRoomsCSV(strings.NewReader(tc.csv))
		if rooms != nil || len(errs) != len(tc.want) {
			t.Errorf("%q: rooms %v, problems %q; want %d problems", tc.csv, rooms, errs, len(tc.want))
			continue
		}
		for i, want := range tc.want {
			if !strings.Contains(errs[i], want) {
				t.Errorf("%q: problem %d is %q, want %q", tc.csv, i, errs[i], want)
			}
		}
	}
}
