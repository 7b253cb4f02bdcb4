package booking

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/store"
)

// ReleaseComment is what the organizer of a released meeting reads.
const ReleaseComment = "Released by the room: nobody checked in at the door panel, so the room was freed for others."

// releaser is how released meetings appear in the activity log.
const releaser = "lintel"

// RunAutoRelease releases no-shows every interval until ctx ends.
func (s *Service) RunAutoRelease(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.ReleaseNoShows(ctx); err != nil {
			s.log.Warn("auto-release pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ReleaseNoShows makes one pass over the rooms with check-in and
// auto-release on, and releases each meeting whose check-in window has
// closed without a check-in: the room declines it with ReleaseComment,
// which tells the organizer.
func (s *Service) ReleaseNoShows(ctx context.Context) error {
	rooms, err := s.opts.Store.Rooms()
	if err != nil {
		return fmt.Errorf("booking: auto-release: %w", err)
	}
	now := s.opts.Now()
	for _, room := range rooms {
		if !room.Booking.CheckIn || !room.Booking.AutoRelease {
			continue
		}
		if err := s.releaseRoom(ctx, room, now); err != nil {
			s.log.Warn("auto-release failed for a room", "room", room.ID, "err", err)
		}
	}
	return nil
}

func (s *Service) releaseRoom(ctx context.Context, room store.Room, now time.Time) error {
	rules := proto.Rules{CheckInAfterMinutes: room.Booking.CheckInAfter}
	if s.opts.States != nil {
		// Skip the calendar read unless the last state holds a meeting
		// whose check-in window has closed without a check-in: with Graph,
		// a read per room every pass would cost far more requests than
		// the polling itself.
		st, ok := s.opts.States.State(room.ID)
		due := false
		for _, m := range st.Meetings {
			due = due || (!m.AllDay && !m.CheckedIn && !now.Before(m.Start.Add(rules.CheckInAfter())) && now.Before(m.End))
		}
		if ok && !due {
			return nil
		}
	}
	lock := s.roomLock(room.ID)
	lock.Lock()
	defer lock.Unlock()
	got, err := s.opts.Provider.Events(ctx, []string{room.Calendar}, now.Add(-12*time.Hour), now.Add(time.Minute))
	if err == nil {
		err = got[room.Calendar].Err
	}
	if err != nil {
		return fmt.Errorf("read calendar: %w", err)
	}
	released := false
	for _, e := range got[room.Calendar].Events {
		deadline := e.Start.Add(rules.CheckInAfter())
		if e.AllDay || now.Before(deadline) || !now.Before(e.End) || s.opts.Store.CheckedIn(room.ID, e.ID) {
			continue
		}
		if err := s.opts.Provider.Release(ctx, room.Calendar, e.ID, ReleaseComment); err != nil {
			return fmt.Errorf("release %s: %w", e.ID, err)
		}
		released = true
		res, _ := json.Marshal(proto.Result{OK: true})
		o := store.Outcome{Device: releaser, ID: "release-" + e.ID, Room: room.ID, Action: "release", At: now.UTC(), Result: res,
			Summary: fmt.Sprintf("released the meeting at %s: nobody checked in", e.Start.Format(time.RFC3339))}
		if err := s.opts.Store.PutOutcome(o); err != nil {
			s.log.Error("cannot record a release", "room", room.ID, "err", err)
		}
		s.log.Info("released a meeting nobody checked in to", "room", room.ID, "event", e.ID)
	}
	if released {
		s.refresh(room.ID)
	}
	return nil
}
