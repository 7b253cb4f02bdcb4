package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"time"

	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/alert"
	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/graph"
	"github.com/lintelhq/lintel/server/internal/atomicfile"
	"github.com/lintelhq/lintel/server/store"
	"github.com/lintelhq/lintel/server/sync"
	roomusage "github.com/lintelhq/lintel/server/usage"
)

// alertsKey is where the alert settings live in the store, and
// smtpPasswordFile the SMTP password's 0600 file in the data directory.
const (
	alertsKey        = "alerts"
	smtpPasswordFile = "alerts-smtp-password"
)

// credentialWarning is how long before a client secret or certificate
// expires the credential alert starts.
const credentialWarning = 30 * 24 * time.Hour

// alerts wires the alert engine into the server: its probes read the
// panels, the calendar's health and the credentials; its settings are
// the admin's (admin.Alerts).
type alerts struct {
	app     *app
	db      alertsStore
	engine  *alert.Engine
	dataDir string
	net     alert.Net
	log     *slog.Logger
	started time.Time // when the server started

	mu       gosync.Mutex
	settings alert.Settings // as stored: full webhook URLs
	// organizers are the addresses of the organizers of flagged series,
	// by alert key, looked up once per series ("" when not found).
	organizers map[string]string
}

var _ admin.Alerts = (*alerts)(nil)

// alertsStore is what the alerts read and keep: the engine's active
// alerts and log, the alert settings, and the rooms and panels the probes
// look at.
type alertsStore interface {
	alert.Store
	Setting(key string, v any) error
	PutSetting(key string, v any) error
	Room(id string) (store.Room, error)
	Rooms() ([]store.Room, error)
	Device(id string) (store.Device, error)
	Devices() ([]store.Device, error)
	admin.UsageStore
}

func newAlerts(a *app, cfg config) (*alerts, error) {
	al := &alerts{app: a, db: a.db, dataDir: cfg.DataDir, net: cfg.AlertNet, log: a.log.With("component", "alerts"), started: a.now()}
	if err := al.db.Setting(alertsKey, &al.settings); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	e, err := alert.New(alert.Opts{
		Store: al.db,
		Probes: []alert.Probe{
			{Kind: alert.KindPanelOffline, Check: al.offlinePanels},
			{Kind: alert.KindCalendar, Check: al.calendars},
			{Kind: alert.KindCredential, Check: al.credentials},
			{Kind: alert.KindNoShows, Check: al.noShows},
		},
		Hold:       map[alert.Kind]time.Duration{alert.KindPanelOffline: a.offlineAfter, alert.KindCalendar: 10 * time.Minute},
		MaxPerHour: al.settings.MaxPerHour,
		Server:     cfg.PublicURL,
		Logger:     al.log,
		Now:        a.now,
	})
	if err != nil {
		return nil, err
	}
	al.engine = e
	al.configure(al.settings)
	return al, nil
}

// configure points the engine at the channels s names.
func (al *alerts) configure(s alert.Settings) {
	password := ""
	if s.Email.Username != "" {
		b, err := os.ReadFile(filepath.Join(al.dataDir, smtpPasswordFile))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			al.log.Error("cannot read the SMTP password file", "err", err)
		}
		password = strings.TrimSpace(string(b))
	}
	al.engine.SetNotifiers(alert.Notifiers(s, password, al.net), s.Mute)
	al.engine.SetMaxPerHour(s.MaxPerHour)
}

// Settings implements admin.Alerts: webhook URLs shortened, the password
// only as "stored".
func (al *alerts) Settings() alert.Settings {
	al.mu.Lock()
	s := al.settings.Redact()
	al.mu.Unlock()
	if s.Email.Username != "" {
		_, err := os.Stat(filepath.Join(al.dataDir, smtpPasswordFile))
		s.Email.HasPassword = err == nil
	}
	return s
}

// Apply implements admin.Alerts: it checks the settings, keeps the stored
// webhook URLs that come back shortened, writes a new SMTP password to its
// 0600 file (and removes it with the username), saves, and switches the
// channels at once.
func (al *alerts) Apply(ctx context.Context, s alert.Settings, password string) error {
	al.mu.Lock()
	defer al.mu.Unlock()
	s.Email.HasPassword = false
	merged, err := alert.Merge(al.settings, s)
	if err != nil {
		return err
	}
	if err := merged.Validate(); err != nil {
		return err
	}
	path := filepath.Join(al.dataDir, smtpPasswordFile)
	switch {
	case merged.Email.Username == "":
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove the SMTP password: %w", err)
		}
	case password != "":
		if len(password) > 1024 {
			return errors.New("the SMTP password is longer than 1024 characters")
		}
		if err := atomicfile.WriteSecret(path, password); err != nil {
			return fmt.Errorf("save the SMTP password: %w", err)
		}
	}
	if err := al.db.PutSetting(alertsKey, merged); err != nil {
		return fmt.Errorf("save the alert settings: %w", err)
	}
	al.settings = merged
	al.configure(merged)
	return nil
}

