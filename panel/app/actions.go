package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lintelhq/lintel/panel/i18n"
	"github.com/lintelhq/lintel/panel/view"
	"github.com/lintelhq/lintel/proto"
)

// Touch actions are strings so a view.Target can carry them:
//
//	menu:book | menu:problem | menu:close | teams:toggle
//	menu:later (the free slots of the rest of the day)
//	menu:nearby (free rooms nearby) | menu:nearby:<room> (its bookings)
//	book:room:<room>:until:<end>
//	menu:later:<start>:<end> (the bookings that fit in one slot)
//	book:until:<unix seconds> | book:at:<start>:until:<end>
//	checkin:<meeting> | extend:<meeting>:<minutes>
//	end:<meeting> (arms) | confirm-end:<meeting> (ends)
//	problem:<key>

// menuTimeout closes an open menu nobody finishes.
const menuTimeout = 30 * time.Second

// confirmWindow is how long "End now" waits for its confirming second
// tap: one tap by anyone passing must not end a meeting.
const confirmWindow = 5 * time.Second

// hour12 is the clock of the room on this panel.
func (a *App) hour12Locked() bool {
	hours := 0
	if a.state != nil {
		hours = a.state.Room.Hours
	}
	if a.eff.roomHours != 0 {
		hours = a.eff.roomHours
	}
	return a.lang.Hour12(hours, a.eff.hours)
}

// buttonsLocked lists the buttons for the room's situation. While offline
// every button that needs the server is grey, "Report a problem" too; while
// the schedule is unknown, booking is.
func (a *App) buttonsLocked(st proto.Now, now time.Time, loc *time.Location, offline, known bool) []view.Button {
	w := a.lang.W
	f := a.state.Features
	var out []view.Button
	add := func(label, action string) {
		out = append(out, view.Button{Label: label, Action: action, Disabled: offline || a.busy})
	}
	if id, ok := strings.CutPrefix(a.menu, "nearby:"); ok {
		// A nearby room: the bookings that fit in its free time.
		if n, ok := a.nearbyLocked(id); ok && known {
			for _, c := range proto.SlotChoices(a.eff.bookMinutes, proto.Slot{Start: now, End: freeEnd(n, now, loc)}, a.state.Rules, loc) {
				add(fmt.Sprintf(w.BookUntil, i18n.Clock(c.End, loc, a.hour12Locked())), fmt.Sprintf("book:room:%s:until:%d", n.ID, c.End.Unix()))
			}
		}
		out = append(out, view.Button{Label: w.Cancel, Action: "menu:close"})
		return out
	}
	if sl, ok := parseSlot(a.menu); ok {
		// One slot: the bookings that fit, labelled by their ends as
		// for now (the notice says where they start).
		if known {
			h12 := a.hour12Locked()
			for _, c := range proto.SlotChoices(a.eff.bookMinutes, sl, a.state.Rules, loc) {
				add(fmt.Sprintf(w.BookUntil, i18n.Clock(c.End, loc, h12)), fmt.Sprintf("book:at:%d:until:%d", sl.Start.Unix(), c.End.Unix()))
			}
		}
		out = append(out, view.Button{Label: w.Cancel, Action: "menu:close"})
		return out
	}
	switch a.menu {
	case "book":
		if known {
			for _, c := range proto.BookChoicesOf(a.eff.bookMinutes, a.state.Meetings, now, a.state.Rules, loc) {
				// Labelled by its end, which is what is booked.
				add(fmt.Sprintf(w.BookUntil, i18n.Clock(c.End, loc, a.hour12Locked())), "book:until:"+strconv.FormatInt(c.End.Unix(), 10))
			}
		}
		if f.Teams {
			label := w.TeamsOff
			if a.teams {
				label = w.TeamsOn
			}
			add(label, "teams:toggle")
		}
		out = append(out, view.Button{Label: w.Cancel, Action: "menu:close"})
		return out
	case "later":
		// The rest of the day's free slots, soonest first, as many as
		// fit on a screen with Cancel.
		if known {
			h12 := a.hour12Locked()
			for i, sl := range proto.LaterSlots(a.state.Meetings, now, a.state.Rules, loc) {
				if i == maxSlots {
					break
				}
				add(slotLabel(w, sl, loc, h12), fmt.Sprintf("menu:later:%d:%d", sl.Start.Unix(), sl.End.Unix()))
			}
		}
		out = append(out, view.Button{Label: w.Cancel, Action: "menu:close"})
		return out
	case "nearby":
		if known {
			h12 := a.hour12Locked()
			for _, n := range a.state.Nearby[:min(len(a.state.Nearby), proto.MaxNearby)] {
				add(nearbyLabel(w, n, loc, h12), "menu:nearby:"+n.ID)
			}
		}
		out = append(out, view.Button{Label: w.Cancel, Action: "menu:close"})
		return out
	case "problem":
		for _, p := range problemKeys {
			out = append(out, view.Button{Label: w.Problems[p], Action: "problem:" + p, Disabled: offline})
		}
		out = append(out, view.Button{Label: w.Cancel, Action: "menu:close"})
		return out
	}
	switch {
	case !known:
		if f.Book {
			out = append(out, view.Button{Label: w.BookNow, Action: "menu:book", Disabled: true})
		}
	case st.Status == proto.StatusCheckIn && f.CheckIn && st.Current != nil:
		add(w.CheckInButton, "checkin:"+st.Current.ID)
	case (st.Status == proto.StatusFree || st.Status == proto.StatusSoon) && f.Book:
		if len(proto.BookChoicesOf(a.eff.bookMinutes, a.state.Meetings, now, a.state.Rules, loc)) > 0 {
			add(w.BookNow, "menu:book")
		}
		a.addLaterLocked(add, now, loc)
	case st.Status == proto.StatusBusy && f.ExtendEnd && st.Current != nil && !st.Current.Start.After(now):
		if a.armed == "end:"+st.Current.ID {
			out = append(out, view.Button{Label: w.EndConfirm, Action: "confirm-end:" + st.Current.ID, Disabled: offline || a.busy, Warn: true})
		} else {
			add(w.EndNow, "end:"+st.Current.ID)
		}
		extended := st.Current.End.Add(15 * time.Minute)
		if free, ok := proto.FreeUntil(a.state.Meetings, st.Current.End, loc); ok && (free.IsZero() || !free.Before(extended)) && st.Until.Equal(st.Current.End) {
			add(w.Extend15, "extend:"+st.Current.ID+":15")
		}
		a.addLaterLocked(add, now, loc)
	case st.Status == proto.StatusBusy || st.Status == proto.StatusCheckIn:
		a.addLaterLocked(add, now, loc)
	}
	if known && len(a.state.Nearby) > 0 && st.Status != proto.StatusFree {
		// The room is taken or about to be: the free ones nearby.
		add(w.FindRoom, "menu:nearby")
	}
	out = append(out, view.Button{Label: w.Problem, Action: "menu:problem", Disabled: offline})
	return out
}

