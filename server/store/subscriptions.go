package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// The subscriptions bucket (schema 8) holds the Graph change-notification
// subscription kept for each room, so that a restarted server re-uses the
// live ones instead of creating duplicates:
//
//	subscriptions/ <room id> -> Subscription (JSON)
//
// A room's record outlives the room until its subscription is deleted in
// Graph too (the subscription manager does both).
var subscriptionsBucket = []byte("subscriptions")

// Subscription is a room's change-notification subscription.
type Subscription struct {
	Room     string `json:"room"`
	Calendar string `json:"calendar"` // the mailbox it watches
	ID       string `json:"id"`       // Graph's subscription id
	// Expires is when Graph drops it unless renewed.
	Expires time.Time `json:"expires"`
	// ClientStateHash is the SHA-256 (hex) of the clientState Graph
	// sends with every notification; the secret itself is not kept.
	ClientStateHash string `json:"client_state_hash"`
	// URL is the notification URL it was created with: a changed public
	// URL means creating it again.
	URL string `json:"url"`
}

// Subscriptions returns every stored subscription by room id.
func (db *DB) Subscriptions() (map[string]Subscription, error) {
	out := map[string]Subscription{}
	err := db.view(func(tx txn) error {
		return root(tx, subscriptionsBucket).ForEach(func(k, v []byte) error {
			var s Subscription
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("decode subscription %s: %w", k, err)
			}
			out[string(k)] = s
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: subscriptions: %w", err)
	}
	return out, nil
}

// PutSubscription stores a room's subscription, replacing any other.
func (db *DB) PutSubscription(s Subscription) error {
	if s.Room == "" || s.ID == "" {
		return fmt.Errorf("store: a subscription needs a room and an id")
	}
	return db.update(func(tx txn) error { return putJSON(root(tx, subscriptionsBucket), s.Room, s) })
}

// DeleteSubscription forgets a room's subscription; a missing one is no
// error.
func (db *DB) DeleteSubscription(room string) error {
	return db.update(func(tx txn) error { return root(tx, subscriptionsBucket).Delete([]byte(room)) })
}
