// Package etcdtest runs real etcd clusters inside the test process
// (go.etcd.io/etcd/server/v3/embed) on loopback ports, so that the store's
// etcd engine and the server's replicas are tested against etcd itself,
// members stopped and started included.
package etcdtest

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Cluster is a running cluster.
type Cluster struct {
	Members []*Member
}

// Member is one etcd server of a cluster.
type Member struct {
	Name      string
	ClientURL string
	cfg       *embed.Config
	etcd      *embed.Etcd
}

// Start runs an n-member cluster until the test ends.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	c, err := start(t.TempDir(), n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// StartMain runs an n-member cluster for a whole test binary (from
// TestMain); stop it with Stop, then remove dir.
func StartMain(dir string, n int) (*Cluster, error) { return start(dir, n) }

func start(dir string, n int) (*Cluster, error) {
	c := &Cluster{}
	var initial []string
	for i := range n {
		name := fmt.Sprintf("m%d", i)
		client, err := freeURL()
		if err != nil {
			return nil, err
		}
		peer, err := freeURL()
		if err != nil {
			return nil, err
		}
		cfg := embed.NewConfig()
		cfg.Name = name
		cfg.Dir = filepath.Join(dir, name)
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
		cfg.InitialClusterToken = "lintel-test"
		cfg.UnsafeNoFsync = true // a test's data need not survive the machine
		cfg.LogLevel = "error"
		cfg.LogOutputs = []string{filepath.Join(dir, name+".log")}
		cfg.AutoCompactionMode = "revision"
		cfg.AutoCompactionRetention = "1000"
		// Elections in a tenth of the usual time: a stopped member's
		// loss is noticed quickly.
		cfg.TickMs = 20
		cfg.ElectionMs = 200
		initial = append(initial, name+"="+peer.String())
		c.Members = append(c.Members, &Member{Name: name, ClientURL: client.String(), cfg: cfg})
	}
	for _, m := range c.Members {
		m.cfg.InitialCluster = strings.Join(initial, ",")
	}
	for _, m := range c.Members {
		e, err := embed.StartEtcd(m.cfg)
		if err != nil {
			c.Stop()
			return nil, fmt.Errorf("etcdtest: start %s: %w", m.Name, err)
		}
		m.etcd = e
	}
	for _, m := range c.Members {
		if err := m.waitReady(); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

// Stop stops every member.
func (c *Cluster) Stop() {
	for _, m := range c.Members {
		m.Stop()
	}
}

func (m *Member) waitReady() error {
	select {
	case <-m.etcd.Server.ReadyNotify():
		return nil
	case err := <-m.etcd.Err():
		return fmt.Errorf("etcdtest: %s: %w", m.Name, err)
	case <-time.After(60 * time.Second):
		return fmt.Errorf("etcdtest: %s not ready after 60 s", m.Name)
	}
}

// Stop stops the member (as if its machine went away); its data stays.
func (m *Member) Stop() {
	if m.etcd != nil {
		m.etcd.Close()
		m.etcd = nil
	}
}

// Restart starts a stopped member again with its data.
func (m *Member) Restart(t testing.TB) {
	t.Helper()
	m.cfg.ClusterState = embed.ClusterStateFlagExisting
	e, err := embed.StartEtcd(m.cfg)
	if err != nil {
		t.Fatalf("etcdtest: restart %s: %v", m.Name, err)
	}
	m.etcd = e
	if err := m.waitReady(); err != nil {
		t.Fatal(err)
	}
}

// Endpoints are the members' client URLs.
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.Members {
		eps = append(eps, m.ClientURL)
	}
	return eps
}

// Client connects to the cluster until the test ends.
func (c *Cluster) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatalf("etcdtest: client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// freeURL finds a loopback port nothing listens on.
func freeURL() (url.URL, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return url.URL{}, fmt.Errorf("etcdtest: %w", err)
	}
	defer l.Close()
	return url.URL{Scheme: "http", Host: l.Addr().String()}, nil
}