// nearbyLocked finds a nearby room of the state.
func (a *App) nearbyLocked(id string) (proto.Nearby, bool) {
	if a.state == nil || id == "" {
		return proto.Nearby{}, false
	}
	for _, n := range a.state.Nearby {
		if n.ID == id {
			return n, true
		}
	}
	return proto.Nearby{}, false
}

// freeEnd is when a nearby room's free time ends: FreeUntil, or midnight.
func freeEnd(n proto.Nearby, now time.Time, loc *time.Location) time.Time {
	if !n.FreeUntil.IsZero() {
		return n.FreeUntil
	}
	lt := now.In(loc)
	return time.Date(lt.Year(), lt.Month(), lt.Day()+1, 0, 0, 0, 0, loc)
}

// nearbyLabel words a nearby room: "Borealis (8) · until 11:00", its
// seats in brackets.
func nearbyLabel(w *i18n.Words, n proto.Nearby, loc *time.Location, h12 bool) string {
	label := n.Name
	if n.Capacity > 0 {
		label += fmt.Sprintf(" (%d)", n.Capacity) // seats: the short form fits two buttons a row
	}
	if n.FreeUntil.IsZero() {
		return label + " · " + w.AllDay
	}
	return label + " · " + fmt.Sprintf(w.Until, i18n.Clock(n.FreeUntil, loc, h12))
}

// maxSlots is how many free slots the "later" menu lists.
const maxSlots = 4

// addLaterLocked adds "Later today" when the room books at the panel and
// has a free slot in the rest of the day.
func (a *App) addLaterLocked(add func(label, action string), now time.Time, loc *time.Location) {
	if a.state.Features.Book && len(proto.LaterSlots(a.state.Meetings, now, a.state.Rules, loc)) > 0 {
		add(a.lang.W.BookLater, "menu:later")
	}
}

