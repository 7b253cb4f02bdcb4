package admin

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/lintelhq/lintel/server/calendar"
)

// ConnectorSettings say where room calendars come from. The Microsoft 365
// client secret is not among them: it is written once to a 0600 file and
// never read back into a page, a log or an API answer.
type ConnectorSettings struct {
	Kind          string    `json:"kind"` // "builtin" or "m365"
	TenantID      string    `json:"tenant_id,omitempty"`
	ClientID      string    `json:"client_id,omitempty"`
	Cloud         string    `json:"cloud,omitempty"` // global, usgovhigh, dod, china, custom
	AuthorityHost string    `json:"authority_host,omitempty"`
	GraphBaseURL  string    `json:"graph_base_url,omitempty"`
	Auth          string    `json:"auth,omitempty"`             // "secret" or "certificate"
	CertFile      string    `json:"certificate_file,omitempty"` // path on the server
	SecretExpires time.Time `json:"secret_expires,omitzero"`
	CanaryMailbox string    `json:"canary_mailbox,omitempty"`
	// PublicURL is the server's base URL as Microsoft 365 reaches it, for
	// change notifications to {PublicURL}/graph/notifications; the
	// server's --public-url flag wins over it. "" polls every room.
	PublicURL string `json:"public_url,omitempty"`
	// HasSecret says whether a client secret is stored (never its value).
	HasSecret bool `json:"has_secret,omitempty"`
	// FromFlags is set when the server was started with connector flags,
	// which win over what is saved here at the next start.
	FromFlags bool `json:"from_flags,omitempty"`
	// SecretFile and SecretEnv, set only by the server's flags, say where
	// the client secret is instead of the data directory's file.
	SecretFile string `json:"-"`
	SecretEnv  string `json:"-"`
}

// Credentials are what a connection change may bring besides its
// settings: a new client secret, or a certificate uploaded in the admin
// UI. Each is written once to a 0600 file in the data directory and never
// shown again.
type Credentials struct {
	Secret      string // the client secret's Value
	Certificate []byte // PEM (certificate and private key) or PFX
}

// ErrCredentialAgain refuses a change of where the credential goes without
// the credential.
var ErrCredentialAgain = errors.New("changing the cloud, authority host, Graph URL, tenant or client id (or switching to Microsoft 365) needs the client secret's Value (or the certificate) again: the stored one is never sent anywhere new")

// NeedsCredential refuses new settings that would send the stored secret
// (or a token signed with the stored certificate) somewhere it was not
// sent with the old settings: to another cloud, authority host, Graph URL,
// tenant or app (client id), or from the built-in calendar to Microsoft
// 365. Whoever changes those brings the credential again, so that an API
// token alone cannot exfiltrate the write-only secret. Every connector
// applies it before anything else.
func NeedsCredential(old, s ConnectorSettings, cred Credentials) error {
	if s.Kind != "m365" {
		return nil
	}
	if s.Auth == "certificate" && len(cred.Certificate) > 0 || s.Auth != "certificate" && cred.Secret != "" {
		return nil
	}
	same := func(a, b string) bool {
		return strings.EqualFold(strings.TrimRight(strings.TrimSpace(a), "/"), strings.TrimRight(strings.TrimSpace(b), "/"))
	}
	cloud := func(s string) string {
		if s == "" {
			return "global"
		}
		return s
	}
	if old.Kind != "m365" || !same(cloud(old.Cloud), cloud(s.Cloud)) || !same(old.AuthorityHost, s.AuthorityHost) ||
		!same(old.GraphBaseURL, s.GraphBaseURL) || !same(old.TenantID, s.TenantID) || !same(old.ClientID, s.ClientID) ||
		s.Auth == "certificate" && s.CertFile != "" && s.CertFile != old.CertFile {
		return ErrCredentialAgain
	}
	return nil
}

// Check is one tenant-level finding of a test.
type Check struct {
	Name   string `json:"name"`
	Level  string `json:"level"` // ok, info, warn, fail
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is what "test all" found: tenant-level checks (Microsoft 365
// sign-in, granted permissions, least privilege, secret expiry) and a
// diagnosis per room.
type Report struct {
	Provider string               `json:"provider"`
	Roles    []string             `json:"roles,omitempty"`
	Tenant   []Check              `json:"tenant"`
	Rooms    []calendar.Diagnosis `json:"rooms"`
	At       time.Time            `json:"at"`
}

// Failed counts the rooms that did not pass.
func (r Report) Failed() int {
	n := 0
	for _, d := range r.Rooms {
		if d.Status != calendar.StatusOK {
			n++
		}
	}
	return n
}

// Connector is the server's calendar connection as the admin manages it.
type Connector interface {
	// Settings returns the current settings.
	Settings() ConnectorSettings
	// Apply checks and saves new settings (with a new client secret or
	// certificate when cred holds one) and switches the server to them at
	// once.
	Apply(ctx context.Context, s ConnectorSettings, cred Credentials) error
	// Test diagnoses the connector and every room's calendar (by room id
	// and calendar address).
	Test(ctx context.Context, rooms map[string]string) Report
	// Health says how the calendar reads are going.
	Health() Health
	// Places lists the tenant's room mailboxes (Microsoft 365 Places), for
	// importing rooms; an error says why not (another connector, or the
	// optional Place.Read.All permission is missing).
	Places(ctx context.Context) ([]Place, error)
}

// Place is a room mailbox as the directory lists it.
type Place struct {
	Address  string `json:"address"`
	Name     string `json:"name"`
	Capacity int    `json:"capacity,omitempty"`
	Building string `json:"building,omitempty"`
}

// Health is how the calendar reads are going: what /healthz, the metrics
// and the rooms page report. A failing calendar does not make the server
// unready: panels keep showing their last schedule.
type Health struct {
	Provider string `json:"provider"`
	// Status is HealthOK, HealthFailing (the last read failed as a whole,
	// or for every room) or HealthUnknown (not read yet).
	Status      string    `json:"status"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastFailure time.Time `json:"last_failure,omitzero"`
	// Problem is the diagnosis of the last read when it failed.
	Problem *calendar.Diagnosis `json:"problem,omitempty"`
	// RoomsFailing counts the calendars whose last read failed.
	RoomsFailing int `json:"rooms_failing"`
	// Rooms is each calendar's health, by calendar address.
	Rooms map[string]RoomHealth `json:"rooms,omitempty"`
}

// Health statuses.
const (
	HealthOK      = "ok"
	HealthFailing = "failing"
	HealthUnknown = "unknown"
)

// RoomHealth is one calendar's last read.
type RoomHealth struct {
	LastGood  time.Time          `json:"last_good,omitzero"`
	Checked   time.Time          `json:"checked"`
	Diagnosis calendar.Diagnosis `json:"diagnosis"`
}
