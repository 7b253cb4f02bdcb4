package admin

import (
	"context"

	"github.com/lintelhq/lintel/server/connector"
)

// Connector is the server's calendar connection as the admin manages it.
type Connector interface {
	// Settings returns the current settings.
	Settings() connector.Settings
	// Apply checks and saves new settings (with a new client secret or
	// certificate when cred holds one) and switches the server to them at
	// once.
	Apply(ctx context.Context, s connector.Settings, cred connector.Credentials) error
	// Test diagnoses the connector and every room's calendar (by room id
	// and calendar address).
	Test(ctx context.Context, rooms map[string]string) connector.Report
	// Health says how the calendar reads are going.
	Health() connector.Health
	// Places lists the tenant's room mailboxes (Microsoft 365 Places), for
	// importing rooms; an error says why not (another connector, or the
	// optional Place.Read.All permission is missing).
	Places(ctx context.Context) ([]connector.Place, error)
}
