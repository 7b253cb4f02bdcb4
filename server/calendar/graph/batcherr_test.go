package graph

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
)

// TestWholeBatchRefused: when Graph refuses a $batch as a whole, every
// room of it reports Graph's own error code and message (not the SDK's
// "no error factory is registered"), with a fix where one is known, in
// Events, Check and Doctor alike.
func TestWholeBatchRefused(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fault     graphtest.Fault
		status    calendar.Status
		detail    []string
		fix       string
		retryable bool
	}{
		{
			name:   "bad request",
			fault:  graphtest.Fault{Status: http.StatusBadRequest, Code: "BadRequest", Message: "Invalid batch payload format."},
			status: calendar.StatusError,
			detail: []string{"refused the whole $batch", "400 BadRequest", "Invalid batch payload format.", "request-id 5f1c2d3e-0000-4000-8000-000000000001"},
			fix:    "request-id",
		},
		{
			name:   "wrong version in the Graph URL",
			fault:  graphtest.Fault{Status: http.StatusBadRequest, Code: "BadRequest", Message: "Invalid version: $batch"},
			status: calendar.StatusError,
			detail: []string{"400 BadRequest", "Invalid version: $batch"},
			fix:    "ends in the API version",
		},
		{
			name:   "token for another cloud",
			fault:  graphtest.Fault{Status: http.StatusUnauthorized, Code: "InvalidAuthenticationToken", Message: "Access token validation failure. Invalid audience."},
			status: calendar.StatusAuthFailed,
			detail: []string{"401 InvalidAuthenticationToken", "Invalid audience"},
			fix:    "Cloud",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, graphtest.Options{}, nil)
			rooms := []string{e.room("aurora"), e.room("borealis")}
			check := func(where string, d calendar.Diagnosis) {
				t.Helper()
				if d.Status != tc.status {
					t.Errorf("%s: status %q, want %q", where, d.Status, tc.status)
				}
				for _, want := range tc.detail {
					if !strings.Contains(d.Detail, want) {
						t.Errorf("%s: detail %q lacks %q", where, d.Detail, want)
					}
				}
				if !strings.Contains(d.Fix, tc.fix) {
					t.Errorf("%s: fix %q lacks %q", where, d.Fix, tc.fix)
				}
				for _, internal := range []string{"error factory", "unexpected status code"} {
					if strings.Contains(d.Detail+d.Fix, internal) {
						t.Errorf("%s: %q shows the SDK's internals", where, d.Detail)
					}
				}
			}

			e.srv.Inject(tc.fault)
			got, err := e.p.Events(context.Background(), rooms, day, day.Add(24*time.Hour))
			if tc.status == calendar.StatusAuthFailed {
				// A refused token concerns every room: the call fails as a whole.
				if err == nil {
					t.Fatal("Events: no error for a refused token")
				}
				check("Events", calendar.Diagnose("", err))
			} else {
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rooms {
					check("Events "+r, calendar.Diagnose(r, got[r].Err))
					if !strings.Contains(got[r].Err.Error(), "fix: ") {
						t.Errorf("the error as logged lacks the fix: %v", got[r].Err)
					}
				}
			}

			e.srv.Inject(tc.fault)
			check("Check", e.p.Check(context.Background(), rooms[0]))

			e.srv.Inject(tc.fault)
			rep := e.p.Doctor(context.Background(), rooms)
			for _, d := range rep.Rooms {
				check("Doctor "+d.Room, d)
			}
		})
	}
}
