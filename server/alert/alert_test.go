package alert

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lintelhq/lintel/proto/clock"
	"github.com/lintelhq/lintel/server/store"
)

// fake is a notifier that records what it is sent, and fails the first
// failures calls.
type fake struct {
	name string
	mu   gosync.Mutex
	msgs []Message
	fail int
	hits int
}

func (f *fake) Channel() string { return f.name }

func (f *fake) Notify(ctx context.Context, m Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hits++
	if f.fail > 0 {
		f.fail--
		return errors.New("relay unavailable")
	}
	f.msgs = append(f.msgs, m)
	return nil
}

// got lists the messages as "event key".
func (f *fake) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, m := range f.msgs {
		out = append(out, string(m.Event)+" "+m.Alert.Key)
	}
	return out
}

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "lintel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// conditions is what a test probe reports: it changes them as the test
// goes.
type conditions struct {
	mu     gosync.Mutex
	alerts []Alert
	err    error
}

func (c *conditions) set(a ...Alert) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.alerts = a
}

func (c *conditions) check(context.Context) ([]Alert, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Alert(nil), c.alerts...), c.err
}

// engine starts an engine with one probe of kind over conds and a fake
// notifier, running until the test ends.
func engine(t *testing.T, db *store.DB, kind Kind, conds *conditions, opts Opts) (*Engine, *fake) {
	t.Helper()
	opts.Store = db
	opts.Probes = []Probe{{Kind: kind, Check: conds.check}}
	opts.Now = clock.ForTests(func(string) string { return "" })
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f := &fake{name: "fake"}
	e.SetNotifiers([]Notifier{f}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	// The first check ran; tests act half-way between checks (which run
	// on the minute), so that no step races a check at the same instant.
	time.Sleep(30 * time.Second)
	return e, f
}

func same(a, b []string) bool { return strings.Join(a, "|") == strings.Join(b, "|") }

// TestOfflinePanelAlertsOnceAfterTenMinutesAndResolves: a panel offline
// for less than its hold time is no news; at 10 minutes one message goes
// out, however many checks follow; when it is back, one "resolved".
func TestOfflinePanelAlertsOnceAfterTenMinutesAndResolves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openStore(t)
		conds := &conditions{}
		e, f := engine(t, db, KindPanelOffline, conds, Opts{})
		lastSeen := e.opts.Now().Add(-30 * time.Second) // on the minute
		conds.set(Alert{Key: "panel_offline/d1", Subject: "Panel Rigi door is offline", Device: "d1", Since: lastSeen})

		time.Sleep(9 * time.Minute)
		synctest.Wait()
		if got := f.got(); len(got) != 0 {
			t.Fatalf("after 9.5 minutes: %v, want nothing yet", got)
		}
		if len(e.Active()) != 0 {
			t.Errorf("active before the hold time: %v", e.Active())
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := f.got(); !same(got, []string{"firing panel_offline/d1"}) {
			t.Fatalf("after 10.5 minutes: %v", got)
		}
		time.Sleep(2 * time.Hour) // 120 more checks
		synctest.Wait()
		if got := f.got(); len(got) != 1 {
			t.Fatalf("the alert was repeated: %v", got)
		}
		conds.set()
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := f.got(); !same(got, []string{"firing panel_offline/d1", "resolved panel_offline/d1"}) {
			t.Fatalf("after the panel returned: %v", got)
		}
		if len(e.Active()) != 0 {
			t.Errorf("still active: %v", e.Active())
		}
		log, _ := e.Log(10)
		if len(log) != 2 || log[0].Event != Resolved || !log[0].Results[0].OK {
			t.Errorf("log: %+v", log)
		}
	})
}

// TestHoldCountsFromFirstSeen: an alert without Since (a calendar read
// failing) holds from the check that first saw it, and a blip that clears
// before the hold time never alerts.
func TestHoldCountsFromFirstSeen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conds := &conditions{}
		_, f := engine(t, openStore(t), KindCalendar, conds, Opts{})
		blip := Alert{Key: "calendar/rigi", Subject: "The calendar of Rigi cannot be read"}
		conds.set(blip)
		time.Sleep(5 * time.Minute)
		conds.set()
		time.Sleep(time.Minute)
		conds.set(blip) // a new episode: the hold starts again
		time.Sleep(9 * time.Minute)
		synctest.Wait()
		if got := f.got(); len(got) != 0 {
			t.Fatalf("a blip alerted: %v", got)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if got := f.got(); !same(got, []string{"firing calendar/rigi"}) {
			t.Fatalf("after holding 11 minutes: %v", got)
		}
	})
}

