package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	gosync "sync"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/connector"
	"github.com/lintelhq/lintel/server/devices"
	"github.com/lintelhq/lintel/server/store"
)

// storeFlags are the flags that say where the store lives: a bbolt file in
// --data (the default), or etcd, shared by several replicas.
type storeFlags struct {
	kind      *string
	endpoints *string
	prefix    *string
	ca        *string
	cert      *string
	key       *string
	replicaID *string
}

func (c Context) storeFlags(fs *flag.FlagSet, withReplica bool) storeFlags {
	host, _ := os.Hostname()
	sf := storeFlags{
		kind:      fs.String("store", c.env("LINTEL_STORE", "bolt"), "where the store lives: bolt (one file in --data, one server) or etcd (shared by several replicas; env LINTEL_STORE)"),
		endpoints: fs.String("etcd-endpoints", c.env("LINTEL_ETCD_ENDPOINTS", ""), "with --store etcd: comma-separated etcd client URLs, e.g. https://etcd-0:2379,https://etcd-1:2379 (env LINTEL_ETCD_ENDPOINTS)"),
		prefix:    fs.String("etcd-prefix", c.env("LINTEL_ETCD_PREFIX", "/lintel"), "with --store etcd: the key prefix of this installation (env LINTEL_ETCD_PREFIX)"),
		ca:        fs.String("etcd-ca", c.env("LINTEL_ETCD_CA", ""), "PEM CA certificate of the etcd cluster (env LINTEL_ETCD_CA)"),
		cert:      fs.String("etcd-cert", c.env("LINTEL_ETCD_CERT", ""), "PEM client certificate for etcd (env LINTEL_ETCD_CERT)"),
		key:       fs.String("etcd-key", c.env("LINTEL_ETCD_KEY", ""), "PEM private key of --etcd-cert (env LINTEL_ETCD_KEY)"),
	}
	if withReplica {
		sf.replicaID = fs.String("replica-id", c.env("LINTEL_REPLICA_ID", host), "with --store etcd: this replica's name, unique among replicas (env LINTEL_REPLICA_ID; default the host name)")
	}
	return sf
}

// etcdOpts reads the etcd flags (nil when the store is bbolt).
func (sf storeFlags) etcdOpts() (*store.EtcdOpts, error) {
	switch *sf.kind {
	case "bolt", "":
		return nil, nil
	case "etcd":
	default:
		return nil, fmt.Errorf("--store must be bolt or etcd, not %q", *sf.kind)
	}
	var eps []string
	for _, e := range strings.Split(*sf.endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			eps = append(eps, e)
		}
	}
	if len(eps) == 0 {
		return nil, fmt.Errorf("--store etcd needs --etcd-endpoints, e.g. https://etcd-0:2379,https://etcd-1:2379")
	}
	opts := &store.EtcdOpts{Endpoints: eps, Prefix: *sf.prefix}
	if *sf.ca == "" && *sf.cert == "" && *sf.key == "" {
		return opts, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if *sf.ca != "" {
		pem, err := os.ReadFile(*sf.ca)
		if err != nil {
			return nil, fmt.Errorf("--etcd-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--etcd-ca %s: no PEM certificate in it", *sf.ca)
		}
	}
	if (*sf.cert == "") != (*sf.key == "") {
		return nil, fmt.Errorf("--etcd-cert and --etcd-key go together")
	}
	if *sf.cert != "" {
		pair, err := tls.LoadX509KeyPair(*sf.cert, *sf.key)
		if err != nil {
			return nil, fmt.Errorf("--etcd-cert/--etcd-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	opts.TLS = cfg
	return opts, nil
}

// joinReplicas makes the app one replica of several on etcd: it reads the
// calendars of its share of rooms only, serves every room's state from
// the store's watch, cuts panels revoked through any replica, and pairs
// panels waiting on any replica.
func (a *app) joinReplicas(ctx context.Context, id string) error {
	r, err := a.db.Join(ctx, store.ReplicaOpts{
		ID:     id,
		Logger: a.log.With("component", "replicas"),
		OnGain: func(rooms []string) {
			for _, room := range rooms {
				a.sync.Notify(room)
			}
		},
		OnForward: func(room string) { a.sync.Notify(room) },
		// A panel waiting to be paired on another replica: the
		// pending list changed, and its approval is asked of that
		// replica.
		OnShown: func(kind string) {
			if kind == devices.ShownCodes {
				a.pairer.Touch()
			}
		},
		OnAsk: func(ctx context.Context, kind string, body []byte) []byte {
			if ans, ok := a.pairer.Answer(ctx, kind, body); ok {
				return ans
			}
			return []byte(`{"error":"unknown question"}`)
		},
	})
	if err != nil {
		return err
	}
	a.replicas = r
	a.pairer.Share(r)
	return nil
}

// followStore serves states and device changes written by any replica
// (this one included) to this replica's panels, and follows the calendar
// settings saved through any replica, until ctx ends.
func (a *app) followStore(ctx context.Context) {
	var wg gosync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		a.db.WatchSettings(ctx, func(key string, data []byte) {
			var err error
			switch key {
			case connector.SettingsKey:
				a.connector.Follow(ctx)
			case alertsKey:
				err = a.alerts.follow()
			case admin.OIDCSettingsKey:
				err = a.admin.FollowOIDC()
			}
			if err != nil {
				a.log.Error("cannot follow settings saved by another replica", "settings", key, "err", err)
			}
		})
	}()
	go func() {
		defer wg.Done()
		a.db.WatchDevices(ctx, func(id string, data []byte) {
			var d store.Device
			if data == nil || json.Unmarshal(data, &d) != nil || d.Revoked {
				a.hub.Disconnect(id, proto.CodeRevoked, "this panel was removed by an administrator; pair it again")
				return
			}
			a.hub.Move(id, d.Room)
		})
	}()
	a.db.WatchStates(ctx, func(room string, data []byte) {
		var st proto.State
		if data == nil || json.Unmarshal(data, &st) != nil {
			return
		}
		a.sync.Remember(room, st)
		a.hub.Publish(room, st)
	})
	wg.Wait()
}

// noPublish is sync's publisher with replicas: states reach panels
// through the store's watch, on every replica alike.
type noPublish struct{}

func (noPublish) Publish(string, proto.State) {}
