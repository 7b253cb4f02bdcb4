package view

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"
	"time"

	"rsc.io/qr"

	"github.com/lintelhq/lintel/panel/i18n"
	"github.com/lintelhq/lintel/proto"
)

// minSide is the smallest width or height laid out; below it nothing
// readable fits.
const minSide = 64

// layouter lays out one frame.
type layouter struct {
	r     *Renderer
	f     *frame
	scale float64 // 1 for a 480 px short side
	lang  i18n.Lang
	h12   bool // a 12 hour clock
}

// layout decides everything a frame shows. The Renderer's lock is held.
func (r *Renderer) layout(in Input, size image.Point) *frame {
	size.X = max(size.X, minSide)
	size.Y = max(size.Y, minSide)
	l := &layouter{
		r:     r,
		f:     &frame{size: size},
		scale: float64(min(size.X, size.Y)) / 480,
		lang:  r.lang(in.Locale),
	}
	roomHours := 0
	if in.State != nil {
		roomHours = in.State.Room.Hours
	}
	l.h12 = l.lang.Hour12(roomHours, in.Hours)
	w := l.lang.W
	screen := in.Screen
	if screen == ScreenRoom && in.State == nil {
		screen = ScreenConnecting
	}
	switch screen {
	case ScreenRoom:
		l.room(in)
	case ScreenPairing:
		l.pairing(in)
	case ScreenUpdateFirmware:
		l.message(colWarn, w.UpdateTitle, w.UpdateBody, in.Message)
	case ScreenError:
		l.message(colAlert, w.ErrorTitle, in.Message, "")
	default:
		l.connecting(in)
	}
	return l.f
}

// clock formats a time of day in the frame's clock.
func (l *layouter) clock(t time.Time, loc *time.Location) string { return i18n.Clock(t, loc, l.h12) }

// px scales a length given for a 480 px short side.
func (l *layouter) px(v float64) int { return int(math.Round(v * l.scale)) }

// style makes a style whose size is given for a 480 px short side.
func (l *layouter) style(f fontID, size float64, c color.RGBA) style {
	return style{font: f, size: max(1, l.px(size)), color: c}
}

func (l *layouter) fill(r image.Rectangle, c color.RGBA, radius int) {
	l.f.boxes = append(l.f.boxes, box{rect: r, color: c, radius: radius})
}

// lineHeight is the height put uses for one line: cap height plus descent.
// Spacing by the cap height rather than the ascent makes the gaps between
// lines look as specified, whatever the font's ascent.
func (l *layouter) lineHeight(st style) int {
	m := l.r.metrics(st)
	return m.capHeight + m.descent
}

type align int

const (
	alignLeft align = iota
	alignCenter
	alignRight
)

// put lays out one line of text in the column [x, x+w) with the top of its
// capitals at y, cut with an ellipsis to fit w. It returns the y below the
// line's descent.
func (l *layouter) put(x, y, w int, st style, s string, a align, bg color.RGBA, rl role) int {
	m := l.r.metrics(st)
	s = l.r.fit(st, oneLine(s), w)
	base := y + m.capHeight
	dx := x
	switch a {
	case alignCenter:
		dx = x + (w-l.r.width(st, s))/2
	case alignRight:
		dx = x + w - l.r.width(st, s)
	}
	rect := image.Rect(x, base-m.ascent, x+w, base+m.descent).Intersect(image.Rectangle{Max: l.f.size})
	if s != "" && !rect.Empty() {
		l.f.texts = append(l.f.texts, textItem{rect: rect, dot: image.Pt(dx, base), s: s, st: st, bg: bg, role: rl})
	}
	return base + m.descent
}

