package admin

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lintelhq/lintel/panel/i18n"
	"github.com/lintelhq/lintel/server/store"
)

// roomForm is what the room page shows: the room (as stored, or as just
// typed when saving failed) and what the form needs around it.
type roomForm struct {
	Room    store.Room
	New     bool
	Builtin bool // the built-in calendar is in use: meetings are edited here
	Zones   []zoneGroup
	// TeamsNote says why the room's panels do not offer Teams although
	// its settings allow it.
	TeamsNote string
	// Panels counts the panels standing at the room, for the removal
	// warning.
	Panels int
	// Languages are the panels' languages; Lang is the room's, resolved.
	Languages []language
	Lang      string
	// Equipment is what a room may have, each with whether this one has
	// it.
	Equipment []equipment
}

type equipment struct {
	Name string
	Has  bool
}

// language is a choice of the room form's language list.
type language struct{ Tag, Name string }

// languages lists the panels' languages, for the room form.
func languages() []language {
	var out []language
	for _, tag := range i18n.Languages() {
		out = append(out, language{tag, i18n.Resolve(tag).W.Name})
	}
	return out
}

func (s *Server) roomForm(room store.Room, isNew bool) roomForm {
	f := roomForm{Room: room, New: isNew, Builtin: s.builtinInUse(), Zones: zoneGroups(room.TimeZone),
		Languages: languages(), Lang: i18n.Resolve(room.Language).Tag}
	for _, e := range store.Equipments {
		f.Equipment = append(f.Equipment, equipment{Name: e, Has: slices.Contains(room.Equipment, e)})
	}
	if isNew {
		return f
	}
	if st, ok := s.opts.Sync.State(room.ID); ok && room.Booking.Instant && room.Booking.Teams && !st.Features.Teams {
		if f.Builtin {
			f.TeamsNote = "The built-in calendar cannot create Teams meetings: this room's panels do not offer them."
		} else {
			f.TeamsNote = "This room's Microsoft 365 calendar allows no Teams meetings (its allowedOnlineMeetingProviders lacks teamsForBusiness), so its panels do not offer them: give the room mailbox a licence that includes Teams."
		}
	}
	devs, _ := s.opts.Store.Devices()
	for _, d := range devs {
		if d.Room == room.ID && !d.Revoked {
			f.Panels++
		}
	}
	return f
}

// builtinInUse reports whether rooms' meetings come from the built-in
// calendar, and so can be edited in the admin.
func (s *Server) builtinInUse() bool {
	return s.opts.Builtin != nil && s.opts.Provider.Name() == s.opts.Builtin.Name()
}

func (s *Server) roomPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("room")
	room := store.Room{Display: store.DisplayTitle, TimeZone: "Europe/Zurich", Booking: store.BookingSettings{Instant: true, ExtendEnd: true}}
	isNew := id == "new"
	if !isNew {
		var err error
		if room, err = s.opts.Store.Room(id); err != nil {
			http.Error(w, "no such room", http.StatusNotFound)
			return
		}
	}
	s.render(w, r, "room", "Room", s.roomForm(room, isNew))
}

