package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lintelhq/lintel/server/store"
)

func roomsCmd(ctx context.Context, c Context, args []string) error {
	return subcommand(ctx, c, "rooms", args, map[string]command{
		"list":          {"list the rooms: id, name, calendar, time zone and display mode", roomsList},
		"add":           {"add a room (its id, name, calendar address, time zone, display mode and booking settings)", roomsAdd},
		"set":           {"change a room: only the flags given", roomsSet},
		"remove":        {"remove a room (needs --yes)", roomsRemove},
		"import-places": {"add the room mailboxes Microsoft 365 Places lists", roomsImportPlaces},
	})
}

func roomsList(ctx context.Context, c Context, args []string) error {
	_, client, err := c.apiCommand("rooms list", args, nil)
	if err != nil {
		return err
	}
	var rooms []store.Room
	if err := client.do(ctx, "GET", "/api/v1/rooms", nil, &rooms); err != nil {
		return fmt.Errorf("rooms list: %w", err)
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCALENDAR\tTIME ZONE\tDISPLAY")
	for _, r := range rooms {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Name, r.Calendar, r.TimeZone, r.Display)
	}
	return tw.Flush()
}

// roomsImportPlaces adds the tenant's room mailboxes listed by Microsoft
// 365 Places (needs the optional Place.Read.All permission).
func roomsImportPlaces(ctx context.Context, c Context, args []string) error {
	var tz *string
	_, client, err := c.apiCommand("rooms import-places", args, func(fs *flag.FlagSet) {
		tz = fs.String("tz", "", "the rooms' IANA time zone, e.g. Europe/Zurich (required)")
	})
	if err != nil {
		return err
	}
	var added []store.Room
	if err := client.do(ctx, "POST", "/api/v1/rooms/import-places", map[string]string{"tz": *tz}, &added); err != nil {
		return fmt.Errorf("rooms import-places: %w", err)
	}
	for _, r := range added {
		fmt.Fprintf(c.Stdout, "added %s (%s)\n", r.ID, r.Calendar)
	}
	fmt.Fprintf(c.Stdout, "%d rooms added\n", len(added))
	return nil
}

// roomFlags are the flags of rooms add and rooms set: one per field of the
// API's room body (deploy/docs/api.md).
type roomFlags struct {
	name, calendar, tz, display, lang               *string
	instant, teams, extendEnd, checkIn, autoRelease *bool
	step, soon, checkInBefore, checkInAfter, hours  *int
}

func defineRoomFlags(fs *flag.FlagSet) *roomFlags {
	return &roomFlags{
		name:          fs.String("name", "", "the name the panel shows"),
		calendar:      fs.String("calendar", "", "the room's calendar: its mailbox address (Microsoft 365) or, for the built-in calendar, empty for the room's id"),
		tz:            fs.String("tz", "", "the room's IANA time zone, e.g. Europe/Zurich"),
		display:       fs.String("display", "", "what the panel shows of a meeting: title, organizer or reserved (default title)"),
		lang:          fs.String("lang", "", "the room's language (en, de, fr, it, es): the subject of meetings booked at its panels"),
		hours:         fs.Int("hours", 0, "the clock its panels show: 12 or 24 (0: each panel's language)"),
		instant:       fs.Bool("instant", false, "allow booking at the panel"),
		teams:         fs.Bool("teams", false, "offer a Teams meeting with a booking, where the room's calendar can host one"),
		extendEnd:     fs.Bool("extend-end", false, "allow extending and ending meetings at the panel"),
		checkIn:       fs.Bool("check-in", false, "ask people to check in to meetings at the panel"),
		autoRelease:   fs.Bool("auto-release", false, "release meetings nobody checked in to"),
		step:          fs.Int("step", 0, "booking step in minutes, 0 to 60 (0: 15)"),
		soon:          fs.Int("soon", 0, "minutes before a meeting the room shows 'starting soon', 0 to 60 (0: 10)"),
		checkInBefore: fs.Int("checkin-before", 0, "minutes before a meeting check-in opens, 0 to 60 (0: 5)"),
		checkInAfter:  fs.Int("checkin-after", 0, "minutes after a meeting's start check-in closes, 0 to 60 (0: 10)"),
	}
}