// room lays out the room screen.
//
// Landscape: the status panel (62%) on the left, the agenda on
// the right, the footer (notice and buttons) across the bottom. Portrait:
// the status panel on top, the agenda below, the footer at the bottom.
func (l *layouter) room(in Input) {
	st := in.State
	w := l.lang.W
	size := l.f.size
	zone, zoneOK := l.r.zone(st.Room.TimeZone)

	v := roomView{room: st.Room.Name, bg: colNoClock, ink: colWhite}
	hasClock := !in.Now.IsZero()
	known := false
	if hasClock {
		now := proto.At(st.Meetings, in.Now, st.Rules, zone)
		var why proto.Reason
		var lastRead time.Time
		known, why, lastRead = proto.Known(st, in.Now, in.Seen)
		if known {
			v.fill(l, now, in.Now, st.Rules, zone)
		} else {
			v.unknown(l, now, why, lastRead, in.Now, zone)
		}
	} else {
		v.reason = w.WaitingClock
	}

	footer := l.footerHeight(in)
	bottom := size.Y - footer
	var status, agenda image.Rectangle
	var shown bool
	if size.X >= size.Y {
		split := int(math.Round(float64(size.X) * 0.62))
		status = image.Rect(0, 0, split, bottom)
		agenda = image.Rect(split, 0, size.X, bottom)
		l.fill(status, v.bg, 0)
		l.fill(agenda, colWhite, 0)
		_, shown = l.statusPanel(status, v, true)
	} else {
		// The status panel takes what it needs, at least 45% of the
		// height above the footer; the agenda takes the rest.
		status = image.Rect(0, 0, size.X, bottom)
		i := len(l.f.boxes)
		l.fill(status, v.bg, 0)
		var used int
		used, shown = l.statusPanel(status, v, false)
		status.Max.Y = min(bottom, max(used+l.px(24), int(float64(bottom)*0.45)))
		l.f.boxes[i].rect = status
		agenda = image.Rect(0, status.Max.Y, size.X, bottom)
		l.fill(agenda, colWhite, 0)
	}
	// The meeting the status is about goes to the agenda when the status
	// panel has no room for it: every state shows the meeting on now or
	// next.
	if !shown && v.about != nil {
		if v.aboutNow {
			v.now = v.about
		} else {
			v.next = append([]proto.Meeting{*v.about}, v.next...)
		}
	}

	var notes []string
	if st.Stale && known {
		notes = append(notes, fmt.Sprintf(w.CalendarRead, l.clock(st.LastSync, zone)))
	}
	if !zoneOK {
		notes = append(notes, fmt.Sprintf(w.ZoneUnknown, st.Room.TimeZone))
	}
	var clock, badge string
	if hasClock {
		clock = l.clock(in.Now, zone)
	}
	if in.Offline {
		badge = w.Offline
		if !in.OfflineSince.IsZero() && hasClock {
			badge = fmt.Sprintf(w.OfflineSince, l.clock(in.OfflineSince, zone))
		}
	}
	used := l.agenda(agenda, clock, badge, v, hasClock, notes, zone)
	// A phone page's QR code in the space the agenda left: the booked
	// meeting's, or the free room's booking page.
	if below := image.Rect(agenda.Min.X, used, agenda.Max.X, agenda.Max.Y); known && len(notes) == 0 {
		switch {
		case v.about != nil && v.about.Remote != "":
			l.remote(below, v.about.Remote, w.PhoneRemote)
		case v.free && st.Room.Book != "":
			l.remote(below, st.Room.Book, w.PhoneBook)
		}
	}
	if footer > 0 {
		l.footer(image.Rect(0, bottom, size.X, size.Y), in)
	}
}

// remote draws the QR code of a phone page (a meeting's booked at a panel,
// or the free room's booking page) in space, the agenda's room below what
// it shows, under what, the line that says what it is for. Nothing is
// drawn where the code's modules would be smaller than three pixels: the
// agenda comes first.
func (l *layouter) remote(space image.Rectangle, url, what string) {
	code, err := qr.Encode(url, qr.L)
	if err != nil {
		return
	}
	pad := l.px(16)
	modules := code.Size + 8 // with its quiet zone
	caption := l.style(fontRegular, 18, colInkSoft)
	lines := l.r.wrap(caption, what, space.Dx()-2*pad, 2)
	captionH := len(lines) * l.lineHeight(caption)
	side := min(space.Dx()-2*pad, space.Dy()-captionH-3*pad, l.px(220))
	side -= side % modules
	if side <= 0 || side/modules < 3 {
		return
	}
	qrRect := image.Rect(space.Max.X-pad-side, space.Max.Y-pad-side, space.Max.X-pad, space.Max.Y-pad)
	l.f.qr = &qrItem{rect: qrRect, code: code}
	y := qrRect.Min.Y - captionH - l.px(6)
	for _, line := range lines {
		y = l.put(space.Min.X+l.px(24), y, space.Dx()-l.px(24)-pad, caption, line, alignLeft, colWhite, roleNote)
	}
}

// roomView is what the status panel and the agenda say, decided from
// proto.At (or proto.Known) before any layout.
type roomView struct {
	room    string
	word    string // the status word
	bg, ink color.RGBA
	until   string // "until 14:00", "by 10:10", ...: the time the status changes
	reason  string // why the status is unknown, or that the clock is not known yet
	detail  string // when an unknown schedule was last read

	// The meeting the status is about (on now, awaiting check-in, or
	// starting soon), and its lines.
	about                  *proto.Meeting
	aboutNow               bool // about is on now (not starting soon)
	title, organizer, span string
	now                    *proto.Meeting  // the meeting on now, in the agenda (when the status panel cannot show it)
	next                   []proto.Meeting // today's, after the one the status is about
	heading                string          // the agenda's heading
	free                   bool            // the room is free now (or free until a meeting soon)
	noMore                 bool            // say "no more meetings today" when next is empty
}

