package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lintelhq/lintel/panel/view"
	"github.com/lintelhq/lintel/proto"
)

// Touch actions are strings so a view.Target can carry them:
//
//	menu:book | menu:problem | menu:close | teams:toggle
//	book:<minutes> | book:until:<unix seconds>
//	checkin:<meeting> | extend:<meeting>:<minutes> | end:<meeting>
//	problem:<key>

// menuTimeout closes an open menu nobody finishes.
const menuTimeout = 30 * time.Second

// buttonsLocked lists the buttons for the room's situation.
func (a *App) buttonsLocked(st proto.Now, now time.Time, loc *time.Location, offline bool) []view.Button {
	w := words(a.opts.Locale)
	f := a.state.Features
	var out []view.Button
	add := func(label, action string) {
		out = append(out, view.Button{Label: label, Action: action, Disabled: offline || a.busy})
	}
	switch a.menu {
	case "book":
		for _, c := range proto.BookChoices(a.state.Meetings, now, a.state.Rules, loc) {
			if c.Minutes > 0 {
				add(fmt.Sprintf(w.minutes, c.Minutes), "book:"+strconv.Itoa(c.Minutes))
			} else {
				add(w.until+" "+clock(c.End.In(loc), a.opts.Locale, a.opts.Hours), "book:until:"+strconv.FormatInt(c.End.Unix(), 10))
			}
		}
		if f.Teams {
			label := w.teamsOff
			if a.teams {
				label = w.teamsOn
			}
			add(label, "teams:toggle")
		}
		out = append(out, view.Button{Label: w.cancel, Action: "menu:close"})
		return out
	case "problem":
		for _, p := range problemKeys {
			out = append(out, view.Button{Label: w.problems[p], Action: "problem:" + p, Disabled: offline})
		}
		out = append(out, view.Button{Label: w.cancel, Action: "menu:close"})
		return out
	}
	switch {
	case st.Status == proto.StatusCheckIn && f.CheckIn && st.Current != nil:
		add(w.checkIn, "checkin:"+st.Current.ID)
	case (st.Status == proto.StatusFree || st.Status == proto.StatusSoon) && f.Book:
		if len(proto.BookChoices(a.state.Meetings, now, a.state.Rules, loc)) > 0 {
			add(w.bookNow, "menu:book")
		}
	case st.Status == proto.StatusBusy && f.ExtendEnd && st.Current != nil:
		extended := st.Current.End.Add(15 * time.Minute)
		if free, ok := proto.FreeUntil(a.state.Meetings, st.Current.End, loc); ok && (free.IsZero() || !free.Before(extended)) && st.Until.Equal(st.Current.End) {
			add(w.extend15, "extend:"+st.Current.ID+":15")
		}
		add(w.endNow, "end:"+st.Current.ID)
	}
	out = append(out, view.Button{Label: w.problem, Action: "menu:problem"})
	return out
}

