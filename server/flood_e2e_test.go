package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/store"
)

// The review's rogue panel wrote ~180 records a second into the store for
// as long as it liked. Requests and problem reports are limited per device
// (a burst, then a steady trickle), so a flood leaves a handful of records
// and log lines.
func TestRoguePanelFloodIsBounded(t *testing.T) {
	ts := newTestServer(t)
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich", Booking: store.BookingSettings{Instant: true, ExtendEnd: true}})
	p := dialRaw(t, ts.wsURL(), ts.addDevice("rigi"))
	p.hello()
	p.next(isState)

	start := time.Now()
	const requests, reports = 500, 100
	limited := 0
	for i := range requests {
		id := fmt.Sprint("flood-", i)
		p.send(proto.Message{Type: proto.TypeRequest, ID: id, Request: ptr(bookReq(15))})
		m := p.next(func(m proto.Message) bool { return m.Type == proto.TypeResult && m.ID == id })
		if !m.Result.OK && m.Result.Error.Code == proto.CodeRateLimited {
			limited++
		}
		if i%5 == 0 && i/5 < reports {
			p.send(proto.Message{Type: proto.TypeReport, Report: &proto.Report{Kind: "problem", Problem: fmt.Sprint("flood ", i)}})
		}
	}
	elapsed := time.Since(start)
	time.Sleep(100 * time.Millisecond) // the last reports

	var books, problems int
	all, err := ts.app.db.Outcomes(10_000)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range all {
		switch o.Action {
		case "book":
			books++
		case "problem":
			problems++
		}
	}
	t.Logf("flood of %d requests and %d problem reports in %s (%.0f/s): %d book records, %d problem records kept, %d requests refused as rate limited",
		requests, reports, elapsed.Round(time.Millisecond), float64(requests+reports)/elapsed.Seconds(), books, problems, limited)
	allowedBooks := 10 + int(elapsed/(30*time.Second))
	if books > allowedBooks || books == 0 {
		t.Errorf("%d book records kept, want at most %d", books, allowedBooks)
	}
	if problems > 3+int(elapsed/(15*time.Minute)) || problems == 0 {
		t.Errorf("%d problem records kept, want at most 3", problems)
	}
	if limited < requests-allowedBooks {
		t.Errorf("%d requests refused as rate limited, want %d", limited, requests-allowedBooks)
	}
	if n := strings.Count(ts.logs.String(), "panel request"); n > 2*allowedBooks {
		t.Errorf("%d log lines about panel requests", n)
	}
}
