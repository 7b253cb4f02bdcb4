package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/lintelhq/lintel/server/calendar/graph/tenantscript"
	"github.com/lintelhq/lintel/server/connector"
	"github.com/lintelhq/lintel/server/store"
)

// tenantScript prints the Exchange Online PowerShell that restricts the
// app to the room mailboxes, filled from the running server's connector
// settings and rooms.
func tenantScript(ctx context.Context, c Context, args []string) error {
	var restrict, sp, group *string
	var places *bool
	_, client, err := c.apiCommand("tenant-script", args, func(fs *flag.FlagSet) {
		restrict = fs.String("restrict", "rbac", "how to restrict the app: rbac (RBAC for Applications) or policy (application access policy)")
		sp = fs.String("service-principal", "", "the Object ID of the app's enterprise application (RBAC for Applications needs it)")
		group = fs.String("group", "", "name of the mail-enabled security group (default \"Lintel rooms\")")
		places = fs.Bool("places", false, "also grant Place.Read.All so rooms can be imported from Places")
	})
	if err != nil {
		return err
	}
	var settings connector.Settings
	if err := client.do(ctx, "GET", "/api/v1/connector", nil, &settings); err != nil {
		return fmt.Errorf("tenant-script: %w", err)
	}
	if settings.Kind != "m365" {
		return fmt.Errorf("tenant-script: this server does not use Microsoft 365 yet; set the tenant and app in the admin UI (Connection) or with --calendar m365 first")
	}
	var rooms []store.Room
	if err := client.do(ctx, "GET", "/api/v1/rooms", nil, &rooms); err != nil {
		return fmt.Errorf("tenant-script: %w", err)
	}
	var mailboxes []string
	for _, r := range rooms {
		mailboxes = append(mailboxes, r.Calendar)
	}
	var how tenantscript.Restriction
	switch *restrict {
	case "rbac":
		how = tenantscript.RBAC
	case "policy":
		how = tenantscript.Policy
	default:
		return fmt.Errorf("tenant-script: --restrict %q is not rbac or policy", *restrict)
	}
	cloud := settings.Cloud
	if cloud == "custom" {
		// Custom Graph endpoints say nothing about the Exchange Online
		// environment: assume the worldwide one and say so.
		fmt.Fprintln(c.Stderr, "tenant-script: the connector uses custom endpoints; the script connects to worldwide Exchange Online (edit Connect-ExchangeOnline for a national cloud)")
		cloud = "global"
	}
	script, err := tenantscript.Render(tenantscript.Options{
		TenantID: settings.TenantID, AppID: settings.ClientID, ServicePrincipalID: *sp, Cloud: cloud,
		Rooms: mailboxes, GroupName: *group, Restrict: how, Canary: settings.CanaryMailbox, Places: *places,
	})
	if err != nil {
		return fmt.Errorf("tenant-script: %w", err)
	}
	fmt.Fprint(c.Stdout, script)
	return nil
}
