package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/lintelhq/lintel/proto"
)

func settingsCmd(ctx context.Context, c Context, args []string) error {
	return subcommand(ctx, c, "settings", args, map[string]command{
		"get": {"show the panel settings of the fleet, a room (--room) or a panel (--device), and what its panels get", settingsGet},
		"set": {"change the panel settings of the fleet, a room (--room) or a panel (--device): only the flags given (--clear: all)", settingsSet},
	})
}

// settingsScope are the flags naming a layer.
type settingsScope struct{ room, device *string }

func defineScope(fs *flag.FlagSet) settingsScope {
	return settingsScope{
		room:   fs.String("room", "", "a room's settings (its id), over the fleet default"),
		device: fs.String("device", "", "a panel's own settings (its id), over its room's"),
	}
}

func (s settingsScope) path() (string, error) {
	switch {
	case *s.room != "" && *s.device != "":
		return "", errors.New("give --room or --device, not both")
	case *s.room != "":
		return "/api/v1/rooms/" + url.PathEscape(*s.room) + "/panel-settings", nil
	case *s.device != "":
		return "/api/v1/devices/" + url.PathEscape(*s.device) + "/panel-settings", nil
	}
	return "/api/v1/panel-settings", nil
}

type settingsAnswer struct {
	Settings  proto.Settings  `json:"settings"`
	Effective *proto.Settings `json:"effective,omitempty"`
}

func settingsGet(ctx context.Context, c Context, args []string) error {
	var scope settingsScope
	_, client, err := c.apiCommand("settings get", args, func(fs *flag.FlagSet) { scope = defineScope(fs) })
	if err != nil {
		return err
	}
	path, err := scope.path()
	if err != nil {
		return fmt.Errorf("settings get: %w", err)
	}
	var a settingsAnswer
	if err := client.do(ctx, "GET", path, nil, &a); err != nil {
		return fmt.Errorf("settings get: %w", err)
	}
	printSettings(c, a)
	return nil
}

// printSettings shows each setting: the layer's value, and what applies.
func printSettings(c Context, a settingsAnswer) {
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	eff := a.Settings
	if a.Effective != nil {
		eff = *a.Effective
		fmt.Fprintln(tw, "SETTING\tSET HERE\tIN FORCE")
	} else {
		fmt.Fprintln(tw, "SETTING\tFLEET DEFAULT\t")
	}
	show := func(v any) string {
		switch v := v.(type) {
		case string:
			return v
		case int:
			if v == 0 {
				return ""
			}
			return strconv.Itoa(v)
		case []int:
			s := make([]string, len(v))
			for i, n := range v {
				s[i] = strconv.Itoa(n)
			}
			return strings.Join(s, ",")
		}
		return fmt.Sprint(v)
	}
	rows := []struct {
		name     string
		set, eff any
	}{
		{"locale", a.Settings.Locale, eff.Locale}, {"hours", a.Settings.Hours, eff.Hours},
		{"office-hours", a.Settings.OfficeHours, eff.OfficeHours}, {"night", a.Settings.Night, eff.Night},
		{"brightness", a.Settings.Brightness, eff.Brightness}, {"dim-brightness", a.Settings.DimBrightness, eff.DimBrightness},
		{"led-brightness", a.Settings.LEDBrightness, eff.LEDBrightness}, {"led-night-brightness", a.Settings.LEDNightBrightness, eff.LEDNightBrightness},
		{"book-minutes", a.Settings.BookMinutes, eff.BookMinutes}, {"offline-grace", a.Settings.OfflineGraceSeconds, eff.OfflineGraceSeconds},
	}
	for _, r := range rows {
		set, in := show(r.set), show(r.eff)
		if set == "" {
			set = "-"
		}
		if a.Effective == nil {
			in = ""
		} else if in == "" {
			in = "(panel's own)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.name, set, in)
	}
	tw.Flush()
}

func settingsSet(ctx context.Context, c Context, args []string) error {
	var scope settingsScope
	var locale, office, night, book *string
	var hours, bright, dim, led, ledNight, grace *int
	var clear *bool
	fs, client, err := c.apiCommand("settings set", args, func(fs *flag.FlagSet) {
		scope = defineScope(fs)
		locale = fs.String("locale", "", "language: en, de, fr, it, es, with an optional region (de-CH); empty: inherit")
		hours = fs.Int("hours", 0, "clock: 12 or 24 (0: inherit)")
		office = fs.String("office-hours", "", "when the screen is on, e.g. 'mon-fri 07:00-19:00', or always; empty: inherit")
		night = fs.String("night", "", "the screen outside office hours: off or dim; empty: inherit")
		bright = fs.Int("brightness", 0, "backlight when on, percent (0: inherit)")
		dim = fs.Int("dim-brightness", 0, "backlight when dim, percent (0: inherit)")
		led = fs.Int("led-brightness", 0, "status LEDs, percent (0: inherit)")
		ledNight = fs.Int("led-night-brightness", 0, "status LEDs outside office hours, percent (0: inherit)")
		book = fs.String("book-minutes", "", "the booking menu's lengths, e.g. 15,30,60; empty: inherit")
		grace = fs.Int("offline-grace", 0, "seconds offline before the panel says so (0: inherit)")
		clear = fs.Bool("clear", false, "clear every setting of this layer first")
	})
	if err != nil {
		return err
	}
	path, err := scope.path()
	if err != nil {
		return fmt.Errorf("settings set: %w", err)
	}
	var cur settingsAnswer
	if !*clear {
		if err := client.do(ctx, "GET", path, nil, &cur); err != nil {
			return fmt.Errorf("settings set: %w", err)
		}
	}
	s := cur.Settings
	var errs []string
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "locale":
			s.Locale = *locale
		case "hours":
			s.Hours = *hours
		case "office-hours":
			s.OfficeHours = *office
		case "night":
			s.Night = *night
		case "brightness":
			s.Brightness = *bright
		case "dim-brightness":
			s.DimBrightness = *dim
		case "led-brightness":
			s.LEDBrightness = *led
		case "led-night-brightness":
			s.LEDNightBrightness = *ledNight
		case "offline-grace":
			s.OfflineGraceSeconds = *grace
		case "book-minutes":
			s.BookMinutes = nil
			for _, m := range strings.FieldsFunc(*book, func(r rune) bool { return r == ',' || r == ' ' }) {
				n, err := strconv.Atoi(m)
				if err != nil {
					errs = append(errs, fmt.Sprintf("--book-minutes %q: want minutes such as 15,30,60", *book))
					return
				}
				s.BookMinutes = append(s.BookMinutes, n)
			}
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("settings set: %s", strings.Join(errs, "; "))
	}
	var a settingsAnswer
	if err := client.do(ctx, "PUT", path, s, &a); err != nil {
		return fmt.Errorf("settings set: %w", err)
	}
	printSettings(c, a)
	return nil
}
