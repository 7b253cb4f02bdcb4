package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/connector"
)

// doctor asks the running server to test every room's calendar access
// (the admin's "test all") and prints a diagnosis per room, each failure
// with the sentence that says what to do.
func doctor(ctx context.Context, c Context, args []string) error {
	_, client, err := c.apiCommand("doctor", args, nil)
	if err != nil {
		return err
	}
	var report connector.Report
	if err := client.do(ctx, "GET", "/api/v1/test", nil, &report); err != nil {
		return fmt.Errorf("doctor: %w", err)
	}
	fmt.Fprintf(c.Stdout, "calendar: %s\n", report.Provider)
	tenantFailed := false
	for _, ch := range report.Tenant {
		fmt.Fprintf(c.Stdout, "%-5s %s: %s\n", ch.Level, ch.Name, ch.Detail)
		if ch.Fix != "" {
			fmt.Fprintf(c.Stdout, "      fix: %s\n", ch.Fix)
		}
		tenantFailed = tenantFailed || ch.Level == "fail"
	}
	if len(report.Roles) > 0 {
		fmt.Fprintf(c.Stdout, "granted application permissions: %s\n", strings.Join(report.Roles, ", "))
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROOM\tSTATUS\tDETAIL")
	for _, d := range report.Rooms {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Room, d.Status, d.Detail)
		if d.Status != calendar.StatusOK && d.Fix != "" {
			fmt.Fprintf(tw, "\t\tfix: %s\n", d.Fix)
		}
	}
	tw.Flush()
	if failed := report.Failed(); failed > 0 || tenantFailed {
		return fmt.Errorf("doctor: %d of %d rooms failed", failed, len(report.Rooms))
	}
	fmt.Fprintf(c.Stdout, "all %d rooms ok\n", len(report.Rooms))
	return nil
}