// TestAFailingCheckResolvesNothing: a probe that cannot tell leaves its
// alerts as they are.
func TestAFailingCheckResolvesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conds := &conditions{}
		e, f := engine(t, openStore(t), KindCredential, conds, Opts{})
		conds.set(Alert{Key: "credential/secret", Subject: "The client secret expires in 12 days"})
		time.Sleep(time.Minute)
		synctest.Wait()
		conds.mu.Lock()
		conds.alerts, conds.err = nil, errors.New("store unreadable")
		conds.mu.Unlock()
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if got := f.got(); !same(got, []string{"firing credential/secret"}) || len(e.Active()) != 1 {
			t.Errorf("a failing check changed the alerts: %v, active %v", got, e.Active())
		}
	})
}

// TestRateLimitHoldsAndSendsLater: beyond MaxPerHour, alerts wait; those
// still active go out when the hour allows, with the held count; one that
// cleared while held never goes out, nor its "resolved".
func TestRateLimitHoldsAndSendsLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conds := &conditions{}
		e, f := engine(t, openStore(t), KindCredential, conds, Opts{MaxPerHour: 3})
		var five []Alert
		for i := range 5 {
			five = append(five, Alert{Key: fmt.Sprintf("credential/%d", i), Subject: fmt.Sprintf("alert %d", i)})
		}
		conds.set(five...)
		time.Sleep(time.Minute) // the next check
		synctest.Wait()
		if got := f.got(); len(got) != 3 {
			t.Fatalf("sent %v, want 3 (the limit)", got)
		}
		held := 0
		for _, a := range e.Active() {
			if !a.Notified {
				held++
				if !strings.Contains(a.HeldBecause, "3 messages an hour") {
					t.Errorf("held because %q", a.HeldBecause)
				}
			}
		}
		if held != 2 {
			t.Fatalf("%d held, want 2", held)
		}
		// One of the held clears before the hour is over.
		conds.set(five[:4]...)
		time.Sleep(59 * time.Minute)
		synctest.Wait()
		if got := f.got(); len(got) != 3 {
			t.Fatalf("within the hour: %v", got)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		got := f.got()
		if !same(got, []string{"firing credential/0", "firing credential/1", "firing credential/2", "firing credential/3"}) {
			t.Fatalf("after the hour: %v", got)
		}
		f.mu.Lock()
		if f.msgs[3].Held != 2 {
			t.Errorf("the message after the limit says %d held, want 2", f.msgs[3].Held)
		}
		f.mu.Unlock()
		conds.set()
		time.Sleep(time.Minute)
		synctest.Wait()
		resolved := 0
		for _, g := range f.got() {
			if strings.HasPrefix(g, "resolved") {
				resolved++
				if g == "resolved credential/4" {
					t.Error("an alert that was never sent sent its resolved")
				}
			}
		}
		if resolved != 4 {
			t.Errorf("%d resolved, want 4: %v", resolved, f.got())
		}
	})
}

// TestFlappingKeyWaitsQuietTime: a key that fires again soon after it
// was sent waits for the quiet time, then goes out if it still holds.
func TestFlappingKeyWaitsQuietTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conds := &conditions{}
		_, f := engine(t, openStore(t), KindRollout, conds, Opts{})
		a := Alert{Key: "rollout/r1", Subject: "Rollout r1 halted"}
		conds.set(a)
		time.Sleep(time.Minute)
		conds.set()
		time.Sleep(time.Minute)
		conds.set(a)
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if got := f.got(); !same(got, []string{"firing rollout/r1", "resolved rollout/r1"}) {
			t.Fatalf("during the quiet time: %v", got)
		}
		time.Sleep(25 * time.Minute)
		synctest.Wait()
		if got := f.got(); !same(got, []string{"firing rollout/r1", "resolved rollout/r1", "firing rollout/r1"}) {
			t.Fatalf("after the quiet time: %v", got)
		}
	})
}

