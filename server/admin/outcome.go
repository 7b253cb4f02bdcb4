package admin

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/lintelhq/lintel/server/store"
)

// problemOutcome records a problem reported at a panel in the activity log.
func problemOutcome(deviceID, room, problem string, now time.Time) store.Outcome {
	b := make([]byte, 6)
	rand.Read(b)
	if len(problem) > 200 {
		problem = problem[:200]
	}
	return store.Outcome{Device: deviceID, ID: "problem-" + hex.EncodeToString(b), Room: room, Action: "problem",
		At: now.UTC(), Result: []byte(`{"ok":true}`), Summary: problem}
}