// fill decides the words of the room's situation now at t.
func (v *roomView) fill(l *layouter, now proto.Now, t time.Time, rules proto.Rules, zone *time.Location) {
	w := l.lang.W
	y, m, d := t.In(zone).Date()
	endOfDay := time.Date(y, m, d+1, 0, 0, 0, 0, zone)
	startOfDay := time.Date(y, m, d, 0, 0, 0, 0, zone)
	v.heading, v.noMore = w.Next, true

	// The meeting the status is about: on now, awaiting check-in, or
	// starting soon. It is not repeated in the agenda.
	about := now.Current
	v.aboutNow = about != nil
	switch now.Status {
	case proto.StatusFree:
		v.word, v.bg, v.ink, v.free = w.Free, colFree, colWhite, true
		if now.Until.IsZero() || !now.Until.Before(endOfDay) {
			v.until = w.AllDay
		} else {
			v.until = fmt.Sprintf(w.Until, l.clock(now.Until, zone))
		}
	case proto.StatusSoon:
		v.word, v.bg, v.ink = w.Soon, colSoon, colInk
		v.until = fmt.Sprintf(w.SoonAt, l.clock(now.Until, zone))
		if len(now.Next) > 0 {
			about = &now.Next[0]
		}
	case proto.StatusCheckIn:
		v.word, v.bg, v.ink = w.CheckIn, colSoon, colInk
		if about != nil {
			start, _ := proto.Span(*about, zone)
			v.until = fmt.Sprintf(w.CheckBy, l.clock(start.Add(rules.CheckInAfter()), zone))
			v.aboutNow = !start.After(t)
			if about.Organizer != "" && about.Organizer != about.Title {
				v.organizer = fmt.Sprintf(w.Organizer, about.Organizer)
			}
		}
	default: // busy
		v.word, v.bg, v.ink = w.Busy, colBusy, colWhite
		allDay := about != nil && (about.AllDay || !about.Start.After(startOfDay))
		if !now.Until.Before(endOfDay) && allDay {
			v.until = w.AllDay
		} else {
			v.until = fmt.Sprintf(w.Until, l.clock(now.Until, zone))
		}
	}
	if about != nil {
		v.about = about
		v.title, v.span = l.lang.Title(*about), l.lang.Span(*about, zone, l.h12)
	}
	for _, n := range now.Next {
		start, _ := proto.Span(n, zone)
		if !start.Before(endOfDay) {
			break // only today's meetings: "No more meetings today" means it
		}
		if about != nil && n.ID == about.ID && n.Start.Equal(about.Start) {
			continue
		}
		v.next = append(v.next, n)
	}
}

// unknown decides the words for a schedule not known to be current: no
// status colour, no "free", why, and when it was last read. The agenda
// lists the meetings last known, under a heading that says so.
func (v *roomView) unknown(l *layouter, now proto.Now, why proto.Reason, lastRead, t time.Time, zone *time.Location) {
	w := l.lang.W
	v.word, v.bg, v.ink = w.Unknown, colNoClock, colWhite
	v.reason = l.lang.Reason(why, nil)
	if v.reason == "" {
		v.reason = l.lang.Reason(proto.ReasonUnreachable, nil)
	}
	v.detail = w.NeverRead
	if !lastRead.IsZero() {
		v.detail = fmt.Sprintf(w.LastRead, l.clock(lastRead, zone))
	}
	v.heading = w.LastKnown
	y, m, d := t.In(zone).Date()
	endOfDay := time.Date(y, m, d+1, 0, 0, 0, 0, zone)
	if now.Current != nil {
		v.next = append(v.next, *now.Current)
	}
	for _, n := range now.Next {
		if start, _ := proto.Span(n, zone); start.Before(endOfDay) {
			v.next = append(v.next, n)
		}
	}
	if len(v.next) == 0 {
		v.heading = "" // nothing known to list: no heading, and no "no more meetings"
	}
}