// roomFromForm reads the room form. Numbers that do not parse are kept
// out (zero), and reported by formNumbers.
func roomFromForm(r *http.Request) store.Room {
	num := func(name string) int { n, _ := strconv.Atoi(strings.TrimSpace(r.PostFormValue(name))); return n }
	on := func(name string) bool { return r.PostFormValue(name) == "on" }
	return store.Room{
		ID: strings.TrimSpace(r.PostFormValue("id")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Calendar: strings.TrimSpace(r.PostFormValue("calendar")), TimeZone: strings.TrimSpace(r.PostFormValue("tz")),
		Display: r.PostFormValue("display"), Language: r.PostFormValue("lang"), Hours: num("hours"),
		Building: strings.TrimSpace(r.PostFormValue("building")), Floor: strings.TrimSpace(r.PostFormValue("floor")),
		Capacity: num("capacity"), Equipment: formEquipment(r),
		Booking: store.BookingSettings{
			Instant: on("instant"), Teams: on("teams"), ExtendEnd: on("extend_end"), CheckIn: on("check_in"),
			AutoRelease: on("auto_release"), StepMinutes: num("step"), SoonMinutes: num("soon"),
			CheckInBefore: num("checkin_before"), CheckInAfter: num("checkin_after"),
			MaxMinutes: num("max_min"), OfficeEnd: strings.TrimSpace(r.PostFormValue("office_end")),
		},
	}
}

// formEquipment is the equipment ticked in the room form.
func formEquipment(r *http.Request) []string {
	var out []string
	for _, e := range store.Equipments {
		if r.PostFormValue("equip_"+e) == "on" {
			out = append(out, e)
		}
	}
	return out
}

// formNumbers checks the room form's minute fields: whole numbers from 0
// to 60, or empty for the default.
func formNumbers(r *http.Request) error {
	for name, label := range map[string]string{"step": "Booking step", "soon": "Starting soon", "checkin_before": "Check-in opens", "checkin_after": "Check-in closes"} {
		v := strings.TrimSpace(r.PostFormValue(name))
		if v == "" {
			continue
		}
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 60 {
			return fmt.Errorf("%s must be a whole number of minutes from 0 to 60, not %q", label, v)
		}
	}
	return nil
}

// checkRoom fills defaults and validates a room from the UI, the API or
// an import.
func (s *Server) checkRoom(room *store.Room) error {
	if room.Calendar == "" && s.opts.Provider.Name() == "builtin" {
		room.Calendar = room.ID
	}
	if room.Display == "" {
		room.Display = store.DisplayTitle
	}
	if _, err := time.LoadLocation(room.TimeZone); err != nil || room.TimeZone == "" {
		return fmt.Errorf("time zone %q is not an IANA time zone such as Europe/Zurich", room.TimeZone)
	}
	if room.Language != "" {
		if !i18n.Speaks(room.Language) {
			return fmt.Errorf("language %q is not one the panels speak: %s", room.Language, strings.Join(i18n.Languages(), ", "))
		}
		room.Language = i18n.Resolve(room.Language).Tag
	}
	return room.Validate()
}

func (s *Server) saveRoomForm(w http.ResponseWriter, r *http.Request) {
	room := roomFromForm(r)
	isNew := r.PathValue("room") == "new"
	again := func(msg string) { s.renderError(w, r, "room", "Room", msg, s.roomForm(room, isNew)) }
	if !isNew && room.ID != r.PathValue("room") {
		room.ID = r.PathValue("room")
		again("A room's id cannot be changed; create a new room instead.")
		return
	}
	if err := formNumbers(r); err != nil {
		again(err.Error())
		return
	}
	if isNew {
		if _, err := s.opts.Store.Room(room.ID); err == nil {
			again(fmt.Sprintf("A room with id %q exists already.", room.ID))
			return
		}
	}
	if err := s.checkRoom(&room); err != nil {
		again(title(strings.TrimPrefix(err.Error(), "store: ")) + ".")
		return
	}
	if err := s.opts.Store.PutRoom(room); err != nil {
		again(err.Error())
		return
	}
	s.refresh(r.Context(), room.ID)
	back(w, r, "/rooms", "msg", "Saved "+room.Name+".")
}

// deleteRoomForm removes a room. The page asks first (the button sits in a
// confirmation box), and the form must say it was confirmed, so that one
// stray click or request does not remove a room.
func (s *Server) deleteRoomForm(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("room")
	if r.PostFormValue("confirm") != "yes" {
		back(w, r, "/rooms/"+id, "err", "Nothing removed: confirm the removal with the button in the box.")
		return
	}
	room, err := s.opts.Store.Room(id)
	if err != nil {
		back(w, r, "/rooms", "err", "No such room.")
		return
	}
	if err := s.opts.Store.DeleteRoom(id); err != nil {
		back(w, r, "/rooms", "err", err.Error())
		return
	}
	s.opts.Sync.Forget(id)
	s.log.Info("room removed", "room", id, "admin", sessionOf(r).Admin)
	back(w, r, "/rooms", "msg", "Removed room "+room.Name+".")
}

// maxImport bounds a CSV import.
const maxImport = 1 << 20

// importRooms reads rooms from CSV with a header line naming the columns:
// id,name,calendar,tz,display and optionally instant,teams,extend_end,
// check_in,auto_release (true/false), building, floor, capacity (seats)
// and equipment (display;video;whiteboard). Every row is checked before any is
// stored: a bad file changes nothing, and the page lists every bad line
// at once with the text kept in the form to fix.
func (s *Server) importRooms(w http.ResponseWriter, r *http.Request) {
	text := r.PostFormValue("csv")
	if f, _, err := r.FormFile("file"); err == nil {
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxImport+1))
		if err == nil && len(b) > 0 {
			text = string(b)
		}
	}
	again := func(errs []string) {
		data, err := s.roomsData()
		if err != nil {
			http.Error(w, "cannot read the store", http.StatusInternalServerError)
			return
		}
		data.ImportCSV, data.ImportErrors = text, errs
		s.renderError(w, r, "rooms", "Rooms", fmt.Sprintf("Nothing imported: %d problems, listed below the CSV.", len(errs)), data)
	}
	if len(text) > maxImport {
		again([]string{"the CSV is larger than 1 MiB: import it in parts"})
		return
	}
	rooms, errs := s.parseRoomsCSV(strings.NewReader(text))
	if len(errs) > 0 {
		again(errs)
		return
	}
	for _, room := range rooms {
		if err := s.opts.Store.PutRoom(room); err != nil {
			again([]string{"import stopped at room " + room.ID + ": " + err.Error()})
			return
		}
		s.refresh(r.Context(), room.ID)
	}
	back(w, r, "/rooms", "msg", fmt.Sprintf("Imported %d rooms.", len(rooms)))
}

