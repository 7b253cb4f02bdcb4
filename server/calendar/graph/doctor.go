package graph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/lintelhq/lintel/server/calendar"
)

// Level grades a tenant-level check.
type Level string

const (
	LevelOK   Level = "ok"
	LevelInfo Level = "info" // worth knowing, nothing is wrong
	LevelWarn Level = "warn" // works, but should be fixed
	LevelFail Level = "fail" // does not work
)

// Check names, stable for the admin UI.
const (
	CheckSignIn         = "sign-in"
	CheckPermissions    = "permissions"
	CheckLeastPrivilege = "least privilege"
	CheckSecretExpiry   = "secret expiry"
)

// TenantCheck is one tenant-level finding.
type TenantCheck struct {
	Name   string `json:"name"`
	Level  Level  `json:"level"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// TenantReport is what Doctor found about the app and the tenant, before
// any room.
type TenantReport struct {
	Cloud    string `json:"cloud"`
	TenantID string `json:"tenantId"`
	ClientID string `json:"clientId"`
	Auth     string `json:"auth"` // "client secret" or "certificate"
	// Roles are the application permissions the access token carries (its
	// roles claim): what was actually granted and consented, not what the
	// app registration asks for.
	Roles  []string      `json:"roles"`
	Checks []TenantCheck `json:"checks"`
}

// Report is the whole diagnosis: `lintel-server doctor` prints it with
// WriteText, the admin UI's "test all" renders its JSON.
type Report struct {
	Tenant TenantReport         `json:"tenant"`
	Rooms  []calendar.Diagnosis `json:"rooms"`
}

// OK reports whether nothing failed: no tenant check at LevelFail and
// every room ok.
func (r Report) OK() bool {
	for _, c := range r.Tenant.Checks {
		if c.Level == LevelFail {
			return false
		}
	}
	for _, d := range r.Rooms {
		if d.Status != calendar.StatusOK {
			return false
		}
	}
	return true
}

// WriteText prints the report for a terminal, one finding per line with
// its fix indented below.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	t := r.Tenant
	fmt.Fprintf(&b, "Microsoft 365 (%s cloud), tenant %s, app %s, %s\n", t.Cloud, t.TenantID, t.ClientID, t.Auth)
	roles := "(none)"
	if len(t.Roles) > 0 {
		roles = strings.Join(t.Roles, ", ")
	}
	fmt.Fprintf(&b, "  granted application permissions: %s\n", roles)
	for _, c := range t.Checks {
		fmt.Fprintf(&b, "  [%s] %s: %s\n", c.Level, c.Name, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(&b, "         fix: %s\n", c.Fix)
		}
	}
	fmt.Fprintf(&b, "Rooms:\n")
	for _, d := range r.Rooms {
		fmt.Fprintf(&b, "  [%s] %s: %s\n", d.Status, d.Room, d.Detail)
		if d.Fix != "" {
			fmt.Fprintf(&b, "         fix: %s\n", d.Fix)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// The window Check reads: recent past meetings show Exchange's subject
// rewriting as well as future ones.
const (
	checkPast   = 5 * 24 * time.Hour
	checkFuture = 2 * 24 * time.Hour
)

// Check implements calendar.Provider.
func (p *Provider) Check(ctx context.Context, room string) calendar.Diagnosis {
	now := p.cfg.Now()
	reads, err := p.read(ctx, []string{room}, now.Add(-checkPast), now.Add(checkFuture))
	if err != nil {
		return errorDiagnosis(room, err)
	}
	return diagnose(room, reads[room])
}

// Doctor diagnoses the tenant (sign-in, granted permissions, least
// privilege with the canary mailbox, secret expiry) and each room, reading
// all rooms in batches so that "test all" on 500 rooms costs 25 requests.
func (p *Provider) Doctor(ctx context.Context, rooms []string) Report {
	rep := Report{Tenant: TenantReport{
		Cloud: string(p.cfg.cloud()), TenantID: p.cfg.TenantID, ClientID: p.cfg.ClientID,
		Auth: p.cfg.authMethod(), Roles: []string{},
	}}
	add := func(c TenantCheck) { rep.Tenant.Checks = append(rep.Tenant.Checks, c) }

	expiry, hasExpiry := p.secretExpiryCheck(p.cfg.Now())
	token, err := p.accessToken(ctx)
	if err != nil {
		d := errorDiagnosis("", err)
		add(TenantCheck{Name: CheckSignIn, Level: LevelFail, Detail: d.Detail, Fix: d.Fix})
		if hasExpiry {
			add(expiry)
		}
		for _, room := range rooms {
			rep.Rooms = append(rep.Rooms, errorDiagnosis(room, err))
		}
		return rep
	}
	add(TenantCheck{Name: CheckSignIn, Level: LevelOK, Detail: "signed in to " + p.authority + " and got a token for " + p.scope})

	roles, err := tokenRoles(token)
	if err != nil {
		add(TenantCheck{Name: CheckPermissions, Level: LevelInfo, Detail: "could not read the token's roles claim: " + err.Error()})
	} else {
		rep.Tenant.Roles = roles
		add(p.permissionsCheck(roles))
	}
	add(p.leastPrivilegeCheck(ctx))
	if hasExpiry {
		add(expiry)
	}

	now := p.cfg.Now()
	reads, err := p.read(ctx, rooms, now.Add(-checkPast), now.Add(checkFuture))
	for _, room := range rooms {
		if err != nil {
			rep.Rooms = append(rep.Rooms, errorDiagnosis(room, err))
			continue
		}
		rep.Rooms = append(rep.Rooms, diagnose(room, reads[room]))
	}
	return rep
}

// diagnose turns one room's read into a status and a sentence.
func diagnose(room string, rr roomRead) calendar.Diagnosis {
	if rr.err != nil {
		return errorDiagnosis(room, rr.err)
	}
	if hidden, n := titlesHidden(room, rr.events); hidden {
		return calendar.Diagnosis{
			Room:   room,
			Status: calendar.StatusTitlesHidden,
			Detail: fmt.Sprintf("all %d meetings booked by others carry the organizer's name as their title and none is private: Exchange's default room processing replaces titles and drops the private flag", n),
			Fix:    "Run in Exchange Online PowerShell: " + setCalendarProcessing(room) + " (it applies to meetings booked from then on).",
		}
	}
	return calendar.Diagnosis{
		Room:   room,
		Status: calendar.StatusOK,
		Detail: fmt.Sprintf("read %d meetings of the past 5 days and the next 2", len(rr.events)),
	}
}

// setCalendarProcessing is the command that keeps titles and private flags.
func setCalendarProcessing(room string) string {
	return "Set-CalendarProcessing -Identity " + room + " -DeleteSubject $false -AddOrganizerToSubject $false -RemovePrivateProperty $false"
}

// errorDiagnosis is calendar.Diagnose: the same words as the log's.
func errorDiagnosis(room string, err error) calendar.Diagnosis { return calendar.Diagnose(room, err) }

// titlesHidden detects Exchange's default processing of a room mailbox:
// DeleteSubject and AddOrganizerToSubject make every meeting's subject the
// organizer's name, RemovePrivateProperty leaves no meeting private. Only
// meetings others organized count: the room's own bookings keep their
// subject. n is how many meetings were looked at.
func titlesHidden(room string, events []event) (hidden bool, n int) {
	for _, e := range events {
		if e.Organizer == "" || strings.EqualFold(e.OrganizerAddress, room) {
			continue
		}
		n++
		if e.Private || !strings.EqualFold(strings.TrimSpace(e.Subject), strings.TrimSpace(e.Organizer)) {
			return false, n
		}
	}
	return n > 0, n
}

// tokenRoles reads the roles claim of a JWT access token. The token is
// not verified: it came from Entra ID over TLS and is only being shown.
func tokenRoles(token string) ([]string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("the access token is not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, errors.New("the access token's payload is not base64url")
	}
	var claims struct {
		Roles []string `json:"roles"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		return nil, errors.New("the access token's payload is not JSON")
	}
	roles := claims.Roles
	if roles == nil {
		roles = []string{}
	}
	slices.Sort(roles)
	return roles, nil
}

