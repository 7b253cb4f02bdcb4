package store

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/lintelhq/lintel/server/store/etcdtest"
)

// The contract: every test that runs through eachEngine passes on a bbolt
// file and on etcd (a real etcd, in this process) alike.

var (
	testEtcd    *etcdtest.Cluster
	testClient  *clientv3.Client
	testPrefixN atomic.Int64
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "lintel-store-etcd")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	testEtcd, err = etcdtest.StartMain(dir, 1)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer testEtcd.Stop()
	testClient, err = clientv3.New(clientv3.Config{Endpoints: testEtcd.Endpoints()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer testClient.Close()
	return m.Run()
}

// eachEngine runs test on a new, empty store of each engine.
func eachEngine(t *testing.T, test func(t *testing.T, db *DB)) {
	t.Run("bolt", func(t *testing.T) { test(t, openTemp(t)) })
	t.Run("etcd", func(t *testing.T) { test(t, openEtcdTemp(t)) })
}

// etcdPrefix is a prefix no other test uses.
func etcdPrefix(t *testing.T) string {
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	return fmt.Sprintf("/test/%s-%d", name, testPrefixN.Add(1))
}

func openEtcdTemp(t *testing.T) *DB {
	t.Helper()
	return openEtcdAt(t, etcdPrefix(t), 0)
}

func openEtcdAt(t *testing.T, prefix string, maxOps int) *DB {
	t.Helper()
	db, err := OpenEtcdClient(context.Background(), testClient, EtcdOpts{Prefix: prefix, MaxTxnOps: maxOps})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