// statusPanel lays out the status panel's text in r and returns the y
// below its last line and whether it showed the meeting's title. With
// anchor, the meeting's title and time range sit at the bottom of r,
// leaving the status alone at the top.
//
// The hierarchy, largest first: the status word (capitals at least an
// eighth of the screen), the time it changes (twice the size of the other
// lines), the meeting, the room's name.
func (l *layouter) statusPanel(r image.Rectangle, v roomView, anchor bool) (int, bool) {
	pad := l.px(24)
	x, w := r.Min.X+pad, r.Dx()-2*pad
	room := l.style(fontBold, 30, v.ink)
	word, minWord := l.statusStyle(v.word, w, v.ink)
	words := l.r.wrap(word, v.word, w, 2)
	if v.word != "" && l.r.width(word, v.word) <= w {
		words = []string{v.word}
	}
	until := l.style(fontMedium, 60, v.ink)
	untils := l.r.wrap(until, v.until, w, 2)
	reason := l.style(fontMedium, 30, v.ink)
	title := l.style(fontBold, 30, v.ink)
	small := l.style(fontRegular, 26, v.ink)

	// What goes in the panel, top down, and the gap above each line.
	type line struct {
		st   style
		s    string
		gap  int
		role role
	}
	height := func(lines []line) int {
		h := pad
		for _, ln := range lines {
			h += ln.gap + l.lineHeight(ln.st)
		}
		return h
	}
	build := func(titleLines int, organizer, span bool) []line {
		lines := []line{{room, v.room, pad, roleRoom}}
		for i, s := range words {
			gap := l.px(20)
			if i > 0 {
				gap = l.px(12)
			}
			lines = append(lines, line{word, s, gap, roleStatus})
		}
		for i, s := range untils {
			gap := l.px(16)
			if i > 0 {
				gap = l.px(10)
			}
			lines = append(lines, line{until, s, gap, roleUntil})
		}
		for i, s := range l.r.wrap(reason, v.reason, w, 3) {
			gap := l.px(20)
			if i > 0 {
				gap = l.px(8)
			}
			lines = append(lines, line{reason, s, gap, roleReason})
		}
		if v.detail != "" {
			lines = append(lines, line{small, v.detail, l.px(12), roleDetail})
		}
		if v.title == "" || titleLines == 0 {
			return lines
		}
		ts := []string{v.title} // put cuts it to one line
		if titleLines > 1 {
			ts = l.r.wrap(title, oneLine(v.title), w, titleLines)
		}
		for i, s := range ts {
			gap := l.px(24)
			if i > 0 {
				gap = l.px(6)
			}
			lines = append(lines, line{title, s, gap, roleTitle})
		}
		if organizer && v.organizer != "" {
			lines = append(lines, line{small, v.organizer, l.px(10), roleOrganizer})
		}
		if span {
			lines = append(lines, line{small, v.span, l.px(10), roleSpan})
		}
		return lines
	}
	// The most that fits: a title of two lines (long titles wrap before
	// they are cut) with the organizer and the time range; then without
	// the range, without the organizer, with one line of title; then a
	// smaller status word (down to its minimum); then no title, which
	// the agenda shows instead. The status and the time it changes
	// matter most.
	var lines []line
	for _, c := range []struct {
		titleLines      int
		organizer, span bool
	}{{2, true, true}, {2, true, false}, {2, false, false}, {1, false, false}} {
		if lines = build(c.titleLines, c.organizer, c.span); height(lines) <= r.Dy() {
			break
		}
	}
	for over := height(lines) - r.Dy(); over > 0 && word.size > minWord; over = height(lines) - r.Dy() {
		word.size = max(minWord, word.size-max(1, over/len(words)))
		lines = build(1, false, false)
	}
	if height(lines) > r.Dy() {
		lines = build(0, false, false)
	}
	// Still too tall (a narrow panel with many buttons): the time line
	// gives way down to the size of the meeting's lines, then the room's
	// name goes.
	for height(lines) > r.Dy() && until.size > title.size {
		until.size--
		untils = l.r.wrap(until, v.until, w, 2)
		lines = build(0, false, false)
	}
	if height(lines) > r.Dy() && len(lines) > 1 {
		lines = lines[1:]
		lines[0].gap = pad
	}
	y := r.Min.Y
	if slack := r.Dy() - height(lines); anchor && slack > 0 {
		for i := range lines {
			if lines[i].role == roleTitle {
				lines[i].gap += slack
				break
			}
		}
	}
	shown := false
	for _, ln := range lines {
		y = l.put(x, y+ln.gap, w, ln.st, ln.s, alignLeft, v.bg, ln.role)
		shown = shown || ln.role == roleTitle
	}
	return y, shown
}

