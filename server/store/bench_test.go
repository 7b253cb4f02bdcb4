package store_test

import (
	"fmt"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/store"
)

// BenchmarkSeenBurst: every panel of a large site records that it was
// seen at once, as after a server restart (and as each disconnects when it
// stops): one op is 10,000 concurrent UpdateDevice calls on a store of
// 10,000 devices. Batched, they share a few transactions and fsyncs.
func BenchmarkSeenBurst(b *testing.B) {
	const n = 10_000
	db, err := store.Open(filepath.Join(b.TempDir(), "lintel.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ids := make([]string, n)
	var wg gosync.WaitGroup
	for i := range ids {
		ids[i] = fmt.Sprintf("pnl-%06d", i)
		wg.Go(func() {
			if err := db.AddDevice(store.Device{ID: ids[i], Name: "panel", Room: "r"}, fmt.Sprintf("hash-%d", i)); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	for b.Loop() {
		for _, id := range ids {
			wg.Go(func() {
				_, err := db.UpdateDevice(id, func(d *store.Device) error {
					d.LastSeen = time.Now().UTC()
					return nil
				})
				if err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
	}
}
