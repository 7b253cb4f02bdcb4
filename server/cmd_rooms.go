package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/lintelhq/lintel/server/store"
)

func roomsCmd(ctx context.Context, c Context, args []string) error {
	return subcommand(ctx, c, "rooms", args, map[string]func(context.Context, Context, []string) error{
		"list": roomsList,
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