// neededRoles are the application permissions Lintel uses.
var neededRoles = []string{"Calendars.ReadWrite", "Place.Read.All"}

func (p *Provider) permissionsCheck(roles []string) TenantCheck {
	c := TenantCheck{Name: CheckPermissions}
	var extra []string
	for _, r := range roles {
		if !slices.Contains(neededRoles, r) && r != "Calendars.Read" {
			extra = append(extra, r)
		}
	}
	switch {
	case slices.Contains(roles, "Calendars.ReadWrite"):
		c.Level, c.Detail = LevelOK, "the app holds Calendars.ReadWrite"
	case slices.Contains(roles, "Calendars.Read"):
		c.Level, c.Detail = LevelWarn, "the app holds Calendars.Read only: panels show rooms, but booking, extending and releasing will fail"
		c.Fix = fmt.Sprintf("Add the Microsoft Graph application permission Calendars.ReadWrite to app %s and grant admin consent.", p.cfg.ClientID)
	default:
		c.Level, c.Detail = LevelInfo, "the token carries no Calendars permission: right only if Exchange Online grants access through RBAC for Applications"
		c.Fix = fmt.Sprintf("If you do not use RBAC for Applications, add the Microsoft Graph application permission Calendars.ReadWrite to app %s and grant admin consent.", p.cfg.ClientID)
	}
	if slices.Contains(roles, "Place.Read.All") {
		c.Detail += "; Place.Read.All lets Lintel import rooms from Places"
	}
	if len(extra) > 0 {
		c.Level = LevelWarn
		c.Detail += "; it also holds " + strings.Join(extra, ", ") + ", which Lintel does not need"
		c.Fix = strings.TrimSpace(c.Fix + " Remove " + strings.Join(extra, ", ") + " from the app's API permissions: Lintel needs only Calendars.ReadWrite (and optionally Place.Read.All).")
	}
	return c
}