// TestReportsAreDeduplicated: the same problem reported again at the same
// panel within the quiet time is sent once; another panel's is sent.
func TestReportsAreDeduplicated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, f := engine(t, openStore(t), KindProblem, &conditions{}, Opts{})
		p := Alert{Key: "problem/d1/projector", Kind: KindProblem, Subject: "Problem at Rigi: projector"}
		for range 5 {
			e.Report(p)
		}
		e.Report(Alert{Key: "problem/d2/projector", Kind: KindProblem, Subject: "Problem at Pilatus: projector"})
		synctest.Wait()
		if got := f.got(); !same(got, []string{"reported problem/d1/projector", "reported problem/d2/projector"}) {
			t.Fatalf("reports: %v", got)
		}
		time.Sleep(31 * time.Minute)
		e.Report(p)
		synctest.Wait()
		if got := f.got(); len(got) != 3 {
			t.Fatalf("a report after the quiet time: %v", got)
		}
		if len(e.Active()) != 0 {
			t.Errorf("a report became an active alert: %v", e.Active())
		}
	})
}

// TestRetriesWithBackoff: a channel that fails is tried again after 30 s
// and 2 min, and a message that fails 3 times is logged as failed.
func TestRetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, ok := engine(t, openStore(t), KindProblem, &conditions{}, Opts{})
		flaky := &fake{name: "flaky", fail: 2}
		dead := &fake{name: "dead", fail: 100}
		e.SetNotifiers([]Notifier{ok, flaky, dead}, nil)
		start := time.Now()
		e.RolloutHalted("r1", "2 of 3 canary panels did not come back within 15 minutes")
		if err := e.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 30*time.Second+2*time.Minute {
			t.Errorf("delivery took %v, want 2m30s (30 s, then 2 min between tries)", took)
		}
		if len(ok.got()) != 1 || len(flaky.got()) != 1 || dead.hits != 3 {
			t.Errorf("ok %v, flaky %v, dead tried %d times", ok.got(), flaky.got(), dead.hits)
		}
		log, _ := e.Log(1)
		if len(log) != 1 || len(log[0].Results) != 3 || log[0].Results[2].OK || log[0].Results[2].Error != "relay unavailable" || !log[0].Results[1].OK {
			t.Errorf("log: %+v", log)
		}
	})
}

// TestHooks: a subscription alerts after 3 failures in a row and resolves
// when renewed; a halted rollout alerts at once and resolves on resume.
func TestHooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, f := engine(t, openStore(t), KindProblem, &conditions{}, Opts{})
		e.SubscriptionFailed("rigi", "403 Forbidden")
		e.SubscriptionFailed("rigi", "403 Forbidden")
		e.SubscriptionOK("rigi") // the count starts again
		e.SubscriptionFailed("rigi", "403 Forbidden")
		e.SubscriptionFailed("rigi", "403 Forbidden")
		synctest.Wait()
		if got := f.got(); len(got) != 0 {
			t.Fatalf("alerted before 3 failures in a row: %v", got)
		}
		e.SubscriptionFailed("rigi", "403 Forbidden")
		e.SubscriptionFailed("rigi", "403 Forbidden")
		e.RolloutHalted("1.4.0", "2 panels crash-loop")
		synctest.Wait()
		if got := f.got(); !same(got, []string{"firing subscription/rigi", "firing rollout/1.4.0"}) {
			t.Fatalf("got %v", got)
		}
		if a := e.Active()[1]; !strings.Contains(a.Detail, "403 Forbidden") || a.Room != "rigi" {
			t.Errorf("subscription alert: %+v", a)
		}
		e.SubscriptionOK("rigi")
		e.RolloutResumed("1.4.0")
		synctest.Wait()
		if got := f.got(); len(got) != 4 || got[2] != "resolved subscription/rigi" || got[3] != "resolved rollout/1.4.0" {
			t.Fatalf("got %v", got)
		}
	})
}

