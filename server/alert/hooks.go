package alert

import "fmt"

// Hooks for the parts of the server that hold a condition themselves
// rather than being probed: the Graph subscription keeper and the firmware
// rollout. Each is safe to call from any goroutine, and as often as the
// event happens: the engine deduplicates.

// SubscriptionFailures is how many failures in a row of one mailbox's
// change-notification subscription (create or renew) raise an alert: one
// failure is retried and usually heals; three mean the room falls back to
// the slow safety poll until someone looks.
const SubscriptionFailures = 3

// SubscriptionFailed notes that keeping room's Graph subscription failed,
// with the reason (already free of secrets). After SubscriptionFailures in
// a row it raises an alert.
func (e *Engine) SubscriptionFailed(room, reason string) {
	key := string(KindSubscription) + "/" + room
	e.mu.Lock()
	if e.failures == nil {
		e.failures = map[string]int{}
	}
	e.failures[key]++
	n := e.failures[key]
	e.mu.Unlock()
	if n < SubscriptionFailures {
		return
	}
	e.Raise(Alert{Key: key, Kind: KindSubscription, Room: room,
		Subject: fmt.Sprintf("Change notifications for room %s keep failing", room),
		Detail: fmt.Sprintf("Creating or renewing the Microsoft Graph subscription failed %d times in a row; the last error: %s. "+
			"The room is still read by the safety poll, so its panels change later than they should. "+
			"Check that the server's public URL is reachable from Microsoft 365 and run Test all in the admin UI.", n, reason)})
}

// SubscriptionOK notes that room's subscription was created or renewed:
// the failure count starts again and an alert resolves.
func (e *Engine) SubscriptionOK(room string) {
	key := string(KindSubscription) + "/" + room
	e.mu.Lock()
	delete(e.failures, key)
	e.mu.Unlock()
	e.Clear(key)
}

// RolloutHalted raises an alert that the firmware rollout named rollout
// halted by itself, with why (from the health gate).
func (e *Engine) RolloutHalted(rollout, reason string) {
	e.Raise(Alert{Key: string(KindRollout) + "/" + rollout, Kind: KindRollout,
		Subject: fmt.Sprintf("Firmware rollout %s halted", rollout),
		Detail:  "The rollout stopped by itself: " + reason + ". The affected panels roll back to their previous firmware. See Firmware in the admin UI before resuming."})
}

// RolloutResumed resolves the halted-rollout alert, when the admin
// resumes or cancels the rollout.
func (e *Engine) RolloutResumed(rollout string) {
	e.Clear(string(KindRollout) + "/" + rollout)
}
