// Package app is the door panel's behaviour: it turns what the server says
// (room state, pairing codes, commands) and what people do (taps, button
// presses) into frames on the screen, LED signals and requests to the
// server. It owns no hardware and no network: the panel binary wires a
// screen, LEDs, inputs and the link to the server into it, and tests wire
// capturing fakes and periph's test pins.
package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	gosync "sync"
	"time"

	"periph.io/x/conn/v3/display"

	"github.com/lintelhq/lintel/panel/i18n"
	"github.com/lintelhq/lintel/panel/input"
	"github.com/lintelhq/lintel/panel/led"
	"github.com/lintelhq/lintel/panel/screen"
	"github.com/lintelhq/lintel/panel/view"
	"github.com/lintelhq/lintel/proto"
)

// Link is what the app needs of the connection to the server.
type Link interface {
	Request(ctx context.Context, id string, r proto.Request) (proto.Result, error)
	Report(ctx context.Context, r proto.Report) error
}

// LEDs is what the app needs of the status LEDs.
type LEDs interface {
	Set(led.Signal) error
}

// Opts configures an App. Zero values take the documented defaults.
type Opts struct {
	Link   Link           // required
	Screen display.Drawer // required; its Bounds give the frame size
	LEDs   LEDs           // optional: nil for a panel without LEDs
	Logger *slog.Logger   // default: discard
	// Server names the server on the "connecting" screen.
	Server string
	// Locale picks the language of every word on the screen: "en"
	// (default), "de", "fr", "it", "es", with or without a region
	// ("de-CH", "fr_FR"; see package i18n).
	Locale string
	// Hours picks the 12 or 24 hour clock where the room does not; the
	// default follows the locale.
	Hours view.HourCycle
	// Fonts are fallback fonts for what the embedded family lacks (CJK,
	// emoji): the system's, found by the panel binary.
	Fonts []view.Fallback
	// OfflineGrace is how long the connection may be down before the
	// panel says it is offline. Default 60 s.
	OfflineGrace time.Duration
	// Now is the panel's own clock. Default time.Now.
	Now func() time.Time
	// Backlight, when set, is switched on, dim or off by the office
	// hours (the server's settings, else OfficeHours and Night); with no
	// office hours at all it stays on.
	Backlight Backlight
	// OfficeHours ("mon-fri 07:00-19:00", see proto.ParseOfficeHours) and
	// Night ("off" or "dim", default off) are the panel configuration's
	// screen schedule, for when the server's settings give none. The
	// hours are in TimeZone, else the room's.
	OfficeHours, Night string
	// TimeZone is the zone of office hours while no room state is known.
	TimeZone *time.Location
	// Firmware, when set, carries out the server's firmware messages
	// (install, roll back); nil ignores them.
	Firmware func(ctx context.Context, f proto.Firmware)
}

// Backlight is the screen's backlight. A Backlight that also has
// SetLevels(onPercent, dimPercent int) gets the brightness of the
// server's settings.
type Backlight interface {
	Set(screen.Power) error
}

// App is a running panel. Its On* methods are called by the link's
// events; Touch and Button by the inputs.
type App struct {
	opts     Opts
	log      *slog.Logger
	lang     i18n.Lang
	renderer *view.Renderer
	size     image.Point
	dirty    chan struct{}
	drawMu   gosync.Mutex // serializes the backlight's calls

	mu          gosync.Mutex
	state       *proto.State
	pairing     *proto.Pairing
	connected   bool
	downSince   time.Time // when the connection was lost; zero while connected
	heard       bool      // the state came from the server in this run, not from the cache
	update      bool      // the server needs newer firmware
	updateMsg   string    // the versions, worded
	armed       string    // the action a second tap confirms ("end:<meeting>")
	armedUntil  time.Time
	offset      time.Duration
	menu        string // "", "book", "problem"
	menuUntil   time.Time
	teams       bool
	notice      string
	noticeUntil time.Time
	busy        bool // a request is in flight
	targets     []view.Target
	frame       *image.RGBA
	lastTouch   time.Time
	signal      led.Signal
	signalSet   bool
	// The settings in force: the server's over the configuration's (see
	// settings.go).
	server *proto.Settings
	eff    effective
}