// apply copies the flags given on the command line onto room, checking
// each, so that an error names the flag rather than a field of the API.
func (f *roomFlags) apply(fs *flag.FlagSet, room *store.Room) error {
	var errs []string
	fs.Visit(func(fl *flag.Flag) {
		minutes := func(dst *int, v int) {
			if v < 0 || v > 60 {
				errs = append(errs, fmt.Sprintf("--%s must be 0 to 60 minutes, not %d", fl.Name, v))
				return
			}
			*dst = v
		}
		switch fl.Name {
		case "name":
			room.Name = strings.TrimSpace(*f.name)
		case "calendar":
			room.Calendar = strings.TrimSpace(*f.calendar)
		case "tz":
			if _, err := time.LoadLocation(*f.tz); err != nil || *f.tz == "" {
				errs = append(errs, fmt.Sprintf("--tz %q is not an IANA time zone, e.g. Europe/Zurich", *f.tz))
			}
			room.TimeZone = *f.tz
		case "display":
			switch *f.display {
			case store.DisplayTitle, store.DisplayOrganizer, store.DisplayReserved:
				room.Display = *f.display
			default:
				errs = append(errs, fmt.Sprintf("--display %q is not one of title, organizer, reserved", *f.display))
			}
		case "lang":
			room.Language = *f.lang // the server checks it and names the languages
		case "hours":
			if *f.hours != 0 && *f.hours != 12 && *f.hours != 24 {
				errs = append(errs, fmt.Sprintf("--hours must be 12 or 24 (or 0: each panel's language), not %d", *f.hours))
			}
			room.Hours = *f.hours
		case "instant":
			room.Booking.Instant = *f.instant
		case "teams":
			room.Booking.Teams = *f.teams
		case "extend-end":
			room.Booking.ExtendEnd = *f.extendEnd
		case "check-in":
			room.Booking.CheckIn = *f.checkIn
		case "auto-release":
			room.Booking.AutoRelease = *f.autoRelease
		case "step":
			minutes(&room.Booking.StepMinutes, *f.step)
		case "soon":
			minutes(&room.Booking.SoonMinutes, *f.soon)
		case "checkin-before":
			minutes(&room.Booking.CheckInBefore, *f.checkInBefore)
		case "checkin-after":
			minutes(&room.Booking.CheckInAfter, *f.checkInAfter)
		}
	})
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// roomID takes the room id, the one argument, before or after the flags.
func roomID(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

// roomsAdd creates a room through the API (POST /api/v1/rooms).
func roomsAdd(ctx context.Context, c Context, args []string) error {
	id, args := roomID(args)
	var f *roomFlags
	fs, client, err := c.apiCommand("rooms add", args, func(fs *flag.FlagSet) { f = defineRoomFlags(fs) })
	if err != nil {
		return err
	}
	if id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	}
	if id == "" {
		return errors.New("usage: lintel-server rooms add ID --name NAME --tz ZONE [--calendar ADDRESS] [flags]; see -h")
	}
	room := store.Room{ID: id, Display: store.DisplayTitle}
	if err := f.apply(fs, &room); err != nil {
		return fmt.Errorf("rooms add: %w", err)
	}
	switch {
	case room.Name == "":
		return errors.New("rooms add: --name is required: the name the panel shows")
	case room.TimeZone == "":
		return errors.New("rooms add: --tz is required: the room's IANA time zone, e.g. Europe/Zurich")
	}
	var added store.Room
	if err := client.do(ctx, "POST", "/api/v1/rooms", room, &added); err != nil {
		return fmt.Errorf("rooms add: %w", err)
	}
	fmt.Fprintf(c.Stdout, "added room %s (%s), calendar %s, %s\n", added.ID, added.Name, added.Calendar, added.TimeZone)
	return nil
}

// roomsSet changes the fields given as flags (GET, then PUT the room with
// them changed); the others stay as they are.
func roomsSet(ctx context.Context, c Context, args []string) error {
	id, args := roomID(args)
	var f *roomFlags
	fs, client, err := c.apiCommand("rooms set", args, func(fs *flag.FlagSet) { f = defineRoomFlags(fs) })
	if err != nil {
		return err
	}
	if id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	}
	if id == "" || fs.NFlag() == 0 {
		return errors.New("usage: lintel-server rooms set ID --FLAG VALUE...; e.g. rooms set rigi --check-in --checkin-after 15; see -h")
	}
	path := "/api/v1/rooms/" + url.PathEscape(id)
	var room store.Room
	if err := client.do(ctx, "GET", path, nil, &room); err != nil {
		return fmt.Errorf("rooms set: %w", err)
	}
	if err := f.apply(fs, &room); err != nil {
		return fmt.Errorf("rooms set: %w", err)
	}
	if err := client.do(ctx, "PUT", path, room, &room); err != nil {
		return fmt.Errorf("rooms set: %w", err)
	}
	fmt.Fprintf(c.Stdout, "room %s saved\n", room.ID)
	return nil
}

// roomsRemove deletes a room (and its built-in meetings); --yes confirms.
func roomsRemove(ctx context.Context, c Context, args []string) error {
	id, args := roomID(args)
	var yes *bool
	fs, client, err := c.apiCommand("rooms remove", args, func(fs *flag.FlagSet) {
		yes = fs.Bool("yes", false, "confirm: the room and its meetings in the built-in calendar are removed")
	})
	if err != nil {
		return err
	}
	if id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	}
	if id == "" {
		return errors.New("usage: lintel-server rooms remove ID --yes")
	}
	if !*yes {
		return fmt.Errorf("rooms remove: add --yes to remove room %s and its meetings in the built-in calendar; its panels stay paired without a room", id)
	}
	if err := client.do(ctx, "DELETE", "/api/v1/rooms/"+url.PathEscape(id), nil, nil); err != nil {
		return fmt.Errorf("rooms remove: %w", err)
	}
	fmt.Fprintf(c.Stdout, "room %s removed\n", id)
	return nil
}
