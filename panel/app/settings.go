package app

import (
	"time"

	"github.com/lintelhq/lintel/panel/i18n"
	"github.com/lintelhq/lintel/panel/screen"
	"github.com/lintelhq/lintel/panel/view"
	"github.com/lintelhq/lintel/proto"
)

// effective is what the settings decide, worked out once per change: the
// server's settings (OnSettings) over the panel's configuration (Opts).
type effective struct {
	locale      string
	hours       view.HourCycle // the configuration's clock, where neither the server nor the room decides
	roomHours   int            // the server's clock (12 or 24), over the room's; 0: the room's
	grace       time.Duration
	bookMinutes []int
	office      *screen.OfficeHours // nil: no schedule, the screen stays on
	brightness  [2]int              // backlight on and dim, percent (0: default)
	leds        [2]int              // LEDs by day and at night, percent (0: default)
}

// local is the configuration's settings, in the server's terms.
func (a *App) local() proto.Settings {
	s := proto.Settings{Locale: a.opts.Locale, OfficeHours: a.opts.OfficeHours, Night: a.opts.Night,
		OfflineGraceSeconds: int(a.opts.OfflineGrace / time.Second)}
	return s
}

// applyLocked works the effective settings out again. a.mu is held (or
// the app is not running yet).
func (a *App) applyLocked() {
	s := a.local()
	var server proto.Settings
	if a.server != nil {
		server = *a.server
		s = server.Over(s)
	}
	e := effective{locale: s.Locale, hours: a.opts.Hours, roomHours: server.Hours, bookMinutes: s.BookMinutes,
		brightness: [2]int{s.Brightness, s.DimBrightness}, leds: [2]int{s.LEDBrightness, s.LEDNightBrightness}}
	e.grace = time.Duration(s.OfflineGraceSeconds) * time.Second
	if server.OfflineGraceSeconds == 0 {
		e.grace = a.opts.OfflineGrace // the configuration's, to the nanosecond
	}
	if s.OfficeHours != "" && s.OfficeHours != proto.OfficeAlways {
		if days, err := proto.ParseOfficeHours(s.OfficeHours); err != nil {
			a.log.Warn("ignoring office hours", "hours", s.OfficeHours, "err", err)
		} else {
			o := &screen.OfficeHours{Outside: screen.PowerOff}
			for d, h := range days {
				o.Days[d] = screen.Hours{Start: h.Start, End: h.End}
			}
			if s.Night == proto.NightDim {
				o.Outside = screen.PowerDim
			}
			e.office = o
		}
	}
	a.eff = e
	a.lang = i18n.Resolve(e.locale)
}

// OnSettings applies the display settings the server sent (or the cached
// ones at start): at once, without a restart. nil goes back to the
// configuration's.
func (a *App) OnSettings(s *proto.Settings) {
	a.mu.Lock()
	a.server = s
	a.applyLocked()
	bright, leds := a.eff.brightness, a.eff.leds
	a.mu.Unlock()
	if bl, ok := a.opts.Backlight.(interface{ SetLevels(on, dim int) }); ok {
		// Called here and by the render loop: the loop's Set may run at
		// the same time, so take the app's draw lock.
		a.drawMu.Lock()
		bl.SetLevels(bright[0], bright[1])
		a.drawMu.Unlock()
	}
	if l, ok := a.opts.LEDs.(interface{ SetLevels(day, night int) error }); ok {
		if err := l.SetLevels(leds[0], leds[1]); err != nil {
			a.log.Warn("cannot set the LEDs' brightness", "err", err)
		}
	}
	a.redraw()
}

// Settings returns the server's settings in force (nil: none).
func (a *App) Settings() *proto.Settings {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.server
}

func (a *App) langNow() i18n.Lang {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lang
}

// zoneLocked is the zone of the office hours: the room's, else the
// configured one, else UTC.
func (a *App) zoneLocked() *time.Location {
	if a.state != nil && a.state.Room.TimeZone != "" {
		return location(a.state.Room.TimeZone)
	}
	if a.opts.TimeZone != nil {
		return a.opts.TimeZone
	}
	return time.UTC
}

// schedule switches the backlight and the LEDs' night level by the office
// hours. Without office hours the screen stays on and the LEDs at their
// day level.
func (a *App) schedule(office *screen.OfficeHours, zone *time.Location, now, lastTouch time.Time) {
	power, night := screen.PowerOn, false
	if office != nil {
		o := *office
		o.Location = zone
		power, night = o.Decide(now, lastTouch), !o.Open(now)
	}
	if a.opts.Backlight != nil {
		a.drawMu.Lock()
		err := a.opts.Backlight.Set(power)
		a.drawMu.Unlock()
		if err != nil {
			a.log.Warn("cannot set the backlight", "err", err)
		}
	}
	if l, ok := a.opts.LEDs.(interface{ SetNight(bool) error }); ok {
		if err := l.SetNight(night); err != nil {
			a.log.Warn("cannot dim the LEDs", "err", err)
		}
	}
}