// follow reads the alert settings again from the store, after another
// replica saved them, and switches the channels.
func (al *alerts) follow() error {
	var s alert.Settings
	if err := al.db.Setting(alertsKey, &s); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("alerts: %w", err)
	}
	al.mu.Lock()
	defer al.mu.Unlock()
	al.settings = s
	al.configure(s)
	return nil
}

// SendTest implements admin.Alerts.
func (al *alerts) SendTest(ctx context.Context) []alert.Result {
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	return al.engine.SendTest(ctx)
}

// Active implements admin.Alerts.
func (al *alerts) Active() []alert.Active { return al.engine.Active() }

// Log implements admin.Alerts.
func (al *alerts) Log(n int) ([]alert.Sent, error) { return al.engine.Log(n) }

// offlinePanels lists every paired panel that is not connected now, with
// when it was last seen; the engine alerts once one has been away for the
// hold time (--offline-after, 10 minutes).
func (al *alerts) offlinePanels(context.Context) ([]alert.Alert, error) {
	online := map[string]bool{}
	for _, c := range al.app.hub.Connections() {
		if c.Paired {
			online[c.DeviceID] = true
		}
	}
	devs, err := al.db.Devices()
	if err != nil {
		return nil, err
	}
	var out []alert.Alert
	for _, d := range devs {
		if d.Revoked || online[d.ID] {
			continue
		}
		seen := d.LastSeen
		if seen.IsZero() {
			seen = d.Created
		}
		// While this server was down nobody could see the panel: it gets
		// the hold time from the start to come back before it is news.
		since := seen
		if since.Before(al.started) {
			since = al.started
		}
		name := d.Name
		if name == "" {
			name = d.ID
		}
		detail := fmt.Sprintf("Panel %s of room %s was last seen at %s", name, al.roomName(d.Room), seen.UTC().Format("2006-01-02 15:04 UTC"))
		if d.Addr != "" {
			detail += " from " + d.Addr
		}
		detail += ". It keeps showing its cached schedule but cannot book. Check its power and network at the door; the Panels page shows it when it is back."
		out = append(out, alert.Alert{Key: string(alert.KindPanelOffline) + "/" + d.ID,
			Subject: fmt.Sprintf("Panel %s (%s) is offline", name, al.roomName(d.Room)),
			Detail:  detail, Room: d.Room, Device: name, Since: since})
	}
	return out, nil
}

func (al *alerts) roomName(id string) string {
	if r, err := al.db.Room(id); err == nil && r.Name != "" {
		return r.Name
	}
	return id
}

// calendars alerts on calendars that cannot be read: one alert when the
// calendar fails as a whole (sign-in refused, Microsoft 365 down), else
// one per room, in doctor's words.
func (al *alerts) calendars(context.Context) ([]alert.Alert, error) {
	h := al.app.connector.Health()
	if h.Problem != nil {
		return []alert.Alert{{Key: string(alert.KindCalendar) + "/all", Since: h.LastSuccess,
			Subject: "Room calendars cannot be read (" + h.Provider + ")",
			Detail:  sentence(h.Problem.Detail) + fixText(*h.Problem) + " Panels keep showing their last schedule."}}, nil
	}
	rooms, err := al.db.Rooms()
	if err != nil {
		return nil, err
	}
	var out []alert.Alert
	for _, r := range rooms {
		rh, ok := h.Rooms[r.Calendar]
		if !ok || rh.Diagnosis.Status == calendar.StatusOK {
			continue
		}
		out = append(out, alert.Alert{Key: string(alert.KindCalendar) + "/" + r.ID, Room: r.ID, Since: rh.LastGood,
			Subject: fmt.Sprintf("The calendar of room %s cannot be read", r.Name),
			Detail:  fmt.Sprintf("Reading %s failed: %s%s", r.Calendar, sentence(rh.Diagnosis.Detail), fixText(rh.Diagnosis))})
	}
	return out, nil
}