// parseRoomsCSV reads and checks every line, returning the rooms, or
// every problem found (one per bad line, "line N: ...").
func (s *Server) parseRoomsCSV(src io.Reader) ([]store.Room, []string) {
	cr := csv.NewReader(io.LimitReader(src, maxImport))
	cr.TrimLeadingSpace = true
	cr.FieldsPerRecord = -1 // short lines are checked below, with the others
	records, err := cr.ReadAll()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, []string{fmt.Sprintf("line %d: not valid CSV: %v", pe.StartLine, pe.Err)}
		}
		return nil, []string{"not valid CSV: " + err.Error()}
	}
	if len(records) < 2 {
		return nil, []string{"the CSV needs a header line (id,name,calendar,tz,display,...) and at least one room"}
	}
	col := map[string]int{}
	for i, h := range records[0] {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	var problems []string
	for _, need := range []string{"id", "name", "tz"} {
		if _, ok := col[need]; !ok {
			problems = append(problems, fmt.Sprintf("line 1: the header has no %q column", need))
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var rooms []store.Room
	seen := map[string]int{}
	for i, rec := range records[1:] {
		line := i + 2
		var bad []string
		flag := func(name string) bool {
			v := get(rec, name)
			if v == "" {
				return false
			}
			switch strings.ToLower(v) {
			case "true", "yes", "y", "1", "on":
				return true
			case "false", "no", "n", "0", "off":
				return false
			}
			bad = append(bad, fmt.Sprintf("%s is %q, not true or false", name, v))
			return false
		}
		room := store.Room{ID: get(rec, "id"), Name: get(rec, "name"), Calendar: get(rec, "calendar"), TimeZone: get(rec, "tz"),
			Display: get(rec, "display"), Booking: store.BookingSettings{Instant: flag("instant"), Teams: flag("teams"),
				ExtendEnd: flag("extend_end"), CheckIn: flag("check_in"), AutoRelease: flag("auto_release")},
			Building: get(rec, "building"), Floor: get(rec, "floor")}
		if v := get(rec, "capacity"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				bad = append(bad, fmt.Sprintf("capacity is %q, not a number of seats", v))
			}
			room.Capacity = n
		}
		// Equipment: names separated by ';' or spaces, e.g. "display;video".
		room.Equipment = strings.FieldsFunc(strings.ToLower(get(rec, "equipment")), func(r rune) bool { return r == ';' || r == ' ' || r == ',' })
		if err := s.checkRoom(&room); err != nil {
			bad = append(bad, strings.TrimPrefix(err.Error(), "store: "))
		}
		if first, dup := seen[room.ID]; dup && room.ID != "" {
			bad = append(bad, fmt.Sprintf("room id %q appears twice (first on line %d)", room.ID, first))
		}
		if len(bad) > 0 {
			problems = append(problems, fmt.Sprintf("line %d: %s", line, strings.Join(bad, "; ")))
			continue
		}
		seen[room.ID] = line
		rooms = append(rooms, room)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return rooms, nil
}