// TestRestartKeepsActiveAlerts: a restarted engine does not send an
// active alert again, and does send its "resolved".
func TestRestartKeepsActiveAlerts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openStore(t)
		conds := &conditions{}
		conds.set(Alert{Key: "credential/cert", Subject: "The certificate expires in 20 days"})
		ctx, cancel := context.WithCancel(context.Background())
		first, err := New(Opts{Store: db, Probes: []Probe{{Kind: KindCredential, Check: conds.check}}})
		if err != nil {
			t.Fatal(err)
		}
		f1 := &fake{name: "f"}
		first.SetNotifiers([]Notifier{f1}, nil)
		done := make(chan struct{})
		go func() { defer close(done); first.Run(ctx) }()
		time.Sleep(time.Second)
		first.Flush(ctx)
		cancel()
		<-done
		if len(f1.got()) != 1 {
			t.Fatalf("first engine sent %v", f1.got())
		}
		second, f2 := engine(t, db, KindCredential, conds, Opts{})
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if len(f2.got()) != 0 || len(second.Active()) != 1 {
			t.Fatalf("after a restart: sent %v, active %v", f2.got(), second.Active())
		}
		conds.set()
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := f2.got(); !same(got, []string{"resolved credential/cert"}) {
			t.Fatalf("after a restart, resolving: %v", got)
		}
	})
}

// TestMutedKindsAreTrackedNotSent.
func TestMutedKindsAreTrackedNotSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conds := &conditions{}
		e, f := engine(t, openStore(t), KindCredential, conds, Opts{})
		e.SetNotifiers([]Notifier{f}, []Kind{KindCredential})
		conds.set(Alert{Key: "credential/secret", Subject: "expires"})
		time.Sleep(time.Minute)
		synctest.Wait()
		if len(f.got()) != 0 || len(e.Active()) != 1 || e.Active()[0].HeldBecause != "alerts of this kind are muted" {
			t.Fatalf("muted: sent %v, active %+v", f.got(), e.Active())
		}
		conds.set()
		time.Sleep(time.Minute)
		synctest.Wait()
		if len(f.got()) != 0 {
			t.Errorf("a muted alert sent its resolved: %v", f.got())
		}
	})
}

// TestSendTest reaches every channel once and reports each outcome.
func TestSendTest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, ok := engine(t, openStore(t), KindProblem, &conditions{}, Opts{})
		bad := &fake{name: "bad", fail: 1}
		e.SetNotifiers([]Notifier{ok, bad}, nil)
		res := e.SendTest(context.Background())
		if len(res) != 2 || !res[0].OK || res[1].OK || res[1].Error != "relay unavailable" || bad.hits != 1 {
			t.Errorf("results %+v, bad tried %d times", res, bad.hits)
		}
		if got := ok.got(); !same(got, []string{"test test"}) {
			t.Errorf("sent %v", got)
		}
	})
}

// TestQueueIsBounded: when deliveries stall, messages beyond the queue
// are dropped and counted, never blocking the caller.
func TestQueueIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openStore(t)
		e, err := New(Opts{Store: db, MaxPerHour: 1000})
		if err != nil {
			t.Fatal(err)
		}
		e.SetNotifiers([]Notifier{&fake{name: "f"}}, nil)
		// Not running: nothing drains the queue.
		for i := range queueSize + 10 {
			e.Report(Alert{Key: fmt.Sprintf("problem/d%d/x", i), Kind: KindProblem, Subject: "x"})
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.inflight != queueSize || e.held != 10 {
			t.Errorf("inflight %d, held %d; want %d and 10", e.inflight, e.held, queueSize)
		}
	})
}

// TestHeldUntilAChannelIsSetUp: an alert raised before any channel exists
// is kept and sent once one is set up, if it still holds.
func TestHeldUntilAChannelIsSetUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, f := engine(t, openStore(t), KindProblem, &conditions{}, Opts{})
		e.SetNotifiers(nil, nil)
		e.RolloutHalted("r1", "canaries did not come back")
		if a := e.Active(); len(a) != 1 || a[0].Notified || a[0].HeldBecause != "no e-mail relay or webhook is set up" {
			t.Fatalf("active: %+v", a)
		}
		e.SetNotifiers([]Notifier{f}, nil)
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := f.got(); !same(got, []string{"firing rollout/r1"}) {
			t.Fatalf("after a channel was set up: %v", got)
		}
	})
}