func sentence(s string) string {
	if s != "" && !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func fixText(d calendar.Diagnosis) string {
	if d.Fix == "" {
		return ""
	}
	return " Fix: " + sentence(d.Fix)
}

// credentials alerts while the Microsoft 365 client secret or certificate
// (and the Entra ID sign-in's client secret) expires within 30 days or
// has expired.
func (al *alerts) credentials(context.Context) ([]alert.Alert, error) {
	now := al.app.now()
	var out []alert.Alert
	expiring := func(key, what string, at time.Time, fix string) {
		if at.IsZero() || at.Sub(now) > credentialWarning {
			return
		}
		subject := fmt.Sprintf("The %s expires on %s", what, at.UTC().Format(time.DateOnly))
		if !at.After(now) {
			subject = fmt.Sprintf("The %s expired on %s", what, at.UTC().Format(time.DateOnly))
		}
		// The day in the key: a renewed credential resolves the old alert.
		out = append(out, alert.Alert{Key: string(alert.KindCredential) + "/" + key + "/" + at.UTC().Format(time.DateOnly),
			Subject: subject, Detail: fix})
	}
	s := al.app.connector.Settings()
	if s.Kind == "m365" {
		if s.Auth == "certificate" && s.CertFile != "" {
			at, err := graph.CertificateExpires(s.CertFile, os.Getenv("LINTEL_GRAPH_CERT_PASSWORD"))
			if err != nil {
				return nil, err
			}
			expiring("graph-certificate", "Microsoft 365 certificate", at,
				fmt.Sprintf("Make a new certificate, upload its public part to app %s in Entra ID > Certificates & secrets, and give Lintel the new one (admin UI: Connection).", s.ClientID))
		} else {
			expiring("graph-secret", "Microsoft 365 client secret", s.SecretExpires,
				fmt.Sprintf("Create a new client secret for app %s in Entra ID > Certificates & secrets and enter it with its expiry date in the admin UI (Connection); better, switch to a certificate.", s.ClientID))
		}
	}
	if o := al.app.admin.OIDCSettings(); o.Enabled() {
		expiring("signin-secret", "Entra ID sign-in client secret", o.SecretExpires,
			fmt.Sprintf("Create a new client secret for the sign-in app %s in Entra ID > Certificates & secrets and enter it in the admin UI (Sign-in).", o.ClientID))
	}
	return out, nil
}

// problemReported sends a problem someone reported at a panel. The same
// problem from the same panel is sent once per quiet time.
func (al *alerts) problemReported(deviceID, room, problem string) {
	problem = strings.TrimSpace(problem)
	if len(problem) > 200 {
		problem = problem[:200] + "…"
	}
	name := deviceID
	if d, err := al.db.Device(deviceID); err == nil && d.Name != "" {
		name = d.Name
	}
	sum := sha256.Sum256([]byte(strings.ToLower(problem)))
	al.engine.Report(alert.Alert{Key: string(alert.KindProblem) + "/" + deviceID + "/" + hex.EncodeToString(sum[:6]), Kind: alert.KindProblem,
		Subject: fmt.Sprintf("Problem reported in %s: %s", al.roomName(room), problem), Room: room, Device: name,
		Detail: fmt.Sprintf("Someone at panel %s reported: %q. The Activity page lists every report.", name, problem)})
}

// noShows alerts on each meeting series nobody came to
// usage.NoShowStreak times in a row, up to its latest occurrence, over
// what the store keeps (--retention-activity): the alert clears when
// someone checks in to an occurrence, or the streak ages out. With
// email.tell_organizers, the firing alert carries a note for the series'
// organizer (organizerAddress, organizerNote).
func (al *alerts) noShows(ctx context.Context) ([]alert.Alert, error) {
	now := al.app.now()
	keep := al.app.retention.Activity
	if keep <= 0 {
		keep = store.DefaultActivityRetention
	}
	rooms, err := al.db.Rooms()
	if err != nil {
		return nil, err
	}
	from := now.Add(-keep)
	t := roomusage.NewTally(from, now, now, rooms)
	if err := al.db.ActivityBetween(from, now, t.AddActivity); err != nil {
		return nil, err
	}
	if err := al.db.Meetings(from, now, t.AddMeeting); err != nil {
		return nil, err
	}
	al.mu.Lock()
	tell := al.settings.Email.Enabled() && al.settings.Email.TellOrganizers
	al.mu.Unlock()
	active := map[string]bool{}
	if tell {
		for _, a := range al.engine.Active() {
			active[a.Key] = true
		}
	}
	var out []alert.Alert
	flagged := map[string]bool{}
	for _, s := range t.Report().Series {
		what := "“" + s.Title + "”"
		if s.Organizer != "" {
			what += " by " + s.Organizer
		}
		a := alert.Alert{Key: string(alert.KindNoShows) + "/" + s.Room + "/" + s.Key, Room: s.Room, Since: s.Last,
			Subject: fmt.Sprintf("Nobody came to %s at %s in %s %d times in a row", what, s.TimeOfDay, s.RoomName, s.Streak),
			Detail: fmt.Sprintf("The meeting %s at %s in room %s had nobody check in at its last %d occurrences (the latest on %s; %d released for a no-show), yet it keeps booking the room. Ask the organizer whether the series is still needed; the Utilization page lists every such series.",
				what, s.TimeOfDay, s.RoomName, s.Streak, s.Last.UTC().Format(time.DateOnly), s.Released)}
		flagged[a.Key] = true
		if tell {
			to, known := al.organizerAddress(ctx, a.Key, s, now)
			if !known && !active[a.Key] {
				// The calendar could not be read: the alert fires at a
				// check that can tell whether there is someone to tell
				// (a note goes out only with the firing message).
				continue
			}
			if to != "" {
				a.Tell = organizerNote(to, s)
			}
		}
		out = append(out, a)
	}
	al.mu.Lock()
	for key := range al.organizers {
		if !flagged[key] {
			delete(al.organizers, key) // looked up again if flagged again
		}
	}
	al.mu.Unlock()
	return out, nil
}

// organizerNote is what the organizer of a series nobody comes to is
// told: the facts, and what to do, in words for them.
func organizerNote(to string, s roomusage.Series) *alert.Note {
	meeting := "“" + s.Title + "” at " + s.TimeOfDay
	var b strings.Builder
	fmt.Fprintf(&b, "Hello,\n\nNobody checked in at the door panel of room %s for your meeting %s at its last %d occurrences (the latest on %s)", s.RoomName, meeting, s.Streak, s.Last.UTC().Format(time.DateOnly))
	if s.Released > 0 {
		fmt.Fprintf(&b, "; %d times the room was given back so that others could use it", s.Released)
	}
	b.WriteString(".\n\nIf the series is no longer needed, please cancel it, or remove the room from it, so that colleagues can book the room. If you do meet there, check in at the door panel when you arrive.\n\nReplies to this message go to the facilities team.\n")
	return &alert.Note{To: to, Subject: "Is your meeting " + meeting + " in " + s.RoomName + " still needed?", Body: b.String()}
}

// organizerAddress finds the e-mail address of a flagged series'
// organizer from its next occurrence in the room's calendar over the next
// week (those released are gone from it). It is "" when there is none
// (the series has ended), the calendar does not say, or the address is
// outside the domain alerts are sent from (an outsider's invitation the
// room accepted must not make Lintel mail whom they chose); known is
// false when the calendar could not be read. Each flagged series is looked
// up once.
func (al *alerts) organizerAddress(ctx context.Context, key string, s roomusage.Series, now time.Time) (to string, known bool) {
	al.mu.Lock()
	to, known = al.organizers[key]
	from := al.settings.Email.From
	al.mu.Unlock()
	if known {
		return to, true
	}
	room, err := al.db.Room(s.Room)
	if err != nil {
		return "", true // the room is gone
	}
	loc, err := time.LoadLocation(room.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	got, err := al.app.provider.Events(ctx, []string{room.Calendar}, now, now.Add(8*24*time.Hour))
	if err != nil || got[room.Calendar].Err != nil {
		al.log.Warn("cannot look up the organizer of a series nobody comes to; trying again at the next check", "room", s.Room, "err", errors.Join(err, got[room.Calendar].Err))
		return "", false // not remembered: tried again
	}
	for _, e := range got[room.Calendar].Events {
		if sync.SeriesKey(e, loc) == s.Key && e.OrganizerAddress != "" && !strings.EqualFold(e.OrganizerAddress, room.Calendar) {
			if sameDomain(e.OrganizerAddress, from) {
				to = e.OrganizerAddress
			} else {
				al.log.Info("not telling the organizer of a series nobody comes to: their address is outside the domain alerts are sent from", "room", s.Room)
			}
			break
		}
	}
	al.mu.Lock()
	if al.organizers == nil {
		al.organizers = map[string]string{}
	}
	al.organizers[key] = to
	al.mu.Unlock()
	return to, true
}

// sameDomain reports whether the address addr is in the domain of the
// address from ("Lintel <lintel@contoso.com>"), case aside.
func sameDomain(addr, from string) bool {
	f, err := mail.ParseAddress(from)
	if err != nil {
		return false
	}
	_, fd, _ := strings.Cut(f.Address, "@")
	_, ad, ok := strings.Cut(addr, "@")
	return ok && fd != "" && strings.EqualFold(ad, fd)
}
