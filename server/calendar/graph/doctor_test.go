package graph

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
)

// recent is a meeting an hour ago, inside Check's window.
func recent(subject, organizer string) graphtest.Event {
	start := time.Now().Add(-time.Hour).Truncate(time.Minute)
	return graphtest.Event{Subject: subject, Organizer: organizer, OrganizerAddress: "someone@x", Start: start, End: start.Add(30 * time.Minute)}
}

func TestCheckDiagnoses(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	d := graphtest.DefaultTenantDomain

	ok := e.room("ok")
	e.srv.AddEvent(ok, recent("Design review", "Ada Lovelace"))

	policy := e.room("policy")
	e.srv.Deny(policy)

	missing := "typo@" + d

	onprem := "onprem@" + d
	e.srv.AddMailbox(graphtest.Mailbox{Address: onprem, OnPremises: true})

	throttled := e.room("throttled")
	e.srv.Inject(graphtest.Fault{Mailbox: throttled, Status: 429, RetryAfter: 10 * time.Minute})

	hidden := "hidden@" + d
	e.srv.AddMailbox(graphtest.Mailbox{Address: hidden, Room: true, ExchangeDefault: true})
	e.srv.AddEvent(hidden, recent("Budget Q3", "Grace Hopper"))
	priv := recent("Salary review", "Alan Turing")
	priv.Sensitivity = "private"
	e.srv.AddEvent(hidden, priv)
	// The room's own booking keeps its subject even under Exchange's
	// default processing, and must not hide the pattern.
	own := recent("Walk-up", "Hidden")
	own.OrganizerAddress = hidden
	e.srv.AddEvent(hidden, own)

	for _, tc := range []struct {
		room   string
		status calendar.Status
		detail string
		fix    string
	}{
		{ok, calendar.StatusOK, "read 1 meetings", ""},
		{policy, calendar.StatusDenied, "outside the mailboxes this app may read", "Test-ApplicationAccessPolicy -Identity " + policy + " -AppId " + testClientID},
		{missing, calendar.StatusNotFound, "no such mailbox", "Check the room's address"},
		{onprem, calendar.StatusNotFound, "on-premises", "moved to Exchange Online"},
		{throttled, calendar.StatusThrottled, "throttling", "poll interval"},
		{hidden, calendar.StatusTitlesHidden, "organizer's name", "Set-CalendarProcessing -Identity " + hidden + " -DeleteSubject $false -AddOrganizerToSubject $false -RemovePrivateProperty $false"},
	} {
		got := e.p.Check(context.Background(), tc.room)
		if got.Room != tc.room || got.Status != tc.status || !strings.Contains(got.Detail, tc.detail) || !strings.Contains(got.Fix, tc.fix) {
			t.Errorf("Check(%s) = %+v\nwant status %q, detail with %q, fix with %q", tc.room, got, tc.status, tc.detail, tc.fix)
		}
	}
}

func TestCheckNoPermission(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	e.srv.AddApp(graphtest.App{ClientID: testClientID, Secret: testSecret, Roles: []string{"User.Read.All"}})
	got := e.p.Check(context.Background(), e.room("aurora"))
	if got.Status != calendar.StatusDenied || !strings.Contains(got.Detail, "no permission") || !strings.Contains(got.Fix, "Grant admin consent") {
		t.Errorf("got %+v", got)
	}
}