// New returns an App; Run starts it.
func New(opts Opts) (*App, error) {
	if opts.Link == nil || opts.Screen == nil {
		return nil, fmt.Errorf("app: a link and a screen are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.OfflineGrace <= 0 {
		opts.OfflineGrace = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r, err := view.New(view.Opts{Fallbacks: opts.Fonts})
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	a := &App{
		opts: opts, log: opts.Logger, renderer: r,
		size: opts.Screen.Bounds().Size(), dirty: make(chan struct{}, 1),
	}
	a.applyLocked()
	return a, nil
}

// plausible is the earliest clock reading taken as true: a Raspberry Pi
// without a real-time clock boots in 1970 until NTP answers.
var plausible = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// now is the corrected clock, or the zero time while it is not plausible.
func (a *App) nowLocked() time.Time {
	t := a.opts.Now().Add(a.offset)
	if t.Before(plausible) {
		return time.Time{}
	}
	return t
}

// redraw asks the loop for a new frame.
func (a *App) redraw() {
	select {
	case a.dirty <- struct{}{}:
	default:
	}
}

// Run draws frames until ctx ends: at once, on every change, and at every
// minute for the clock and the status (meetings start and end on
// minutes), so an idle panel wakes about once a minute.
func (a *App) Run(ctx context.Context) error {
	for {
		wait := a.renderOnce()
		select {
		case <-ctx.Done():
			return nil
		case <-a.dirty:
		case <-time.After(wait):
		}
	}
}

// renderOnce draws a frame, sets the LEDs and returns how long until the
// next frame is due without any event.
func (a *App) renderOnce() time.Duration {
	a.mu.Lock()
	in, signal, wake := a.inputLocked()
	img, targets := a.renderer.Render(in, a.size)
	a.targets, a.frame = targets, img
	changedSignal := !a.signalSet || signal != a.signal
	a.signal, a.signalSet = signal, true
	lastTouch := a.lastTouch
	office, zone := a.eff.office, a.zoneLocked()
	a.mu.Unlock()

	if err := a.opts.Screen.Draw(img.Bounds(), img, image.Point{}); err != nil {
		a.log.Error("cannot draw a frame", "screen", a.opts.Screen.String(), "err", err)
	}
	if a.opts.LEDs != nil && changedSignal {
		if err := a.opts.LEDs.Set(signal); err != nil {
			a.log.Warn("cannot set the LEDs", "signal", signal, "err", err)
		}
	}
	if !in.Now.IsZero() {
		a.schedule(office, zone, in.Now, lastTouch)
	}
	return wake
}

// inputLocked decides what to show now: the screen, its buttons, the LED
// signal, and when to look again.
func (a *App) inputLocked() (view.Input, led.Signal, time.Duration) {
	now := a.nowLocked()
	real := a.opts.Now()
	wake := time.Minute - time.Duration(real.Second())*time.Second - time.Duration(real.Nanosecond())
	soonest := func(t time.Time) {
		if !t.IsZero() && t.After(real) && t.Sub(real) < wake {
			wake = t.Sub(real)
		}
	}
	in := view.Input{Locale: a.eff.locale, Now: now, Hours: a.eff.hours}
	if a.noticeUntil.After(real) {
		in.Message = a.notice
		soonest(a.noticeUntil)
	}
	if a.menuUntil.After(real) {
		soonest(a.menuUntil)
	} else {
		a.menu = ""
	}
	if a.armedUntil.After(real) {
		soonest(a.armedUntil)
	} else {
		a.armed = ""
	}
	switch {
	case a.update:
		in.Screen, in.Message = view.ScreenUpdateFirmware, a.updateMsg
		return in, led.Off, wake
	case a.state == nil && a.pairing != nil:
		in.Screen, in.Pairing = view.ScreenPairing, a.pairing
		return in, led.Off, wake
	case a.state == nil:
		in.Screen, in.Message = view.ScreenConnecting, a.opts.Server
		return in, led.Off, wake
	}
	in.Screen, in.State = view.ScreenRoom, a.state
	if a.eff.roomHours != 0 {
		// The server's settings decide the clock over the room's own.
		st := *a.state
		st.Room.Hours = a.eff.roomHours
		in.State = &st
	}
	if !a.downSince.IsZero() {
		offlineAt := a.downSince.Add(a.eff.grace)
		if !real.Before(offlineAt) {
			in.Offline, in.OfflineSince = true, a.downSince.Add(a.offset)
		} else {
			soonest(offlineAt)
		}
	}
	if now.IsZero() {
		return in, led.Off, wake // no status without a plausible clock
	}
	in.Seen = a.seenLocked()
	loc := location(a.state.Room.TimeZone)
	st := proto.At(a.state.Meetings, now, a.state.Rules, loc)
	known, _, lastRead := proto.Known(a.state, now, in.Seen)
	if known && !lastRead.IsZero() {
		// Look again when the schedule turns unknown.
		soonest(lastRead.Add(a.state.Rules.StaleAfter() + time.Second).Add(-a.offset))
	}
	in.Buttons = a.buttonsLocked(st, now, loc, in.Offline, known)
	switch {
	case in.Message != "":
	case in.Offline:
		in.Message = a.lang.W.OfflineNotice // why the buttons are grey
	case !known && a.state.Features.Book:
		in.Message = a.lang.W.UnknownNotice
	case a.armed != "":
		in.Message = a.lang.W.EndArmed
	default:
		if sl, ok := parseSlot(a.menu); ok {
			// Above the lengths of a slot: where they start.
			in.Message = fmt.Sprintf(a.lang.W.From, i18n.Clock(sl.Start, loc, a.hour12Locked()))
		}
	}
	if !known {
		// Neither free nor busy is known: no green, no red.
		return in, led.Off, wake
	}
	return in, signalOf(st.Status), wake
}

// seenLocked is the last time the state was known to be current (see
// view.Input.Seen): now while connected with a state from the server, the
// moment the connection dropped after one, and for a state from the cache
// only the time the server sent it.
func (a *App) seenLocked() time.Time {
	switch {
	case a.heard && a.connected:
		return time.Time{}
	case a.heard && !a.downSince.IsZero():
		return a.downSince.Add(a.offset)
	}
	if a.state.ServerTime.IsZero() {
		return time.Unix(1, 0) // a cache without a time: long ago
	}
	return a.state.ServerTime
}

func signalOf(s proto.Status) led.Signal {
	switch s {
	case proto.StatusFree:
		return led.Green
	case proto.StatusBusy:
		return led.Red
	case proto.StatusSoon:
		return led.Amber
	case proto.StatusCheckIn:
		return led.BlinkAmber
	}
	return led.Off
}

func location(tz string) *time.Location {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC
	}
	return loc
}

// newID returns a request id: random, so requests of different panels or
// of one panel across reboots never collide.
func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// OnState takes a new room state from the server (or the cache at start).
// A clock far from the server's is corrected by the difference.
func (a *App) OnState(st *proto.State, fromServer bool) {
	a.mu.Lock()
	if a.state != nil && st.Room.ID != a.state.Room.ID {
		// Moved to another room: what was said or opened about the
		// old one ("Booked until 10:00", a menu, an armed end) goes.
		a.notice, a.menu, a.armed = "", "", ""
	}
	a.state, a.pairing, a.update = st, nil, false
	a.heard = fromServer
	if fromServer && !st.ServerTime.IsZero() {
		local := a.opts.Now()
		if diff := st.ServerTime.Sub(local); local.Before(plausible) || diff > 5*time.Minute || diff < -5*time.Minute {
			a.offset = diff
		} else {
			a.offset = 0
		}
	}
	a.mu.Unlock()
	a.redraw()
}

// OnPairing shows a pairing code: the panel has no credential (any more).
func (a *App) OnPairing(p *proto.Pairing) {
	a.mu.Lock()
	a.pairing, a.state, a.update, a.menu = p, nil, false, ""
	a.mu.Unlock()
	a.redraw()
}

// OnRevoked forgets the room: the panel goes back to pairing.
func (a *App) OnRevoked() {
	a.mu.Lock()
	a.state, a.menu = nil, ""
	a.mu.Unlock()
	a.redraw()
}

// OnConnected and OnDisconnected track the link, for the offline badge.
func (a *App) OnConnected() {
	a.mu.Lock()
	a.connected, a.downSince = true, time.Time{}
	a.mu.Unlock()
	a.redraw()
}

// OnDisconnected marks the time the connection was lost.
func (a *App) OnDisconnected() {
	a.mu.Lock()
	if a.connected || a.downSince.IsZero() {
		a.downSince = a.opts.Now()
	}
	a.connected = false
	a.mu.Unlock()
	a.redraw()
}

// OnUpdateFirmware shows that the server needs newer firmware; err is the
// server's refusal, worded in the panel's language (its versions).
func (a *App) OnUpdateFirmware(err error) {
	var msg string
	var pe *proto.Error
	if errors.As(err, &pe) {
		if s := a.langNow().Reason(pe.Reason, pe.Params); s != "" {
			msg = s
		}
	}
	a.mu.Lock()
	a.update, a.updateMsg = true, msg
	a.mu.Unlock()
	a.redraw()
}

// OnCommand carries out an admin's command.
func (a *App) OnCommand(ctx context.Context, c proto.Command, leds interface{ Set(led.Signal) error }) {
	switch c.Name {
	case "identify":
		if leds != nil {
			if err := leds.Set(led.Identify); err != nil {
				a.log.Warn("cannot identify with the LEDs", "err", err)
			}
		}
		a.setNotice(a.langNow().W.Identify, 30*time.Second)
	case "screenshot":
		a.mu.Lock()
		frame := a.frame
		a.mu.Unlock()
		if frame == nil {
			return
		}
		var buf bytes.Buffer
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		if err := enc.Encode(&buf, frame); err != nil {
			a.log.Error("cannot encode a screenshot", "err", err)
			return
		}
		if err := a.opts.Link.Report(ctx, proto.Report{Kind: "screenshot", PNG: buf.Bytes()}); err != nil {
			a.log.Warn("cannot send a screenshot", "err", err)
		}
	default:
		a.log.Warn("unknown command from the server", "command", c.Name)
	}
}

func (a *App) setNotice(text string, d time.Duration) {
	a.mu.Lock()
	a.notice, a.noticeUntil = text, a.opts.Now().Add(d)
	a.mu.Unlock()
	a.redraw()
}

// Frame returns the last frame drawn and its touch targets.
func (a *App) Frame() (*image.RGBA, []view.Target) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.frame, append([]view.Target(nil), a.targets...)
}

// Clock says the time t as the panel shows times: in the room's time zone
// (UTC before it knows its room), with the room's, the panel's or the
// language's hour cycle.
func (a *App) Clock(t time.Time) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	loc := time.UTC
	if a.state != nil {
		loc = location(a.state.Room.TimeZone)
	}
	return i18n.Clock(t.Add(a.offset), loc, a.hour12Locked())
}

// Input handles a person's tap or button press.
func (a *App) Input(ctx context.Context, ev input.Event) {
	a.mu.Lock()
	a.lastTouch = a.opts.Now()
	var action string
	switch ev.Kind {
	case input.Touch:
		p := image.Pt(ev.X, ev.Y)
		for _, t := range a.targets {
			if p.In(t.Rect) {
				action = t.Action
			}
		}
	case input.Button:
		action = a.buttonActionLocked(ev.Action)
	}
	a.mu.Unlock()
	a.redraw() // a touch may wake the backlight even when it hits nothing
	if action != "" {
		a.do(ctx, action)
	}
}