// statusStyle picks the status word's size: its capitals at least an eighth
// of the screen's short side (readable across a corridor), up to a sixth
// when the word fits the width w at that size. A word too wide in one line
// at the largest size is wrapped at the smallest. It returns the style and
// the smallest size allowed.
func (l *layouter) statusStyle(word string, w int, ink color.RGBA) (style, int) {
	short := float64(min(l.f.size.X, l.f.size.Y))
	minSize := l.sizeForCap(short / 8)
	maxSize := l.sizeForCap(short / 6)
	st := style{font: fontBold, size: maxSize, color: ink}
	if word == "" {
		return st, minSize
	}
	// Advances scale linearly (no hinting): measure once, then solve.
	w100 := l.r.width(style{font: fontBold, size: 100}, word)
	size := min(maxSize, 100*w/max(w100, 1))
	for size > minSize && l.r.width(style{font: fontBold, size: size}, word) > w {
		size--
	}
	st.size = max(size, minSize)
	return st, minSize
}

// sizeForCap is the smallest bold font size whose cap height is at least
// capHeight pixels.
func (l *layouter) sizeForCap(capHeight float64) int {
	size := int(math.Ceil(capHeight / l.r.capRatio))
	for l.r.metrics(style{font: fontBold, size: size}).capHeight < int(math.Ceil(capHeight)) {
		size++
	}
	return size
}

// agenda lays out the clock, the offline badge, the meeting on now when
// the status panel had no room for it, today's next meetings (at most
// three in all) and notes (stale calendar, unknown zone) in r, on white.
//
// It returns the bottom of what it drew above the notes, so that the
// space below may hold a phone page's QR code.
func (l *layouter) agenda(r image.Rectangle, clock, badge string, v roomView, hasClock bool, notes []string, zone *time.Location) int {
	pad := l.px(24)
	x, w := r.Min.X+pad, r.Dx()-2*pad
	heading := l.style(fontMedium, 22, colInkSoft)
	clockSt := l.style(fontBold, 40, colInk)
	at := l.style(fontRegular, 22, colInkSoft)
	noteSt := l.style(fontRegular, 20, colInkSoft)
	badgeSt := l.style(fontMedium, 20, colWhite)

	// Notes sit at the bottom, so find their top first.
	var noteLines []string
	for _, n := range notes {
		noteLines = append(noteLines, l.r.wrap(noteSt, n, w, 3)...)
	}
	noteGap := l.px(6)
	limit := r.Max.Y - pad
	if len(noteLines) > 0 {
		limit -= len(noteLines)*(l.lineHeight(noteSt)+noteGap) + l.px(12)
	}

	// gap is the space above the next element: the padding for the first.
	y := r.Min.Y
	gap := func(g float64) int {
		if y == r.Min.Y {
			return pad
		}
		return l.px(g)
	}
	// The clock on a line of its own: next to the "Next" heading it would
	// read as the time of the next meeting.
	if clock != "" {
		y = l.put(x, y+gap(0), w, clockSt, clock, alignLeft, colWhite, roleClock)
	}
	if badge != "" {
		// A dark pill, or a rounded box of two lines where a narrow
		// column cannot hold the words in one.
		y += gap(14)
		in, vin := l.px(14), l.px(10)
		lines := l.r.wrap(badgeSt, badge, w-2*in, 2)
		bw := 0
		for _, s := range lines {
			bw = max(bw, l.r.width(badgeSt, s)+2*in)
		}
		lh := l.lineHeight(badgeSt)
		bh := len(lines)*lh + (len(lines)-1)*l.px(6) + 2*vin
		radius := bh / 2
		if len(lines) > 1 {
			radius = l.px(12)
		}
		bw = min(w, bw)
		l.fill(image.Rect(x, y, x+bw, y+bh), colInk, radius)
		ty := y + vin
		for _, s := range lines {
			ty = l.put(x+in, ty, bw-2*in, badgeSt, s, alignLeft, colInk, roleBadge) + l.px(6)
		}
		y += bh
	}
	// A heading only with room for it and one entry below it.
	entry := l.px(16) + l.lineHeight(at) + l.px(10) + l.lineHeight(l.style(fontMedium, 26, colInk))
	fits := func(g float64) bool { return y+gap(g)+l.lineHeight(heading)+entry <= limit }
	if hasClock {
		left := 3
		if v.now != nil && fits(22) {
			y = l.put(x, y+gap(22), w, heading, l.lang.W.Now, alignLeft, colWhite, roleHeading)
			y = l.entries(x, y, w, limit, []proto.Meeting{*v.now}, zone)
			left--
		}
		none := len(v.next) == 0 // not: none with room for them
		if v.heading != "" && len(v.next) > 0 && fits(22) || v.heading != "" && len(v.next) == 0 && v.now == nil && y+gap(22)+l.lineHeight(heading) <= limit {
			y = l.put(x, y+gap(22), w, heading, v.heading, alignLeft, colWhite, roleHeading)
		} else {
			v.next = nil
		}
		if none && v.noMore && v.now == nil && y > r.Min.Y {
			y += l.px(16)
			for _, s := range l.r.wrap(at, l.lang.W.NoMore, w, 2) {
				if y+l.lineHeight(at) > limit {
					break
				}
				y = l.put(x, y, w, at, s, alignLeft, colWhite, roleBody) + l.px(6)
			}
		}
		if len(v.next) > 0 {
			y = l.entries(x, y, w, limit, v.next[:min(left, len(v.next))], zone)
		}
	}
	bottom := y
	y = limit + l.px(12)
	for _, s := range noteLines {
		y = l.put(x, y+noteGap, w, noteSt, s, alignLeft, colWhite, roleNote)
	}
	return bottom
}

