package main

import (
	"context"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
	"github.com/lintelhq/lintel/server/connector"
)

// TestOneDiagnosisEverywhere: with the client secret's ID pasted instead
// of its Value (AADSTS7000215), the server log, doctor, "test all" (the
// API and the rooms page), /healthz and the metrics labels all carry the
// same diagnosis, including the hint "the Value, not its Secret ID".
func TestOneDiagnosisEverywhere(t *testing.T) {
	ts := newTestServerWith(t, func(c *config) { c.M365Sim = true })
	ts.useSecret(t, simSecretID, time.Time{})
	ts.app.sync.SyncAll(context.Background())

	// What doctor and "test all" say, per room: the reference wording.
	var rep connector.Report
	if code := ts.api("GET", "/api/v1/test", nil, &rep); code != 200 || len(rep.Rooms) == 0 {
		t.Fatalf("test all: %d %+v", code, rep)
	}
	d := rep.Rooms[0]
	if d.Status != calendar.StatusAuthFailed || !strings.Contains(d.Detail, "AADSTS7000215") || !strings.Contains(d.Fix, "not its Secret ID") {
		t.Fatalf("test all diagnosis %+v", d)
	}
	for _, other := range rep.Rooms[1:] {
		if other.Detail != d.Detail || other.Fix != d.Fix {
			t.Errorf("room %s reads %+v, room %s %+v", other.Room, other, d.Room, d)
		}
	}

	out, err := ts.cli("doctor")
	if err == nil {
		t.Error("doctor passed with a wrong secret")
	}
	for _, want := range []string{d.Detail, d.Fix, string(d.Status)} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}

	logs := ts.logs.String()
	if !strings.Contains(logs, d.Detail) || !strings.Contains(logs, "fix: "+d.Fix) {
		t.Errorf("the log lacks the diagnosis %q with its fix", d.Detail)
	}

	_, page := ts.adminClient(t).get(t, "/rooms")
	if page = html.UnescapeString(page); !strings.Contains(page, d.Detail) || !strings.Contains(page, d.Fix) {
		t.Errorf("the rooms page lacks the diagnosis %q and its fix", d.Detail)
	}

	_, health := healthz(t, ts)
	if p := health.Components.Calendar.Problem; p == nil || p.Detail != d.Detail || p.Fix != d.Fix || p.Status != d.Status {
		t.Errorf("/healthz problem %+v, want %+v", p, d)
	}

	_, metrics := get(t, ts.http.URL+"/metrics")
	if v, ok := metricValue(t, metrics, `lintel_calendar_read_failures_total{status="`+string(d.Status)+`"}`); !ok || v < 1 {
		t.Errorf("no read failure counted under the status %q", d.Status)
	}
}

// TestWholeBatchRefusalEverywhere: when Graph refuses the $batch as a
// whole, the rooms page, doctor and the log show Graph's own error code
// and message (never the SDK's "no error factory is registered"), with
// the same fix.
func TestWholeBatchRefusalEverywhere(t *testing.T) {
	ts := newTestServerWith(t, func(c *config) { c.M365Sim = true })
	c := ts.adminClient(t)
	ts.app.graphSim().Inject(graphtest.Fault{Status: http.StatusBadRequest, Code: "BadRequest", Message: "Invalid batch payload format.", Times: 100})
	ts.app.sync.SyncAll(context.Background())

	want := []string{"Graph refused the whole $batch request", "400 BadRequest: Invalid batch payload format.", "request-id", "open a Microsoft support case"}
	_, page := c.get(t, "/rooms")
	out, _ := ts.cli("doctor")
	for where, text := range map[string]string{"rooms page": html.UnescapeString(page), "doctor": out, "log": ts.logs.String()} {
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s lacks %q", where, w)
			}
		}
		if strings.Contains(text, "error factory") {
			t.Errorf("%s shows the SDK's internals", where)
		}
	}
}
