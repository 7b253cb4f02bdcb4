package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lintelhq/lintel/server/store"
)

// migrateStore copies a store between engines: a single server's bbolt
// file to etcd for replicas (--from bolt:FILE --to etcd), or back.
func migrateStore(ctx context.Context, c Context, args []string) error {
	fs := c.flags("migrate-store")
	from := fs.String("from", "", "the store to copy: bolt:FILE (a lintel.db) or etcd")
	to := fs.String("to", "", "where to copy it, which must be empty: etcd or bolt:FILE (a new file)")
	sf := c.storeFlags(fs, false)
	if err := fs.Parse(args); err != nil {
		return err
	}
	open := func(which string, create bool) (*store.DB, error) {
		switch {
		case strings.HasPrefix(which, "bolt:"):
			path := strings.TrimPrefix(which, "bolt:")
			if create {
				return store.Open(path)
			}
			return store.OpenExisting(path)
		case which == "etcd":
			etcd := "etcd"
			sf.kind = &etcd
			opts, err := sf.etcdOpts()
			if err != nil {
				return nil, err
			}
			return store.OpenEtcd(ctx, *opts)
		}
		return nil, fmt.Errorf("%q: say bolt:FILE or etcd", which)
	}
	if *from == "" || *to == "" || *from == *to {
		return errors.New("migrate-store: say --from and --to, e.g. --from bolt:/var/lib/lintel/lintel.db --to etcd --etcd-endpoints https://etcd-0:2379")
	}
	src, err := open(*from, false)
	if err != nil {
		return fmt.Errorf("migrate-store: --from: %w", err)
	}
	defer src.Close()
	dst, err := open(*to, true)
	if err != nil {
		return fmt.Errorf("migrate-store: --to: %w", err)
	}
	defer dst.Close()
	n, err := store.Copy(dst, src)
	if err != nil {
		return fmt.Errorf("migrate-store: %w", err)
	}
	fmt.Fprintf(c.Stdout, "copied %d records from %s to %s\n", n, src.Where(), dst.Where())
	return nil
}