// entries lays out meetings in the column [x, x+w) from y down to limit:
// as many as fit with one line of title each, then a second title line for
// those whose title needs it, while space remains. It returns the y below
// the last.
func (l *layouter) entries(x, y, w, limit int, next []proto.Meeting, zone *time.Location) int {
	at := l.style(fontRegular, 22, colInkSoft)
	title := l.style(fontMedium, 26, colInk)
	gap, inner, lineGap := l.px(16), l.px(10), l.px(4)
	one := gap + l.lineHeight(at) + inner + l.lineHeight(title)
	extra := lineGap + l.lineHeight(title)

	n := min(len(next), max(0, (limit-y)/one))
	spare := (limit - y) - n*one
	titles := make([][]string, n)
	for i, m := range next[:n] {
		t := l.lang.Title(m)
		titles[i] = []string{t}
		if lines := l.r.wrap(title, oneLine(t), w, 2); len(lines) == 2 && spare >= extra {
			titles[i] = lines
			spare -= extra
		}
	}
	for i, m := range next[:n] {
		y += gap
		if i > 0 {
			l.fill(image.Rect(x, y-gap/2, x+w, y-gap/2+max(1, l.px(2))), colLine, 0)
		}
		y = l.put(x, y, w, at, l.lang.Span(m, zone, l.h12), alignLeft, colWhite, roleAgendaAt)
		y += inner
		for j, s := range titles[i] {
			if j > 0 {
				y += lineGap
			}
			y = l.put(x, y, w, title, s, alignLeft, colWhite, roleAgenda)
		}
	}
	return y
}

// footerHeight is the height of the room screen's footer: the notice line
// and the rows of buttons, or 0 without either.
func (l *layouter) footerHeight(in Input) int {
	if in.Message == "" && len(in.Buttons) == 0 {
		return 0
	}
	pad := l.px(16)
	h := 2 * pad
	if len(in.Buttons) > 0 {
		rows := len(l.buttonRows(in.Buttons, l.f.size.X-2*l.px(24)))
		h += rows*l.px(64) + (rows-1)*l.px(12)
	}
	if in.Message != "" {
		st := l.style(fontMedium, 24, colInk)
		n := len(l.noticeLines(in.Message, h))
		h += n*l.lineHeight(st) + (n-1)*l.px(8)
		if len(in.Buttons) > 0 {
			h += pad
		}
	}
	return h
}

// noticeLines wraps the room screen's notice to two lines, or to one when
// the buttons (taking height buttons) leave the status too little room.
func (l *layouter) noticeLines(msg string, buttons int) []string {
	n := 2
	if buttons > l.f.size.Y*2/5 {
		n = 1
	}
	return l.r.wrap(l.style(fontMedium, 24, colInk), msg, l.f.size.X-2*l.px(24), n)
}

// buttonRows splits buttons into rows: as many per row as fit their
// labels, with the rows balanced.
func (l *layouter) buttonRows(bs []Button, w int) [][]Button {
	label := l.style(fontBold, 24, colWhite)
	widest := 0
	for _, b := range bs {
		widest = max(widest, l.r.width(label, b.Label))
	}
	gap := l.px(12)
	cols := len(bs)
	for cols > 1 && (w-(cols-1)*gap)/cols < widest+2*l.px(12) {
		cols--
	}
	// Balance the rows: four buttons in two rows are 2+2, not 3+1.
	rows := (len(bs) + cols - 1) / max(cols, 1)
	cols = (len(bs) + rows - 1) / max(rows, 1)
	var out [][]Button
	for len(bs) > 0 {
		n := min(cols, len(bs))
		out = append(out, bs[:n])
		bs = bs[n:]
	}
	return out
}