func TestTitlesHidden(t *testing.T) {
	ev := func(subject, organizer, addr string, private bool) event {
		return event{Event: calendar.Event{Subject: subject, Organizer: organizer, OrganizerAddress: addr, Private: private}}
	}
	const room = "r@x"
	for _, tc := range []struct {
		name   string
		events []event
		want   bool
	}{
		{"no meetings", nil, false},
		{"all subjects are organizers", []event{ev("Ada", "Ada", "a@x", false), ev("Bob", "Bob", "b@x", false)}, true},
		{"a real title", []event{ev("Ada", "Ada", "a@x", false), ev("Budget", "Bob", "b@x", false)}, false},
		{"a private meeting survives", []event{ev("Ada", "Ada", "a@x", false), ev("Bob", "Bob", "b@x", true)}, false},
		{"own bookings ignored", []event{ev("Ada", "Ada", "a@x", false), ev("Walk-up", "Room", room, false)}, true},
		{"only own bookings", []event{ev("Walk-up", "Room", "R@X", false)}, false},
	} {
		if got, _ := titlesHidden(room, tc.events); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDoctorTenantChecks(t *testing.T) {
	canary := "ceo@" + graphtest.DefaultTenantDomain
	for _, tc := range []struct {
		name      string
		app       graphtest.App
		deny      bool
		noCanary  bool
		expires   time.Duration // from now; 0 = not configured
		wantRoles string
		want      map[string]Level
		wantText  []string
	}{
		{
			name: "restricted, secret fine", deny: true, expires: 90 * 24 * time.Hour,
			app:       graphtest.App{Roles: []string{"Calendars.ReadWrite", "Place.Read.All"}},
			wantRoles: "Calendars.ReadWrite,Place.Read.All",
			want:      map[string]Level{CheckSignIn: LevelOK, CheckPermissions: LevelOK, CheckLeastPrivilege: LevelOK, CheckSecretExpiry: LevelOK},
			wantText:  []string{"granted application permissions: Calendars.ReadWrite, Place.Read.All", "import rooms from Places"},
		},
		{
			name: "reads every mailbox, secret expiring", expires: 10 * 24 * time.Hour,
			app:       graphtest.App{Roles: []string{"Calendars.ReadWrite", "Mail.Read"}},
			wantRoles: "Calendars.ReadWrite,Mail.Read",
			want:      map[string]Level{CheckSignIn: LevelOK, CheckPermissions: LevelWarn, CheckLeastPrivilege: LevelWarn, CheckSecretExpiry: LevelWarn},
			wantText:  []string{"can read every mailbox in the tenant", "lintel-server tenant-script", "Remove Mail.Read", "expires on"},
		},
		{
			name: "RBAC for Applications, no canary, secret expired", noCanary: true, expires: -time.Hour,
			app:       graphtest.App{Roles: []string{}, ExchangeRBAC: true},
			wantRoles: "",
			want:      map[string]Level{CheckSignIn: LevelOK, CheckPermissions: LevelInfo, CheckLeastPrivilege: LevelWarn, CheckSecretExpiry: LevelFail},
			wantText:  []string{"granted application permissions: (none)", "RBAC for Applications", "Set CanaryMailbox", "expired on"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, graphtest.Options{}, func(c *Config) {
				if !tc.noCanary {
					c.CanaryMailbox = canary
				}
				if tc.expires != 0 {
					c.SecretExpires = time.Now().Add(tc.expires)
				}
			})
			app := tc.app
			app.ClientID, app.Secret = testClientID, testSecret
			e.srv.AddApp(app)
			e.srv.AddMailbox(graphtest.Mailbox{Address: canary, Name: "Chief Executive"})
			if tc.deny {
				e.srv.Deny(canary)
			}
			room := e.room("aurora")
			rep := e.p.Doctor(context.Background(), []string{room})

			if got := strings.Join(rep.Tenant.Roles, ","); got != tc.wantRoles {
				t.Errorf("roles %q, want %q", got, tc.wantRoles)
			}
			levels := map[string]Level{}
			for _, c := range rep.Tenant.Checks {
				levels[c.Name] = c.Level
				if c.Level != LevelOK && c.Fix == "" && c.Name != CheckPermissions {
					t.Errorf("check %s is %s without a fix", c.Name, c.Level)
				}
			}
			for name, want := range tc.want {
				if levels[name] != want {
					t.Errorf("check %s: %s, want %s", name, levels[name], want)
				}
			}
			if len(rep.Rooms) != 1 || rep.Rooms[0].Status != calendar.StatusOK {
				t.Errorf("rooms %+v", rep.Rooms)
			}
			var text strings.Builder
			if err := rep.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.wantText {
				if !strings.Contains(text.String(), want) {
					t.Errorf("report lacks %q:\n%s", want, text.String())
				}
			}
			if _, err := json.Marshal(rep); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestDoctorManyRoomsIsBatched(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	var rooms []string
	for i := range 60 {
		rooms = append(rooms, e.room("r"+string(rune('a'+i/26))+string(rune('a'+i%26))))
	}
	e.srv.Deny(rooms[5])
	e.srv.ResetStats()
	rep := e.p.Doctor(context.Background(), rooms)
	if len(rep.Rooms) != 60 || rep.Rooms[5].Status != calendar.StatusDenied || rep.Rooms[6].Status != calendar.StatusOK {
		t.Errorf("rooms: %d, [5] %s, [6] %s", len(rep.Rooms), rep.Rooms[5].Status, rep.Rooms[6].Status)
	}
	if rep.OK() {
		t.Error("report with a denied room is OK")
	}
	// 60 rooms are 3 batches, plus 1 for the canary check.
	if st := e.srv.Stats(); st.Requests > 4 {
		t.Errorf("%d Graph requests for 60 rooms", st.Requests)
	}
}
