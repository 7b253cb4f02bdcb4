package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/lintelhq/lintel/server/calendar"
)

// doctor asks the running server to test every room's calendar access
// (the admin's "test all") and prints a diagnosis per room, each failure
// with the sentence that says what to do.
func doctor(ctx context.Context, c Context, args []string) error {
	fs := c.flags("doctor")
	api := c.addAPIFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	client, err := c.client(api)
	if err != nil {
		return err
	}
	var report testReport
	if err := client.do(ctx, "GET", "/api/v1/test", nil, &report); err != nil {
		return fmt.Errorf("doctor: %w", err)
	}
	for _, line := range report.Tenant {
		fmt.Fprintf(c.Stdout, "%-7s %s\n", line.Level, line.Text)
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROOM\tSTATUS\tDETAIL")
	failed := 0
	for _, d := range report.Rooms {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Room, d.Status, d.Detail)
		if d.Status != calendar.StatusOK {
			failed++
			if d.Fix != "" {
				fmt.Fprintf(tw, "\t\tfix: %s\n", d.Fix)
			}
		}
	}
	tw.Flush()
	if failed > 0 {
		return fmt.Errorf("doctor: %d of %d rooms failed", failed, len(report.Rooms))
	}
	fmt.Fprintf(c.Stdout, "all %d rooms ok\n", len(report.Rooms))
	return nil
}

// testReport is the answer of GET /api/v1/test.
type testReport struct {
	Provider string `json:"provider"`
	Tenant   []struct {
		Level string `json:"level"` // "ok", "warning", "error", "info"
		Text  string `json:"text"`
	} `json:"tenant"`
	Rooms []calendar.Diagnosis `json:"rooms"`
}
