package sync

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/store"
)

// keepRecorded is how long after its end the syncer remembers having
// recorded a meeting: longer than a read reaches back (the room's local
// midnight), so a meeting is not written again on every poll.
const keepRecorded = 48 * time.Hour

// record writes down the room's meetings that have started, from a
// successful read at now, for the utilization figures: each once, and
// again when it changed (extended, ended early). A meeting of the last
// read that has started but is missing from this one (released for a
// no-show, cancelled or deleted) is recorded as last read, so a no-show
// released before any read saw it started still has its hours. All-day
// events are left out: they would count as a day of use. With the
// Meetings option unset it does nothing.
func (s *Syncer) record(r store.Room, events []calendar.Event, now time.Time) {
	if s.opts.Meetings == nil {
		return
	}
	s.mu.Lock()
	rs, ok := s.rooms[r.ID]
	s.mu.Unlock()
	if !ok {
		return
	}
	rs.recording.Lock()
	defer rs.recording.Unlock()
	loc, err := time.LoadLocation(r.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	cur := make(map[string]store.Meeting, len(events))
	for _, e := range events {
		if e.AllDay || e.ID == "" {
			continue
		}
		cur[e.ID] = store.Meeting{Room: r.ID, ID: e.ID, Title: Title(r.Display, e), Organizer: Organizer(r.Display, e),
			Start: e.Start.UTC(), End: e.End.UTC(), Series: SeriesKey(e, loc), CheckIn: r.Booking.CheckIn}
	}
	var due []store.Meeting
	for _, m := range cur {
		if !m.Start.After(now) {
			due = append(due, m)
		}
	}
	for id, m := range rs.seen {
		if _, ok := cur[id]; !ok && !m.Start.After(now) {
			due = append(due, m)
		}
	}
	if rs.recorded == nil {
		rs.recorded = map[string]store.Meeting{}
	}
	for _, m := range due {
		old, ok := rs.recorded[m.ID]
		if ok && old == m {
			continue
		}
		if err := s.opts.Meetings.PutMeeting(m, old.Start); err != nil {
			s.log.Warn("cannot record a meeting for the utilization figures", "room", r.ID, "err", err)
			continue
		}
		rs.recorded[m.ID] = m
	}
	for id, m := range rs.recorded {
		if m.End.Before(now.Add(-keepRecorded)) {
			delete(rs.recorded, id)
		}
	}
	rs.seen = cur
}

// SeriesKey tells the occurrences of one recurring meeting: the
// calendar's series id where it has one (Microsoft 365's seriesMasterId).
// The built-in calendar has no series, and a meeting repeated by hand is a
// series to the people who miss it, so otherwise the key is made of the
// subject (not a private one's), the organizer and the local time of day:
// a hash, so the record holds no subject a panel would not show.
func SeriesKey(e calendar.Event, loc *time.Location) string {
	if e.SeriesID != "" {
		return "series:" + e.SeriesID
	}
	subject := e.Subject
	if e.Private {
		subject = ""
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{strings.ToLower(strings.TrimSpace(subject)), strings.ToLower(strings.TrimSpace(e.Organizer)), e.Start.In(loc).Format("15:04")}, "\x00")))
	return "same:" + hex.EncodeToString(sum[:12])
}