// slotLabel words a free slot: "14:00–15:30", or "From 15:00" for one
// that lasts to the end of the day.
func slotLabel(w *i18n.Words, sl proto.Slot, loc *time.Location, h12 bool) string {
	if end := sl.End.In(loc); end.Hour() == 0 && end.Minute() == 0 {
		return fmt.Sprintf(w.From, i18n.Clock(sl.Start, loc, h12))
	}
	return Span(i18n.Clock(sl.Start, loc, h12), i18n.Clock(sl.End, loc, h12))
}

// Span joins two clock times as a range, saying a shared "AM" or "PM"
// once: "10:15–11:00 AM", "11:30 AM–12:30 PM", "14:00–15:30".
func Span(from, to string) string {
	if i, j := strings.LastIndexAny(from, " \u00a0\u202f"), strings.LastIndexAny(to, " \u00a0\u202f"); i > 0 && j > 0 && from[i:] == to[j:] {
		from = from[:i]
	}
	return from + "–" + to
}

// parseSlot reads the slot of a "later:<start>:<end>" menu.
func parseSlot(menu string) (proto.Slot, bool) {
	rest, ok := strings.CutPrefix(menu, "later:")
	if !ok {
		return proto.Slot{}, false
	}
	from, to, ok := strings.Cut(rest, ":")
	s, err1 := strconv.ParseInt(from, 10, 64)
	e, err2 := strconv.ParseInt(to, 10, 64)
	if !ok || err1 != nil || err2 != nil || e <= s {
		return proto.Slot{}, false
	}
	return proto.Slot{Start: time.Unix(s, 0).UTC(), End: time.Unix(e, 0).UTC()}, true
}

// buttonActionLocked maps a hardware button's configured action to what
// it does now: "book" books the shortest choice, "checkin" checks in,
// "end" ends the current meeting (a first press arms, a second within
// confirmWindow ends) and "extend" extends it.
func (a *App) buttonActionLocked(name string) string {
	now := a.nowLocked()
	if a.state == nil || now.IsZero() {
		return ""
	}
	if known, _, _ := proto.Known(a.state, now, a.seenLocked()); !known {
		return ""
	}
	loc := location(a.state.Room.TimeZone)
	st := proto.At(a.state.Meetings, now, a.state.Rules, loc)
	on := st.Current != nil && st.Status == proto.StatusBusy && !st.Current.Start.After(now)
	switch name {
	case "book":
		if cs := proto.BookChoicesOf(a.eff.bookMinutes, a.state.Meetings, now, a.state.Rules, loc); len(cs) > 0 && a.state.Features.Book {
			return "book:until:" + strconv.FormatInt(cs[0].End.Unix(), 10)
		}
	case "checkin":
		if st.Current != nil {
			return "checkin:" + st.Current.ID
		}
	case "end":
		if on && a.armed == "end:"+st.Current.ID {
			return "confirm-end:" + st.Current.ID
		}
		if on {
			return "end:" + st.Current.ID
		}
	case "extend":
		if on {
			return "extend:" + st.Current.ID + ":15"
		}
	}
	return ""
}

// do carries out an action. Requests to the server run on their own
// goroutine so the screen stays live; their answer shows as a notice.
func (a *App) do(ctx context.Context, action string) {
	kind, arg, _ := strings.Cut(action, ":")
	a.mu.Lock()
	w := a.lang.W
	switch kind {
	case "menu":
		a.menu, a.menuUntil = "", time.Time{}
		if arg != "close" {
			a.menu, a.menuUntil, a.teams = arg, a.opts.Now().Add(menuTimeout), false
		}
		a.mu.Unlock()
		a.redraw()
		return
	case "teams":
		a.teams = !a.teams
		a.menuUntil = a.opts.Now().Add(menuTimeout)
		a.mu.Unlock()
		a.redraw()
		return
	case "end":
		// The first tap only arms: the button turns into "Confirm end".
		a.armed, a.armedUntil = action, a.opts.Now().Add(confirmWindow)
		a.mu.Unlock()
		a.redraw()
		return
	case "problem":
		a.menu = ""
		a.mu.Unlock()
		go func() {
			if err := a.opts.Link.Report(ctx, proto.Report{Kind: "problem", Problem: problemText[arg]}); err != nil {
				a.setNotice(w.OfflineNotice, 10*time.Second)
				return
			}
			a.setNotice(w.Thanks, 10*time.Second)
		}()
		return
	}
	if kind == "confirm-end" {
		if a.armed != "end:"+arg {
			a.mu.Unlock() // the confirmation came too late: arm again
			return
		}
		kind = "end"
	}
	a.armed = ""
	req, ok := a.requestLocked(kind, arg)
	if !ok || a.busy {
		a.mu.Unlock()
		return
	}
	a.busy, a.menu = true, ""
	a.notice, a.noticeUntil = w.Working, a.opts.Now().Add(time.Minute)
	loc := time.UTC
	if a.state != nil {
		loc = location(a.state.Room.TimeZone)
	}
	h12 := a.hour12Locked()
	lang := a.lang
	roomName := ""
	if n, ok := a.nearbyLocked(req.Room); ok {
		roomName = n.Name
	}
	a.mu.Unlock()
	a.redraw()

	go func() {
		res, err := a.opts.Link.Request(ctx, newID(), req)
		a.mu.Lock()
		a.busy = false
		a.mu.Unlock()
		a.setNotice(describe(lang, req, res, err, loc, h12, roomName), 15*time.Second)
	}()
}

