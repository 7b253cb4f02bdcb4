package screen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Power is what the backlight should do.
type Power int

const (
	// PowerOff blanks the screen.
	PowerOff Power = iota
	// PowerDim keeps the screen readable at low brightness.
	PowerDim
	// PowerOn is full brightness.
	PowerOn
)

func (p Power) String() string {
	switch p {
	case PowerOff:
		return "off"
	case PowerDim:
		return "dim"
	case PowerOn:
		return "on"
	}
	return fmt.Sprintf("Power(%d)", int(p))
}

// Hours is one day's office hours as times of day, Start inclusive, End
// exclusive. The zero value means closed all day. Hours past midnight are
// not supported: give the next day its own early hours instead.
type Hours struct {
	Start, End time.Duration
}

// OfficeHours decides when a panel should be bright, dim or dark.
//
// A door panel is read from the corridor, not touched, so during office
// hours it stays on; outside them nobody reads it, so it goes dark (or dim,
// see Outside) to save power and the LCD. A touch wakes it at any hour.
type OfficeHours struct {
	// Days holds each weekday's hours, indexed by time.Weekday (Sunday is 0).
	Days [7]Hours
	// Location is the time zone of the hours: the room's. Default UTC, to
	// make a missing zone visible rather than silently using the board's.
	Location *time.Location
	// WakeFor is how long the screen stays on after a touch outside office
	// hours. Default 1 minute.
	WakeFor time.Duration
	// DimAfter dims the screen during office hours once nobody has touched
	// it for this long. Default 0: never dim during office hours.
	DimAfter time.Duration
	// Outside is the power outside office hours: PowerOff (the default) or
	// PowerDim for a building that wants panels readable at night.
	Outside Power
}

// Weekdays returns hours that apply Monday to Friday, closed at weekends.
func Weekdays(start, end time.Duration) [7]Hours {
	var d [7]Hours
	for wd := time.Monday; wd <= time.Friday; wd++ {
		d[wd] = Hours{start, end}
	}
	return d
}

// Validate reports hours that can never match.
func (o OfficeHours) Validate() error {
	for wd, h := range o.Days {
		if h == (Hours{}) {
			continue
		}
		if h.Start < 0 || h.End > 24*time.Hour || h.Start >= h.End {
			return fmt.Errorf("screen: office hours on %s: %s-%s: want 0 <= start < end <= 24h", time.Weekday(wd), h.Start, h.End)
		}
	}
	return nil
}

// Open reports whether t is within office hours.
func (o OfficeHours) Open(t time.Time) bool {
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	// Wall-clock time of day, so that hours mean the same on the days the
	// clocks change.
	h, m, s := t.Clock()
	tod := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second
	d := o.Days[t.Weekday()]
	return tod >= d.Start && tod < d.End
}

// Decide returns the backlight power at now, given the last touch (zero if
// none yet).
func (o OfficeHours) Decide(now, lastTouch time.Time) Power {
	wake := o.WakeFor
	if wake <= 0 {
		wake = time.Minute
	}
	idle := now.Sub(lastTouch)
	touched := !lastTouch.IsZero() && idle >= 0 && idle < wake
	switch {
	case touched:
		return PowerOn
	case o.Open(now):
		if o.DimAfter > 0 && (lastTouch.IsZero() || idle >= o.DimAfter) {
			return PowerDim
		}
		return PowerOn
	default:
		return o.Outside
	}
}

// BacklightOpts configures a Backlight.
type BacklightOpts struct {
	// DimPercent is the brightness of PowerDim, in percent of the maximum.
	// Default 20.
	DimPercent int
	// OnPercent is the brightness of PowerOn. Default 100.
	OnPercent int
}

// Backlight drives a Linux backlight through sysfs
// (/sys/class/backlight/NAME): brightness for on and dim, bl_power to
// switch it off, which keeps the brightness for when it comes back.
type Backlight struct {
	dir       string
	max       int
	opts      BacklightOpts
	hasPower  bool
	last      Power
	lastKnown bool
}

// FindBacklight returns the first backlight under root, normally
// /sys/class/backlight.
func FindBacklight(root string) (string, error) {
	dirs, err := filepath.Glob(filepath.Join(root, "*"))
	if err != nil {
		return "", fmt.Errorf("screen: backlight: %w", err)
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "brightness")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("screen: backlight: none found in %s", root)
}

// NewBacklight returns a Backlight for the sysfs directory dir, e.g.
// /sys/class/backlight/10-0045 for the official Raspberry Pi 7" display.
// Writing needs root or a udev rule giving the panel's user write access.
func NewBacklight(dir string, opts BacklightOpts) (*Backlight, error) {
	if opts.DimPercent <= 0 || opts.DimPercent > 100 {
		opts.DimPercent = 20
	}
	if opts.OnPercent <= 0 || opts.OnPercent > 100 {
		opts.OnPercent = 100
	}
	b, err := os.ReadFile(filepath.Join(dir, "max_brightness"))
	if err != nil {
		return nil, fmt.Errorf("screen: backlight: %w", err)
	}
	max, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || max <= 0 {
		return nil, fmt.Errorf("screen: backlight %s: max_brightness %q is not a positive number", dir, strings.TrimSpace(string(b)))
	}
	_, err = os.Stat(filepath.Join(dir, "bl_power"))
	return &Backlight{dir: dir, max: max, opts: opts, hasPower: err == nil}, nil
}

// SetLevels changes the brightness of PowerOn and PowerDim, in percent
// (the server's settings); 0 keeps the default (100 and 20). The next Set
// writes the new level. Call it from the goroutine that calls Set.
func (b *Backlight) SetLevels(onPercent, dimPercent int) {
	if onPercent <= 0 || onPercent > 100 {
		onPercent = 100
	}
	if dimPercent <= 0 || dimPercent > 100 {
		dimPercent = 20
	}
	if b.opts.OnPercent != onPercent || b.opts.DimPercent != dimPercent {
		b.opts.OnPercent, b.opts.DimPercent = onPercent, dimPercent
		b.lastKnown = false
	}
}

// Set applies p. It writes only when p differs from the last Set, so it can
// be called on every tick of the panel's clock.
func (b *Backlight) Set(p Power) error {
	if b.lastKnown && b.last == p {
		return nil
	}
	var err error
	switch p {
	case PowerOn, PowerDim:
		pct := b.opts.OnPercent
		if p == PowerDim {
			pct = b.opts.DimPercent
		}
		// At least 1: on some panels 0 means off.
		level := max(b.max*pct/100, 1)
		err = b.write("brightness", level)
		if err == nil && b.hasPower {
			err = b.write("bl_power", 0) // FB_BLANK_UNBLANK
		}
	case PowerOff:
		if b.hasPower {
			err = b.write("bl_power", 4) // FB_BLANK_POWERDOWN
		} else {
			err = b.write("brightness", 0)
		}
	default:
		err = errors.New("unknown power " + p.String())
	}
	if err != nil {
		b.lastKnown = false
		return fmt.Errorf("screen: backlight %s: set %s: %w", b.dir, p, err)
	}
	b.last, b.lastKnown = p, true
	return nil
}

func (b *Backlight) write(name string, v int) error {
	// sysfs attributes are rewritten in place, never replaced.
	return os.WriteFile(filepath.Join(b.dir, name), []byte(strconv.Itoa(v)+"\n"), 0)
}
