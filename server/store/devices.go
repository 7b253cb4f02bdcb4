package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Device is a paired door panel. Its credential is kept only as a hash in
// the tokens bucket; the token itself never reaches the store.
type Device struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Room     string    `json:"room"`
	Created  time.Time `json:"created"`
	Revoked  bool      `json:"revoked,omitempty"`
	LastSeen time.Time `json:"last_seen,omitzero"`
	Firmware string    `json:"firmware,omitempty"`
	Protocol int       `json:"protocol,omitempty"`
	Addr     string    `json:"addr,omitempty"`
}

// AddDevice stores a new device with the hash of its token.
func (db *DB) AddDevice(d Device, tokenHash string) error {
	if d.ID == "" || !validID(d.ID) {
		return fmt.Errorf("store: invalid device id %q", d.ID)
	}
	return db.batch(func(tx txn) error {
		devs := root(tx, devicesBucket)
		if devs.Get([]byte(d.ID)) != nil {
			return fmt.Errorf("store: device %q: %w", d.ID, ErrExists)
		}
		if err := root(tx, tokensBucket).Put([]byte(tokenHash), []byte(d.ID)); err != nil {
			return err
		}
		return putJSON(devs, d.ID, d)
	})
}

// DeviceByToken returns the device whose token hashes to tokenHash, or
// ErrNotFound. The token of a revoked device returns it marked Revoked, and
// that of a deleted one a Device with only its ID and Revoked set: such a
// panel is told it was revoked, not that its token is unknown.
func (db *DB) DeviceByToken(tokenHash string) (Device, error) {
	var d Device
	err := db.view(func(tx txn) error {
		if id := root(tx, revokedBucket).Get([]byte(tokenHash)); id != nil {
			d = Device{ID: string(id), Revoked: true}
			return nil
		}
		id := root(tx, tokensBucket).Get([]byte(tokenHash))
		if id == nil {
			return ErrNotFound
		}
		return getJSON(root(tx, devicesBucket), string(id), &d)
	})
	if err != nil {
		return Device{}, fmt.Errorf("store: device by token: %w", err)
	}
	return d, nil
}

// Device returns one device, or ErrNotFound.
func (db *DB) Device(id string) (Device, error) {
	var d Device
	err := db.view(func(tx txn) error { return getJSON(root(tx, devicesBucket), id, &d) })
	if err != nil {
		return Device{}, fmt.Errorf("store: device %q: %w", id, err)
	}
	return d, nil
}

// Devices returns every device, ordered by name then id.
func (db *DB) Devices() ([]Device, error) {
	var out []Device
	err := db.view(func(tx txn) error {
		return root(tx, devicesBucket).ForEach(func(k, v []byte) error {
			var d Device
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("store: decode device %s: %w", k, err)
			}
			out = append(out, d)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out, err
}

// UpdateDevice applies fn to a stored device and saves the result.
func (db *DB) UpdateDevice(id string, fn func(*Device) error) (Device, error) {
	var d Device
	// Batched: every panel that connects records when it was seen, and
	// after a restart thousands connect within seconds.
	err := db.batch(func(tx txn) error {
		d = Device{} // fn may run again (see engine)
		devs := root(tx, devicesBucket)
		if err := getJSON(devs, id, &d); err != nil {
			return fmt.Errorf("store: device %q: %w", id, err)
		}
		if err := fn(&d); err != nil {
			return err
		}
		d.ID = id
		return putJSON(devs, id, d)
	})
	return d, err
}

// RevokeDevice marks a device revoked. Its token hash stays, so that the
// panel is told it was revoked (and forgets the credential) rather than
// that its token is unknown; a revoked device never authenticates again.
func (db *DB) RevokeDevice(id string) error {
	return db.update(func(tx txn) error {
		devs := root(tx, devicesBucket)
		var d Device
		if err := getJSON(devs, id, &d); err != nil {
			return fmt.Errorf("store: device %q: %w", id, err)
		}
		d.Revoked = true
		return putJSON(devs, id, d)
	})
}

// DeleteDevice removes a device. Its token hashes move to the revoked
// bucket: the panel, if it still runs, is told it was revoked.
func (db *DB) DeleteDevice(id string) error {
	return db.update(func(tx txn) error {
		devs := root(tx, devicesBucket)
		if devs.Get([]byte(id)) == nil {
			return fmt.Errorf("store: device %q: %w", id, ErrNotFound)
		}
		hashes, err := tokensOf(root(tx, tokensBucket), id)
		if err != nil {
			return err
		}
		for _, h := range hashes {
			if err := root(tx, tokensBucket).Delete(h); err != nil {
				return err
			}
			if err := root(tx, revokedBucket).Put(h, []byte(id)); err != nil {
				return err
			}
		}
		return devs.Delete([]byte(id))
	})
}

func tokensOf(tokens bucket, id string) ([][]byte, error) {
	var hashes [][]byte
	err := tokens.ForEach(func(k, v []byte) error {
		if string(v) == id {
			hashes = append(hashes, append([]byte(nil), k...))
		}
		return nil
	})
	return hashes, err
}