// leastPrivilegeCheck reads the canary mailbox, which must not be a room:
// if that works, the app can read every mailbox in the tenant.
func (p *Provider) leastPrivilegeCheck(ctx context.Context) TenantCheck {
	c := TenantCheck{Name: CheckLeastPrivilege}
	restrict := fmt.Sprintf("Restrict app %s to the rooms: run the commands `lintel-server tenant-script` prints (an application access policy or RBAC for Applications scope on a group of the rooms; with RBAC, also remove the tenant-wide Calendars.ReadWrite consent in Entra ID).", p.cfg.ClientID)
	canary := p.cfg.CanaryMailbox
	if canary == "" {
		c.Level, c.Detail = LevelWarn, "no canary mailbox is configured, so Lintel cannot tell whether the app can read every mailbox in the tenant"
		c.Fix = "Set CanaryMailbox to a user's mailbox that is not a room and that the app must not read."
		return c
	}
	now := p.cfg.Now()
	reads, err := p.read(ctx, []string{canary}, now, now.Add(time.Hour))
	if err == nil {
		err = reads[canary].err
	}
	switch {
	case err == nil:
		c.Level = LevelWarn
		c.Detail = "Lintel can read the calendar of " + canary + ", which is not a room: the app can read every mailbox in the tenant"
		c.Fix = restrict
	case errors.Is(err, calendar.ErrDenied):
		c.Level, c.Detail = LevelOK, "Lintel cannot read "+canary+": the app is restricted"
	case errors.Is(err, calendar.ErrNotFound):
		c.Level, c.Detail = LevelWarn, "the canary mailbox "+canary+" does not exist, so the restriction is untested"
		c.Fix = "Set CanaryMailbox to the address of an existing user mailbox that is not a room."
	default:
		c.Level, c.Detail = LevelWarn, "could not test the restriction with "+canary+": "+errorDiagnosis(canary, err).Detail
	}
	return c
}

// secretExpiryCheck warns 30 days before a client secret expires. ok is
// false for certificates.
func (p *Provider) secretExpiryCheck(now time.Time) (TenantCheck, bool) {
	if p.cfg.CertificateFile != "" {
		return TenantCheck{}, false
	}
	c := TenantCheck{Name: CheckSecretExpiry}
	exp := p.cfg.SecretExpires
	renew := fmt.Sprintf("Create a new client secret for app %s in Entra ID > Certificates & secrets, put its Value in %s and update SecretExpires; better, switch to a certificate.", p.cfg.ClientID, p.cfg.secretSource())
	switch {
	case exp.IsZero():
		c.Level, c.Detail = LevelInfo, "the secret's expiry date is not configured"
		c.Fix = "Enter the date Entra ID shows next to the secret (admin UI: Connection, or --graph-secret-expires), so that Lintel warns 30 days ahead."
	case !now.Before(exp):
		c.Level, c.Detail, c.Fix = LevelFail, "the client secret expired on "+exp.Format(time.DateOnly), renew
	case exp.Sub(now) < secretWarning:
		days := int(exp.Sub(now).Hours() / 24)
		c.Level, c.Detail, c.Fix = LevelWarn, fmt.Sprintf("the client secret expires on %s, in %d days", exp.Format(time.DateOnly), days), renew
	default:
		c.Level, c.Detail = LevelOK, "the client secret is valid until "+exp.Format(time.DateOnly)
	}
	return c, true
}
