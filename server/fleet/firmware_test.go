package fleet

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/hub"
	"github.com/lintelhq/lintel/server/store"
)

// firmPanels records firmware messages; every panel accepts firmware.
type firmPanels struct {
	mu    sync.Mutex
	conns []hub.ConnInfo
	sent  map[string][]proto.Firmware
}

func (f *firmPanels) Accepts(id, c string) bool { return c == proto.AcceptFirmware }
func (f *firmPanels) Connections() []hub.ConnInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]hub.ConnInfo(nil), f.conns...)
}
func (f *firmPanels) Send(id string, m proto.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent[id] = append(f.sent[id], *m.Firmware)
	return nil
}
func (f *firmPanels) last(id string) proto.Firmware {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.sent[id]; len(s) > 0 {
		return s[len(s)-1]
	}
	return proto.Firmware{}
}

type firmFixture struct {
	db     *store.DB
	f      *Firmware
	panels *firmPanels
	now    time.Time
	halts  chan string
	priv   ed25519.PrivateKey
}

func newFirmFixture(t *testing.T, devices ...string) *firmFixture {
	t.Helper()
	x := &firmFixture{db: openStore(t), panels: &firmPanels{sent: map[string][]proto.Firmware{}}, now: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC), halts: make(chan string, 10)}
	for _, id := range devices {
		if err := x.db.AddDevice(store.Device{ID: id, Name: "Panel " + id}, "hash-"+id); err != nil {
			t.Fatal(err)
		}
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	x.priv = priv
	var err error
	x.f, err = NewFirmware(FirmwareOpts{Store: x.db, Dir: t.TempDir(), PublicKey: pub, Now: func() time.Time { return x.now },
		OnHalt: func(v, reason string) { x.halts <- v + ": " + reason }})
	if err != nil {
		t.Fatal(err)
	}
	x.f.SetPanels(x.panels)
	return x
}

func (x *firmFixture) upload(t *testing.T, version string) {
	t.Helper()
	data := []byte("binary " + version)
	if _, err := x.f.Upload(version, "linux/arm64", strings.NewReader(string(data)), ed25519.Sign(x.priv, data), "test"); err != nil {
		t.Fatal(err)
	}
}

func (x *firmFixture) connect(id, version string) {
	c := hub.ConnInfo{DeviceID: id, Paired: true, Firmware: version, Arch: "linux/arm64"}
	x.panels.mu.Lock()
	x.panels.conns = append(x.panels.conns[:0:0], c)
	x.panels.mu.Unlock()
	x.f.Connected(hub.Device{ID: id}, c)
}