// buttonActionLocked maps a hardware button's configured action to what
// it does now: "book" books the shortest choice, "checkin" checks in,
// "end" ends and "extend" extends the current meeting.
func (a *App) buttonActionLocked(name string) string {
	now := a.nowLocked()
	if a.state == nil || now.IsZero() {
		return ""
	}
	loc := location(a.state.Room.TimeZone)
	st := proto.At(a.state.Meetings, now, a.state.Rules, loc)
	switch name {
	case "book":
		if cs := proto.BookChoices(a.state.Meetings, now, a.state.Rules, loc); len(cs) > 0 && a.state.Features.Book {
			if cs[0].Minutes > 0 {
				return "book:" + strconv.Itoa(cs[0].Minutes)
			}
			return "book:until:" + strconv.FormatInt(cs[0].End.Unix(), 10)
		}
	case "checkin":
		if st.Current != nil {
			return "checkin:" + st.Current.ID
		}
	case "end":
		if st.Current != nil && st.Status == proto.StatusBusy {
			return "end:" + st.Current.ID
		}
	case "extend":
		if st.Current != nil && st.Status == proto.StatusBusy {
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
	w := words(a.opts.Locale)
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
	case "problem":
		a.menu = ""
		a.mu.Unlock()
		go func() {
			if err := a.opts.Link.Report(ctx, proto.Report{Kind: "problem", Problem: problemText[arg]}); err != nil {
				a.setNotice(w.offline, 10*time.Second)
				return
			}
			a.setNotice(w.thanks, 10*time.Second)
		}()
		return
	}
	req, ok := a.requestLocked(kind, arg)
	if !ok || a.busy {
		a.mu.Unlock()
		return
	}
	a.busy, a.menu = true, ""
	a.notice, a.noticeUntil = w.working, a.opts.Now().Add(time.Minute)
	loc := time.UTC
	if a.state != nil {
		loc = location(a.state.Room.TimeZone)
	}
	a.mu.Unlock()
	a.redraw()

	go func() {
		res, err := a.opts.Link.Request(ctx, newID(), req)
		a.mu.Lock()
		a.busy = false
		a.mu.Unlock()
		a.setNotice(a.describe(req, res, err, loc), 15*time.Second)
	}()
}

// requestLocked builds the request an action stands for.
func (a *App) requestLocked(kind, arg string) (proto.Request, bool) {
	switch kind {
	case "book":
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

// describe turns a request's answer into the notice people read.
func (a *App) describe(req proto.Request, res proto.Result, err error, loc *time.Location) string {
	w := words(a.opts.Locale)
	var pe *proto.Error
	switch {
	case errors.As(err, &pe) && pe.Code == proto.CodeOffline:
		return w.offline
	case err != nil:
		return w.failed
	case !res.OK && res.Error != nil:
		return res.Error.Message
	case res.Meeting == nil:
		return w.done
	}
	end := clock(res.Meeting.End.In(loc), a.opts.Locale, a.opts.Hours)
	switch req.Action {
	case proto.ActionBook:
		s := fmt.Sprintf(w.booked, end)
		if req.Teams && res.JoinURL != "" {
			s += " " + w.withTeams
		}
		return s
	case proto.ActionExtend:
		return fmt.Sprintf(w.extended, end)
	case proto.ActionEnd:
		return w.ended
	case proto.ActionCheckIn:
		return w.checkedIn
	}
	return w.done
}

// clock formats a time of day as the view does: 12 hours for "en" and
// "en-US", 24 hours elsewhere, unless hours says otherwise.
func clock(t time.Time, locale string, hours view.HourCycle) string {
	h12 := locale == "" || locale == "en" || locale == "en-US"
	switch hours {
	case view.HourCycle12:
		h12 = true
	case view.HourCycle24:
		h12 = false
	}
	if h12 {
		return t.Format("3:04 PM")
	}
	return t.Format("15:04")
}

var problemKeys = []string{"projector", "dirty", "other"}

// problemText is what the admin reads, in English whatever the panel's
// locale, so one facilities team reads one language.
var problemText = map[string]string{
	"projector": "Projector or screen broken",
	"dirty":     "Room needs cleaning",
	"other":     "Something else is wrong",
}

// vocabulary is the panel's own words for its buttons and notices.
type vocabulary struct {
	bookNow, checkIn, extend15, endNow, cancel, until, minutes string
	teamsOn, teamsOff, problem, thanks, working, offline       string
	failed, done, booked, withTeams, extended, ended           string
	checkedIn                                                  string
	problems                                                   map[string]string
}

func words(locale string) vocabulary {
	switch locale {
	case "de":
		return vocabulary{
			bookNow: "Jetzt buchen", checkIn: "Einchecken", extend15: "+15 Min.", endNow: "Jetzt beenden",
			cancel: "Abbrechen", until: "Bis", minutes: "%d Min.", teamsOn: "Teams: an", teamsOff: "Teams: aus",
			problem: "Problem melden", thanks: "Danke, gemeldet.", working: "Einen Moment…",
			offline: "Offline: Buchen ist gerade nicht möglich.", failed: "Das hat nicht geklappt. Bitte nochmals versuchen.",
			done: "Erledigt.", booked: "Gebucht bis %s.", withTeams: "Mit Teams-Besprechung.",
			extended: "Verlängert bis %s.", ended: "Besprechung beendet. Der Raum ist frei.", checkedIn: "Eingecheckt. Der Raum bleibt reserviert.",
			problems: map[string]string{"projector": "Beamer defekt", "dirty": "Reinigung nötig", "other": "Anderes"},
		}
	case "fr":
		return vocabulary{
			bookNow: "Réserver", checkIn: "Confirmer", extend15: "+15 min", endNow: "Terminer",
			cancel: "Annuler", until: "Jusqu'à", minutes: "%d min", teamsOn: "Teams : oui", teamsOff: "Teams : non",
			problem: "Signaler", thanks: "Merci, c'est signalé.", working: "Un instant…",
			offline: "Hors ligne : réservation impossible pour l'instant.", failed: "Échec. Veuillez réessayer.",
			done: "C'est fait.", booked: "Réservé jusqu'à %s.", withTeams: "Avec réunion Teams.",
			extended: "Prolongé jusqu'à %s.", ended: "Réunion terminée. La salle est libre.", checkedIn: "Présence confirmée. La salle reste réservée.",
			problems: map[string]string{"projector": "Projecteur en panne", "dirty": "Salle à nettoyer", "other": "Autre"},
		}
	}
	return vocabulary{
		bookNow: "Book now", checkIn: "Check in", extend15: "+15 min", endNow: "End now",
		cancel: "Cancel", until: "Until", minutes: "%d min", teamsOn: "Teams: on", teamsOff: "Teams: off",
		problem: "Report a problem", thanks: "Thanks, reported.", working: "One moment…",
		offline: "Offline: booking is unavailable right now.", failed: "That did not work. Please try again.",
		done: "Done.", booked: "Booked until %s.", withTeams: "With a Teams meeting.",
		extended: "Extended until %s.", ended: "Meeting ended. The room is free.", checkedIn: "Checked in. The room stays yours.",
		problems: map[string]string{"projector": "Projector broken", "dirty": "Needs cleaning", "other": "Something else"},
	}
}