// footer lays out the notice line and the buttons, and makes the buttons'
// touch targets.
func (l *layouter) footer(r image.Rectangle, in Input) {
	l.fill(r, colFooter, 0)
	pad, side := l.px(16), l.px(24)
	x, w := r.Min.X+side, r.Dx()-2*side
	y := r.Min.Y + pad
	if in.Message != "" {
		buttons := 2 * pad
		if rows := len(l.buttonRows(in.Buttons, w)); rows > 0 {
			buttons += rows*l.px(64) + (rows-1)*l.px(12)
		}
		for i, s := range l.noticeLines(in.Message, buttons) {
			if i > 0 {
				y += l.px(8)
			}
			y = l.put(x, y, w, l.style(fontMedium, 24, colInk), s, alignLeft, colFooter, roleNote)
		}
		y += pad
	}
	gap, bh := l.px(12), l.px(64)
	for _, row := range l.buttonRows(in.Buttons, w) {
		bw := (w - (len(row)-1)*gap) / len(row)
		for i, b := range row {
			rect := image.Rect(x+i*(bw+gap), y, x+i*(bw+gap)+bw, y+bh)
			bg, ink := colButton, colWhite
			switch {
			case b.Disabled:
				bg, ink = colButtonX, colTextX
			case b.Warn:
				bg = colAlert
			}
			l.fill(rect, bg, l.px(12))
			label := l.style(fontBold, 24, ink)
			ty := rect.Min.Y + (bh-l.r.metrics(label).capHeight)/2
			in := l.px(12)
			l.put(rect.Min.X+in, ty, bw-2*in, label, b.Label, alignCenter, bg, roleButton)
			l.f.targets = append(l.f.targets, Target{Rect: rect, Action: b.Action, Label: b.Label, Disabled: b.Disabled})
		}
		y += bh + gap
	}
}

// pairing lays out the pairing screen: the title, the code big and grouped
// as the server sent it, the QR code of the URL, the URL and the expiry.
// Landscape puts the QR code on the right, portrait below the code.
func (l *layouter) pairing(in Input) {
	size := l.f.size
	l.fill(image.Rectangle{Max: size}, colWhite, 0)
	w := l.lang.W
	pad := l.px(24)
	p := in.Pairing
	title := l.style(fontBold, 36, colInk)
	body := l.style(fontRegular, 22, colInkSoft)
	url := l.style(fontMedium, 20, colInk)

	var code *qr.Code
	if p != nil && p.URL != "" {
		// Level M survives a scratched or glare-covered screen and keeps
		// the modules large.
		code, _ = qr.Encode(p.URL, qr.M)
	}
	var qrRect image.Rectangle
	x, cw := pad, size.X-2*pad
	landscape := size.X >= size.Y
	if code != nil {
		if landscape {
			side := min(size.Y-2*pad, (size.X-3*pad)/2)
			qrRect = image.Rect(size.X-pad-side, (size.Y-side)/2, size.X-pad, (size.Y-side)/2+side)
			cw = qrRect.Min.X - pad - x
		}
	}
	first := len(l.f.texts)
	y := l.put(x, pad, cw, title, w.PairTitle, alignLeft, colWhite, roleHeading)
	if p == nil || p.Code == "" {
		l.put(x, y+pad, cw, body, w.PairWaiting, alignLeft, colWhite, roleBody)
		return
	}
	// The code as large as fits, up to capitals of a sixth of the short side.
	codeSt := style{font: fontBold, size: l.sizeForCap(float64(min(size.X, size.Y)) / 6), color: colInk}
	if cw100 := l.r.width(style{font: fontBold, size: 100}, p.Code); cw100 > 0 {
		codeSt.size = max(l.px(24), min(codeSt.size, 100*cw/cw100))
	}
	y = l.put(x, y+l.px(32), cw, codeSt, p.Code, alignLeft, colWhite, roleCode)
	if code != nil && !landscape {
		below := size.Y - pad - 4*(l.lineHeight(body)+l.px(10))
		side := min(cw, below-y-2*pad)
		if side > 0 {
			qrRect = image.Rect((size.X-side)/2, y+pad, (size.X-side)/2+side, y+pad+side)
			y = qrRect.Max.Y
		}
	}
	if !qrRect.Empty() {
		l.f.qr = &qrItem{rect: qrRect, code: code}
	}
	y += l.px(28)
	if p.URL != "" {
		y = l.put(x, y, cw, body, w.PairHow, alignLeft, colWhite, roleBody)
		for _, s := range l.r.wrap(url, p.URL, cw, 3) {
			y = l.put(x, y+l.px(10), cw, url, s, alignLeft, colWhite, roleBody)
		}
		y += l.px(12)
	}
	if left := p.Expires.Sub(in.Now); !p.Expires.IsZero() && !in.Now.IsZero() && left > 0 {
		// How long, not until when: an unpaired panel has no room, so
		// no time zone to show a time of day in.
		mins := int(math.Ceil(left.Minutes()))
		y = l.put(x, y+l.px(10), cw, body, fmt.Sprintf(w.PairExpires, mins), alignLeft, colWhite, roleBody)
	}
	if landscape {
		// Centre the text beside the QR code.
		l.shiftTexts(first, max(0, (size.Y-pad-y)/2))
	}
}