// requestLocked builds the request an action stands for.
func (a *App) requestLocked(kind, arg string) (proto.Request, bool) {
	switch kind {
	case "book":
		if rest, ok := strings.CutPrefix(arg, "room:"); ok {
			room, until, ok := strings.Cut(rest, ":until:")
			e, err := strconv.ParseInt(until, 10, 64)
			if !ok || err != nil || room == "" {
				return proto.Request{}, false
			}
			return proto.Request{Action: proto.ActionBook, Room: room, Until: time.Unix(e, 0).UTC()}, true
		}
		if at, ok := strings.CutPrefix(arg, "at:"); ok {
			from, until, ok := strings.Cut(at, ":until:")
			s, err1 := strconv.ParseInt(from, 10, 64)
			e, err2 := strconv.ParseInt(until, 10, 64)
			if !ok || err1 != nil || err2 != nil {
				return proto.Request{}, false
			}
			return proto.Request{Action: proto.ActionBook, Start: time.Unix(s, 0).UTC(), Until: time.Unix(e, 0).UTC()}, true
		}
		if until, ok := strings.CutPrefix(arg, "until:"); ok {
			sec, err := strconv.ParseInt(until, 10, 64)
			if err != nil {
				return proto.Request{}, false
			}
			return proto.Request{Action: proto.ActionBook, Until: time.Unix(sec, 0).UTC(), Teams: a.teams}, true
		}
		min, err := strconv.Atoi(arg)
		return proto.Request{Action: proto.ActionBook, Minutes: min, Teams: a.teams}, err == nil && min > 0
	case "checkin":
		return proto.Request{Action: proto.ActionCheckIn, MeetingID: arg}, arg != ""
	case "end":
		return proto.Request{Action: proto.ActionEnd, MeetingID: arg}, arg != ""
	case "extend":
		id, min, _ := strings.Cut(arg, ":")
		m, err := strconv.Atoi(min)
		return proto.Request{Action: proto.ActionExtend, MeetingID: id, Minutes: m}, err == nil && id != ""
	}
	return proto.Request{}, false
}

// describe turns a request's answer into the notice people read, in the
// panel's language: a refusal is worded from its reason or code, never
// from the server's English message.
// roomName names req.Room (a nearby room) in the notice.
func describe(lang i18n.Lang, req proto.Request, res proto.Result, err error, loc *time.Location, h12 bool, roomName string) string {
	w := lang.W
	var pe *proto.Error
	switch {
	case errors.As(err, &pe) && pe.Code == proto.CodeOffline:
		return w.OfflineNotice
	case err != nil:
		return w.Failed
	case !res.OK:
		return lang.Error(res.Error)
	case res.Meeting == nil:
		return w.Done
	}
	end := i18n.Clock(res.Meeting.End, loc, h12)
	switch req.Action {
	case proto.ActionBook:
		if req.Room != "" {
			return fmt.Sprintf(w.BookedRoom, roomName, end)
		}
		if !req.Start.IsZero() && res.Meeting.Start.Equal(req.Start) {
			return fmt.Sprintf(w.BookedLater, i18n.Clock(res.Meeting.Start, loc, h12), end)
		}
		s := fmt.Sprintf(w.Booked, end)
		if req.Teams && res.JoinURL != "" {
			s += " " + w.WithTeams
		}
		return s
	case proto.ActionExtend:
		return fmt.Sprintf(w.Extended, end)
	case proto.ActionEnd:
		return w.Ended
	case proto.ActionCheckIn:
		return w.CheckedIn
	}
	return w.Done
}

var problemKeys = []string{"projector", "dirty", "other"}

// problemText is what the admin reads, in English whatever the panel's
// locale, so one facilities team reads one language.
var problemText = map[string]string{
	"projector": "Projector or screen broken",
	"dirty":     "Room needs cleaning",
	"other":     "Something else is wrong",
}
