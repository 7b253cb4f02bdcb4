package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/store"
)

// activityPageSize is how many entries one page of the activity shows.
const activityPageSize = 50

// activityCursor is a place in the activity listing, which runs newest
// first: an entry's time and key (device/request id), so that entries of
// the same instant keep one order. The zero cursor is the newest end.
type activityCursor struct {
	At  time.Time
	Key string
}

func (c activityCursor) IsZero() bool { return c.At.IsZero() && c.Key == "" }

// String encodes the cursor for a URL: "<unix ns>_<key>".
func (c activityCursor) String() string {
	if c.IsZero() {
		return ""
	}
	return strconv.FormatInt(c.At.UnixNano(), 10) + "_" + c.Key
}

func parseActivityCursor(s string) (activityCursor, error) {
	if s == "" {
		return activityCursor{}, nil
	}
	ns, key, ok := strings.Cut(s, "_")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil {
		return activityCursor{}, fmt.Errorf("%q is not a place in the activity listing", s)
	}
	return activityCursor{At: time.Unix(0, n).UTC(), Key: key}, nil
}

func outcomeKey(o store.Outcome) string { return o.Device + "/" + o.ID }

func cursorOf(o store.Outcome) activityCursor { return activityCursor{At: o.At, Key: outcomeKey(o)} }

// activityPage is one page of the listing, newest first, with the cursors
// of the pages around it.
type activityPage struct {
	Entries []store.Outcome
	// Newer and Older are set when there is a page in that direction:
	// the listing continues after Newer (newer=…) or before Older
	// (older=…).
	Newer, Older activityCursor
}

// listActivity returns a page of at most limit entries of the activity,
// newest first: the newest ones (both cursors zero), those older than
// older, or those newer than newer. It is the one place that reads the
// activity for pages; the store's time-ordered index reads only the page's
// own entries, however long the log.
func listActivity(db ActivityStore, older, newer activityCursor, limit int) (activityPage, error) {
	var p activityPage
	var err error
	var moreOlder, moreNewer bool
	if !newer.IsZero() {
		p.Entries, moreNewer, err = db.ActivityNewer(newer.At, newer.Key, limit)
		moreOlder = true // the newer cursor's own entry is older
	} else {
		p.Entries, moreOlder, err = db.ActivityOlder(older.At, older.Key, limit)
		moreNewer = !older.IsZero()
	}
	if err != nil || len(p.Entries) == 0 {
		return p, err
	}
	if moreNewer {
		p.Newer = cursorOf(p.Entries[0])
	}
	if moreOlder {
		p.Older = cursorOf(p.Entries[len(p.Entries)-1])
	}
	return p, nil
}

// activityRow is one entry as the activity page shows it: in the room's
// local time, with the room's and the panel's names.
type activityRow struct {
	When     string // e.g. "Tue 10 Mar 09:42"
	Zone     string // e.g. "CET"
	ISO      string // the instant, for <time datetime>
	Room     string
	RoomID   string
	Panel    string
	Action   string // book, extend, ...
	What     string // "Booked", "Extended", ...
	Outcome  string
	Refused  bool
	Problem  bool
	LinkRoom bool
}

var actionLabels = map[string]string{
	string(proto.ActionBook): "Booked at the panel", string(proto.ActionExtend): "Extended",
	string(proto.ActionEnd): "Ended early", string(proto.ActionCheckIn): "Checked in",
	"release": "Released (nobody checked in)", "problem": "Problem reported",
}

// activityRows words a page of entries for people.
func (s *Server) activityRows(entries []store.Outcome) []activityRow {
	rooms, _ := s.opts.Store.Rooms()
	roomByID := map[string]store.Room{}
	for _, r := range rooms {
		roomByID[r.ID] = r
	}
	devs, _ := s.opts.Store.Devices()
	panelName := map[string]string{}
	for _, d := range devs {
		panelName[d.ID] = d.Name
	}
	rows := make([]activityRow, 0, len(entries))
	for _, o := range entries {
		room, known := roomByID[o.Room]
		loc := location(room.TimeZone)
		at := o.At.In(loc)
		row := activityRow{When: at.Format("Mon 2 Jan 15:04"), Zone: at.Format("MST"), ISO: o.At.UTC().Format(time.RFC3339),
			Room: room.Name, RoomID: o.Room, LinkRoom: known, Action: o.Action, What: actionLabels[o.Action], Problem: o.Action == "problem"}
		if !known {
			row.Room = o.Room + " (removed)"
		}
		switch name, ok := panelName[o.Device]; {
		case ok && name != "":
			row.Panel = name
		case o.Action == "release":
			row.Panel = "Lintel (automatic)"
		case ok:
			row.Panel = "unnamed panel"
		default:
			row.Panel = "removed panel"
		}
		if row.What == "" {
			row.What = title(o.Action)
		}
		row.Outcome = localizeTimes(o.Summary, loc, at)
		var res proto.Result
		if json.Unmarshal(o.Result, &res) == nil && !res.OK {
			row.Refused = true
			if res.Error != nil && row.Outcome == "" {
				row.Outcome = res.Error.Message
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func (s *Server) activityPage(w http.ResponseWriter, r *http.Request) {
	older, err1 := parseActivityCursor(r.URL.Query().Get("older"))
	newer, err2 := parseActivityCursor(r.URL.Query().Get("newer"))
	if err1 != nil || err2 != nil {
		back(w, r, "/activity", "err", "That page of the activity does not exist; here are the newest entries.")
		return
	}
	p, err := listActivity(s.opts.Store, older, newer, activityPageSize)
	if err != nil {
		s.log.Error("activity page", "err", err)
		http.Error(w, "cannot read the store", http.StatusInternalServerError)
		return
	}
	s.render(w, r, "activity", "Activity", map[string]any{
		"Rows": s.activityRows(p.Entries), "Newer": p.Newer.String(), "Older": p.Older.String(),
	})
}
