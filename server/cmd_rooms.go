package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/lintelhq/lintel/server/store"
)

func roomsCmd(ctx context.Context, c Context, args []string) error {
	return subcommand(ctx, c, "rooms", args, map[string]command{
		"list":          {"list the rooms: id, name, calendar, time zone and display mode", roomsList},
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