// shiftTexts moves the texts from index first on down by dy, to centre a
// block laid out from the top.
func (l *layouter) shiftTexts(first, dy int) {
	for i := first; i < len(l.f.texts); i++ {
		l.f.texts[i].rect = l.f.texts[i].rect.Add(image.Pt(0, dy)).Intersect(image.Rectangle{Max: l.f.size})
		l.f.texts[i].dot.Y += dy
	}
}

// message lays out a full-screen message: a coloured stripe on top, and a
// title, a body and a detail line, white on dark.
func (l *layouter) message(accent color.RGBA, title, body, detail string) {
	size := l.f.size
	l.fill(image.Rectangle{Max: size}, colDark, 0)
	l.fill(image.Rect(0, 0, size.X, l.px(12)), accent, 0)
	pad := l.px(40)
	x, w := pad, size.X-2*pad
	titleSt := l.style(fontBold, 40, colWhite)
	bodySt := l.style(fontRegular, 26, colWhite)
	detailSt := l.style(fontRegular, 22, colDarkInk)
	top := l.px(12) + pad
	y, first := top, len(l.f.texts)
	for _, s := range l.r.wrap(titleSt, title, w, 2) {
		y = l.put(x, y, w, titleSt, s, alignLeft, colDark, roleHeading) + l.px(12)
	}
	y += l.px(16)
	for _, s := range l.r.wrap(bodySt, body, w, 5) {
		y = l.put(x, y, w, bodySt, s, alignLeft, colDark, roleBody) + l.px(12)
	}
	if detail != "" {
		y += l.px(16)
		for _, s := range l.r.wrap(detailSt, detail, w, 3) {
			y = l.put(x, y, w, detailSt, s, alignLeft, colDark, roleNote) + l.px(10)
		}
	}
	// Centre the block below the stripe, a little above the middle,
	// where the eye looks first.
	l.shiftTexts(first, max(0, (size.Y-pad-y)*2/5))
}

// connecting lays out the screen of a panel without a state yet: the
// product's name and what it waits for, centred.
func (l *layouter) connecting(in Input) {
	size := l.f.size
	l.fill(image.Rectangle{Max: size}, colDark, 0)
	name := l.style(fontBold, 64, colWhite)
	body := l.style(fontRegular, 26, colDarkInk)
	text := l.lang.W.Connecting
	if s := strings.TrimSpace(in.Message); s != "" {
		text = fmt.Sprintf(l.lang.W.ConnectingTo, s)
	}
	pad := l.px(40)
	w := size.X - 2*pad
	lines := l.r.wrap(body, text, w, 2)
	h := l.lineHeight(name) + l.px(36) + len(lines)*(l.lineHeight(body)+l.px(10))
	y := (size.Y - h) / 2
	y = l.put(pad, y, w, name, "Lintel", alignCenter, colDark, roleHeading) + l.px(36)
	for _, s := range lines {
		y = l.put(pad, y, w, body, s, alignCenter, colDark, roleBody) + l.px(10)
	}
}

// zone loads an IANA zone once. An unknown or empty name gives UTC and
// false, and the room screen says so.
func (r *Renderer) zone(name string) (*time.Location, bool) {
	if z, ok := r.zones[name]; ok {
		return z.loc, z.ok
	}
	z := zoneEntry{loc: time.UTC}
	if loc, err := time.LoadLocation(name); err == nil && name != "" {
		z = zoneEntry{loc: loc, ok: true}
	}
	if len(r.zones) >= 64 {
		clear(r.zones) // bound the cache for the admin UI's previews
	}
	r.zones[name] = z
	return z.loc, z.ok
}

type zoneEntry struct {
	loc *time.Location
	ok  bool
}
