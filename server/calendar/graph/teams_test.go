package graph

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
)

// TestOnlineMeetingsPerRoom: Teams is offered only in rooms whose calendar
// lists teamsForBusiness in allowedOnlineMeetingProviders, the answers are
// read in one $batch and then cached, a failed read is not taken for a yes,
// and a room's licence change shows once the cache expires.
func TestOnlineMeetingsPerRoom(t *testing.T) {
	clock := newFakeClock(day.Add(9 * time.Hour))
	e := newEnv(t, graphtest.Options{}, func(c *Config) { c.Now = clock.Now })
	teams := e.room("aurora")
	none := "skype-only@" + graphtest.DefaultTenantDomain
	e.srv.AddMailbox(graphtest.Mailbox{Address: none, Room: true, OnlineMeetingProviders: []string{}})
	missing := "nobody@" + graphtest.DefaultTenantDomain
	rooms := []string{teams, none, missing}
	ctx := context.Background()

	got := e.p.OnlineMeetings(ctx, rooms)
	if !got[teams] || got[none] || got[missing] || len(got) != 3 {
		t.Errorf("OnlineMeetings = %v: want Teams in %s only", got, teams)
	}
	var reads int
	for _, r := range e.srv.Requests() {
		if strings.HasSuffix(r.Path, "/calendar") {
			reads++
			if !r.InBatch || r.Query.Get("$select") != "allowedOnlineMeetingProviders" {
				t.Errorf("calendar read %+v: want a $batch item selecting allowedOnlineMeetingProviders only", r)
			}
		}
	}
	if st := e.srv.Stats(); reads != 3 || st.Requests != 1 {
		t.Errorf("%d calendar reads in %d requests, want 3 in one $batch", reads, st.Requests)
	}

	// Within the cache's life: no request at all.
	e.srv.ResetStats()
	clock.Advance(time.Minute)
	if got := e.p.OnlineMeetings(ctx, rooms); !got[teams] || got[none] {
		t.Errorf("cached answer %v", got)
	}
	if st := e.srv.Stats(); st.Requests != 0 {
		t.Errorf("%d Graph requests for cached answers", st.Requests)
	}

	// The licences change; when the cache expires Graph refuses the batch:
	// the last known answers stand, and are asked again a few minutes on.
	e.srv.AddMailbox(graphtest.Mailbox{Address: none, Room: true})
	e.srv.AddMailbox(graphtest.Mailbox{Address: teams, Room: true, OnlineMeetingProviders: []string{}})
	clock.Advance(teamsTTL)
	e.srv.Inject(graphtest.Fault{Status: http.StatusBadRequest, Code: "BadRequest", Message: "Invalid batch payload format."})
	if got := e.p.OnlineMeetings(ctx, rooms); !got[teams] || got[none] || got[missing] {
		t.Errorf("answers while Graph refuses %v: want the last known ones", got)
	}
	clock.Advance(teamsRetryTTL)
	if got := e.p.OnlineMeetings(ctx, rooms); got[teams] || !got[none] {
		t.Errorf("after the licence change %v", got)
	}
}
