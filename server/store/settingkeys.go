package store

import (
	"bytes"
	"fmt"
)

// SettingKeys lists the keys of the settings bucket that start with
// prefix.
func (db *DB) SettingKeys(prefix string) ([]string, error) {
	var out []string
	err := db.view(func(tx txn) error {
		c := root(tx, settingsBucket).Cursor()
		for k, _ := c.Seek([]byte(prefix)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, _ = c.Next() {
			out = append(out, string(k))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: setting keys: %w", err)
	}
	return out, nil
}

// DeleteSetting removes a setting; a missing one is no error.
func (db *DB) DeleteSetting(key string) error {
	return db.update(func(tx txn) error { return root(tx, settingsBucket).Delete([]byte(key)) })
}
