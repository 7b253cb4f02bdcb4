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

	rooms, err := s.parseRoomsCSV(strings.NewReader("id,name,calendar,tz,display,instant,teams\nrigi,Rigi,rigi@contoso.com,Europe/Zurich,organizer,true,false\npilatus,Pilatus,,Europe/Zurich,,1,\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rooms) != 2 || rooms[0].Calendar != "rigi@contoso.com" || rooms[0].Display != store.DisplayOrganizer || !rooms[0].Booking.Instant {
		t.Errorf("first room %+v", rooms[0])
	}
	if rooms[1].Calendar != "pilatus" || rooms[1].Display != store.DisplayTitle {
		t.Errorf("defaults for the built-in calendar: %+v", rooms[1])
	}
	for _, tc := range []struct{ csv, want string }{
		{"", "needs a header line"},
		{"name,tz\nx,UTC\n", `no "id" column`},
		{"id,name,tz\nrigi,Rigi,Mars/Base\n", `line 2: time zone "Mars/Base"`},
		{"id,name,tz\nrigi,Rigi,UTC\nrigi,Rigi 2,UTC\n", `line 3: room id "rigi" appears twice`},
		{"id,name,tz,display\nrigi,Rigi,UTC,everything\n", `display mode "everything"`},
		{"id,name,tz\n\"unterminated,x,UTC\n", "not valid CSV"},
	} {
		if _, err := s.parseRoomsCSV(strings.NewReader(tc.csv)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.csv, err, tc.want)
		}
	}
}
