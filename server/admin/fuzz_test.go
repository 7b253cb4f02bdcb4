package admin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lintelhq/lintel/server/calendar/builtin"
	"github.com/lintelhq/lintel/server/store"
)

// FuzzRoomsCSV: the rooms import reads a file the admin uploads (often
// exported from somewhere else): whatever it holds, the parser answers
// with rooms or reasons, never both, never a crash, and every room it
// accepts is one the store takes.
func FuzzRoomsCSV(f *testing.F) {
	db, err := store.Open(filepath.Join(f.TempDir(), "lintel.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	cal := builtin.New(db)
	s := &Server{opts: Opts{Store: db, Provider: cal, Builtin: cal}}
	f.Add("id,name,calendar,tz,display,instant,teams\nrigi,Rigi,rigi@contoso.com,Europe/Zurich,organizer,true,false\npilatus,Pilatus,,Europe/Zurich,,1,\n")
	f.Add("id,name,tz\n\"unterminated,x,UTC\n")
	f.Add("\ufeffid;name;tz\r\nrigi;Rigi;UTC\r\n")
	f.Add("id,name,tz,check_in,auto_release\nrigi,Rigi,Mars/Base,yes,maybe\n")
	f.Fuzz(func(t *testing.T, text string) {
		rooms, errs := s.parseRoomsCSV(strings.NewReader(text))
		if len(rooms) > 0 && len(errs) > 0 {
			t.Fatalf("both rooms and errors: %d, %q", len(rooms), errs)
		}
		for _, r := range rooms {
			if r.ID == "" || r.Name == "" {
				t.Fatalf("a room without id or name: %+v", r)
			}
			if _, err := json.Marshal(r); err != nil {
				t.Fatalf("room %+v: %v", r, err)
			}
		}
	})
}

// FuzzReadJSON: the admin API's decoder of request bodies refuses what is
// not one JSON value of the endpoint's shape, with 400, or 413 over the
// limit, and never panics.
func FuzzReadJSON(f *testing.F) {
	f.Add([]byte(`{"id":"rigi","name":"Rigi","time_zone":"UTC"}`))
	f.Add([]byte(`{"id":"rigi","unknown":1}`))
	f.Add([]byte(`{"booking":{"max_minutes":-1}} trailing`))
	f.Add(bytes.Repeat([]byte(" "), maxJSON+1))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/api/v1/rooms", bytes.NewReader(body))
		var room store.Room
		err := readJSON(r, &room)
		if err == nil {
			return
		}
		ae, ok := err.(*apiError)
		if !ok || (ae.status != http.StatusBadRequest && ae.status != http.StatusRequestEntityTooLarge) {
			t.Fatalf("readJSON(%.40q): %v", body, err)
		}
	})
}