// TestRolloutHealthGate: a crash-looping canary halts the rollout with
// the reason and the alert hook; a panel that took the version is told to
// roll back; an upload is bounded and checked.
func TestRolloutHealthGate(t *testing.T) {
	x := newFirmFixture(t, "a", "b")
	x.upload(t, "2.0.0")
	ctx := context.Background()
	if _, err := x.f.Start(ctx, RolloutRequest{Version: "3.0.0", Ring: RingAll}); err == nil {
		t.Error("a rollout of a version never uploaded started")
	}
	if _, err := x.f.Start(ctx, RolloutRequest{Version: "2.0.0", Ring: RingCanary, Canary: []string{"a", "b"}, DeadlineSeconds: 60, MaxCrashPercent: 40}); err != nil {
		t.Fatal(err)
	}
	x.connect("a", "1.0.0")
	if f := x.panels.last("a"); f.Action != proto.FirmwareInstall || f.Version != "2.0.0" || f.Path != "/firmware/2.0.0/linux/arm64" {
		t.Fatalf("told %+v", f)
	}
	x.connect("b", "1.0.0")
	x.connect("a", "2.0.0") // back on the new version
	for range CrashConnects {
		x.connect("b", "2.0.0") // again and again
	}
	x.f.Check()
	select {
	case h := <-x.halts:
		if !strings.Contains(h, "1 of 2 panels told to install 2.0.0 crash-loop") {
			t.Errorf("halt: %s", h)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the crash loop did not halt the rollout")
	}
	r := x.f.Rollouts()[0]
	if r.State != StateHalted || r.Panels["b"].Status != PanelRolledBack || r.Panels["a"].Status != PanelUpdated {
		t.Errorf("rollout after the halt: %+v a=%+v b=%+v", r, r.Panels["a"], r.Panels["b"])
	}
	if f := x.panels.last("b"); f.Action != proto.FirmwareRollback || f.Version != "1.0.0" {
		t.Errorf("the panel on the halted version was told %+v", f)
	}
	// Kept across a restart of the server.
	again, err := NewFirmware(FirmwareOpts{Store: x.db, Dir: t.TempDir()})
	if err != nil || again.Rollouts()[0].State != StateHalted || !strings.Contains(again.Rollouts()[0].Reason, "crash-loop") {
		t.Errorf("after a restart: %+v %v", again.Rollouts(), err)
	}

	// Uploads: a forged signature, an unknown platform and an oversized
	// build are refused.
	if _, err := x.f.Upload("2.1.0", "linux/arm64", strings.NewReader("x"), make([]byte, 64), ""); err == nil {
		t.Error("a forged signature was kept")
	}
	if _, err := x.f.Upload("2.1.0", "windows/amd64", strings.NewReader("x"), make([]byte, 64), ""); err == nil {
		t.Error("an unknown platform was kept")
	}
	big := strings.NewReader(strings.Repeat("x", MaxBuildBytes+1))
	if _, err := x.f.Upload("2.1.0", "linux/arm64", big, make([]byte, 64), ""); err == nil || !strings.Contains(err.Error(), "MiB") {
		t.Errorf("an oversized build: %v", err)
	}
}

// TestRolloutDeadline: a panel told to install that does not come back on
// the version within the deadline halts the rollout; widening a halted
// rollout resumes it.
func TestRolloutDeadline(t *testing.T) {
	x := newFirmFixture(t, "a")
	x.upload(t, "2.0.0")
	x.connect("a", "1.0.0")
	if _, err := x.f.Start(context.Background(), RolloutRequest{Version: "2.0.0", Ring: RingPercent, Percent: 100, DeadlineSeconds: 60}); err != nil {
		t.Fatal(err)
	}
	if f := x.panels.last("a"); f.Action != proto.FirmwareInstall {
		t.Fatalf("a connected panel was not told at the start: %+v", f)
	}
	x.now = x.now.Add(59 * time.Second)
	x.f.Check()
	if x.f.Rollouts()[0].State != StateRunning {
		t.Fatal("halted before the deadline")
	}
	x.now = x.now.Add(2 * time.Second)
	x.f.Check()
	if r := x.f.Rollouts()[0]; r.State != StateHalted || !strings.Contains(r.Reason, "did not come back on it within 1m0s") {
		t.Errorf("after the deadline: %+v", r)
	}
	if _, err := x.f.Start(context.Background(), RolloutRequest{Version: "2.0.0", Ring: RingAll}); err != nil {
		t.Fatal(err)
	}
	if r := x.f.Rollouts()[0]; r.State != StateRunning || r.Panels["a"].Status != PanelTold {
		t.Errorf("resumed: %+v %+v", r, r.Panels["a"])
	}
}

// TestPercentRingWidens: the panels of 30 % are among those of 60 %.
func TestPercentRingWidens(t *testing.T) {
	var devs []store.Device
	for i := range 50 {
		devs = append(devs, store.Device{ID: string(rune('A' + i))})
	}
	small, large := percentOf(devs, "2.0.0", 30), percentOf(devs, "2.0.0", 60)
	if len(small) != 15 || len(large) != 30 {
		t.Fatalf("%d and %d panels", len(small), len(large))
	}
	in := map[string]bool{}
	for _, id := range large {
		in[id] = true
	}
	for _, id := range small {
		if !in[id] {
			t.Errorf("%s is in the 30 %% ring, not the 60 %% one", id)
		}
	}
}

type fakeAuth struct{}

func (fakeAuth) Authenticate(ctx context.Context, token string) (hub.Device, error) {
	if token == "good" {
		return hub.Device{ID: "a"}, nil
	}
	return hub.Device{}, errors.New("unknown")
}

// TestDownloadNeedsACredential: the build is served to a panel with a
// valid credential only.
func TestDownloadNeedsACredential(t *testing.T) {
	x := newFirmFixture(t, "a")
	x.upload(t, "2.0.0")
	mux := http.NewServeMux()
	mux.Handle("GET /firmware/{version}/{arch...}", x.f.DownloadHandler(fakeAuth{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(token, path string) int {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		token, path string
		want        int
	}{
		{"", "/firmware/2.0.0/linux/arm64", 401}, {"bad", "/firmware/2.0.0/linux/arm64", 401},
		{"good", "/firmware/2.0.0/linux/arm64", 200}, {"good", "/firmware/9.9.9/linux/arm64", 404},
	} {
		if got := get(tc.token, tc.path); got != tc.want {
			t.Errorf("%q %s: %d, want %d", tc.token, tc.path, got, tc.want)
		}
	}
}

// TestBuildsAreBounded: past MaxBuilds, an upload removes the oldest build
// (its file too) that no running rollout needs.
func TestBuildsAreBounded(t *testing.T) {
	x := newFirmFixture(t, "a")
	x.upload(t, "0.0.1")
	if _, err := x.f.Start(context.Background(), RolloutRequest{Version: "0.0.1", Ring: RingAll}); err != nil {
		t.Fatal(err)
	}
	for i := range MaxBuilds + 1 {
		x.now = x.now.Add(time.Minute)
		x.upload(t, "1.0."+strconv.Itoa(i))
	}
	builds, _ := x.f.Builds()
	if len(builds) != MaxBuilds {
		t.Fatalf("%d builds kept, want %d", len(builds), MaxBuilds)
	}
	versions := map[string]bool{}
	for _, b := range builds {
		versions[b.Version] = true
	}
	if !versions["0.0.1"] || versions["1.0.0"] || versions["1.0.1"] || !versions["1.0.24"] {
		t.Errorf("kept %v: want the rolling-out 0.0.1 and the newest", versions)
	}
	files, _ := os.ReadDir(x.f.opts.Dir)
	if len(files) != MaxBuilds {
		t.Errorf("%d files in the firmware directory, want %d", len(files), MaxBuilds)
	}
}
