package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/alert"
	"github.com/lintelhq/lintel/server/fleet"
	"github.com/lintelhq/lintel/server/store"
)

// hostArch is the platform name of builds for this machine.
func hostArch() string {
	a := runtime.GOOS + "/" + runtime.GOARCH
	if runtime.GOARCH == "arm" {
		a += "/v7"
	}
	return a
}

// buildPanel builds lintel-panel for this machine, stamped with version.
func buildPanel(t *testing.T, dir, version string) string {
	t.Helper()
	out := filepath.Join(dir, "lintel-panel-"+version)
	cmd := exec.Command("go", "build", "-buildvcs=false", "-ldflags", "-X main.Version="+version, "-o", out, "./panel")
	cmd.Dir = ".."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build lintel-panel %s: %v\n%s", version, err, b)
	}
	return out
}

// supervisor runs a panel binary the way its systemd unit does: it starts
// it again whenever it exits (Restart=always), and after failures in a
// row (StartLimitBurst) it does what lintel-panel-rollback.service does:
// puts <binary>.previous back and starts again.
type supervisor struct {
	bin  string
	args []string
	log  *syncBuffer

	mu        sync.Mutex
	cmd       *exec.Cmd
	stopped   bool
	rollbacks int
	done      chan struct{}
}

func supervise(t *testing.T, bin string, args ...string) *supervisor {
	s := &supervisor{bin: bin, args: args, log: &syncBuffer{}, done: make(chan struct{})}
	go s.run()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("panel log:\n%s", s.log.String())
		}
	})
	return s
}

func (s *supervisor) run() {
	defer close(s.done)
	failures := 0
	for {
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			return
		}
		cmd := exec.Command(s.bin, s.args...)
		cmd.Stdout, cmd.Stderr = s.log, s.log
		err := cmd.Start()
		s.cmd = cmd
		s.mu.Unlock()
		if err == nil {
			err = cmd.Wait()
		}
		s.mu.Lock()
		stopped := s.stopped
		s.mu.Unlock()
		if stopped {
			return
		}
		if err != nil {
			failures++
		} else {
			failures = 0
		}
		if failures >= 3 {
			if _, statErr := os.Stat(s.bin + ".previous"); statErr == nil {
				os.Rename(s.bin+".previous", s.bin)
				s.mu.Lock()
				s.rollbacks++
				s.mu.Unlock()
				fmt.Fprintln(s.log, "supervisor: rolled back")
			}
			failures = 0
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *supervisor) stop() {
	s.mu.Lock()
	s.stopped = true
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(os.Interrupt)
	}
	s.mu.Unlock()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.mu.Lock()
		s.cmd.Process.Kill()
		s.mu.Unlock()
		<-s.done
	}
}

// uploadBuild sends a build through the API, signed with key.
func uploadBuild(t *testing.T, ts *testServer, key ed25519.PrivateKey, version, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"version": {version}, "arch": {hostArch()}, "signature": {base64.StdEncoding.EncodeToString(ed25519.Sign(key, data))}}
	req, _ := http.NewRequest("POST", ts.http.URL+"/api/v1/firmware?"+q.Encode(), bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer "+ts.token)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload %s: %s", version, resp.Status)
	}
}

// connectedOn reports whether the device is connected with firmware v.
func (ts *testServer) connectedOn(id, v string) bool {
	for _, c := range ts.app.hub.Connections() {
		if c.DeviceID == id && c.Firmware == v {
			return true
		}
	}
	return false
}

func (ts *testServer) rollout(version string) fleet.Rollout {
	for _, r := range ts.app.firmware.Rollouts() {
		if r.Version == version {
			return r
		}
	}
	return fleet.Rollout{}
}

// TestFirmwareRolloutEndToEnd runs real lintel-panel binaries, built for
// this machine with their versions stamped, under a supervisor that
// restarts them as systemd does, against the real server over loopback:
// a canary ring takes 1.1.0 (download with the credential, signature
// checked with the panel's key, atomic swap, restart, back on 1.1.0),
// the rollout widens to all and completes; then a bad build (it exits at
// start) is rolled out: the panel's supervisor rolls it back, the panel
// does not come back on the bad version within the deadline, the rollout
// halts by itself with the reason, and the alert engine raises the
// rollout alert.
func TestFirmwareRolloutEndToEnd(t *testing.T) {
	if testing.Short() && os.Getenv("LINTEL_FIRMWARE_E2E") == "" {
		t.Skip("builds lintel-panel twice; set LINTEL_FIRMWARE_E2E=1 to run it with -short")
	}
	ts := newTestServer(t)
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich"})
	cred := ts.addDevice("rigi")
	var devs []store.Device
	ts.api("GET", "/api/v1/devices", nil, &devs)
	id := devs[0].ID

	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	dir := t.TempDir()
	der, _ := x509.MarshalPKIXPublicKey(pub)
	keyFile := filepath.Join(dir, "update.pub")
	writeTestFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	v1, v11 := buildPanel(t, dir, "1.0.0"), buildPanel(t, dir, "1.1.0")
	bad := filepath.Join(dir, "lintel-panel-1.2.0")
	writeTestFile(t, bad, "#!/bin/sh\necho 'lintel-panel 1.2.0: cannot start' >&2\nexit 3\n")
	os.Chmod(bad, 0o755)

	// The panel as installed: its binary, its key, its state.
	panelDir := filepath.Join(dir, "panel")
	os.MkdirAll(panelDir, 0o700)
	bin := filepath.Join(panelDir, "lintel-panel")
	data, _ := os.ReadFile(v1)
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(panelDir, "credential"), cred)
	sup := supervise(t, bin, "--server", ts.wsURL(), "--credential", filepath.Join(panelDir, "credential"),
		"--cache", filepath.Join(panelDir, "cache.json"), "--screen", "png:"+filepath.Join(panelDir, "frame.png"),
		"--firmware-key", keyFile, "--log-level", "debug")
	waitLong(t, "the panel on 1.0.0", 30*time.Second, func() bool { return ts.connectedOn(id, "1.0.0") })

	// A build whose signature the panel's key does not verify is not
	// installed (the server has no key here, so it keeps it).
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	uploadBuild(t, ts, other, "1.0.5", v11)
	start := func(req fleet.RolloutRequest) {
		t.Helper()
		if code := ts.api("POST", "/api/v1/firmware/rollout", req, nil); code != 200 {
			t.Fatalf("rollout %+v: %d", req, code)
		}
	}
	start(fleet.RolloutRequest{Version: "1.0.5", Ring: fleet.RingCanary, Canary: []string{id}, DeadlineSeconds: 10})
	waitLong(t, "the forged build refused and the rollout halted", 30*time.Second, func() bool { return ts.rollout("1.0.5").State == fleet.StateHalted })
	if !ts.connectedOn(id, "1.0.0") || !strings.Contains(sup.log.String(), "signature does not verify") {
		t.Fatalf("the forged build: connected on 1.0.0 %v, log:\n%s", ts.connectedOn(id, "1.0.0"), sup.log.String())
	}

	// The canary ring takes 1.1.0.
	uploadBuild(t, ts, priv, "1.1.0", v11)
	began := time.Now()
	start(fleet.RolloutRequest{Version: "1.1.0", Ring: fleet.RingCanary, Canary: []string{id}, DeadlineSeconds: 60})
	waitLong(t, "the panel back on 1.1.0", 60*time.Second, func() bool {
		return ts.connectedOn(id, "1.1.0") && ts.rollout("1.1.0").Panels[id].Status == fleet.PanelUpdated
	})
	if r := ts.rollout("1.1.0"); r.Panels[id].From != "1.0.0" || r.Panels[id].Connects != 1 {
		t.Errorf("rollout after the canary: %+v %+v", r, r.Panels[id])
	}
	t.Logf("canary rollout: back on 1.1.0 %s after the rollout started (binary %d bytes)", time.Since(began).Round(time.Millisecond), len(data))
	if out, err := exec.Command(bin, "--version").Output(); err != nil || strings.TrimSpace(string(out)) != "1.1.0" {
		t.Errorf("the installed binary says %q %v", out, err)
	}
	if _, err := os.Stat(bin + ".previous"); err != nil {
		t.Errorf("the previous binary is not kept: %v", err)
	}
	start(fleet.RolloutRequest{Version: "1.1.0", Ring: fleet.RingAll})
	waitLong(t, "the rollout done", 10*time.Second, func() bool { return ts.rollout("1.1.0").State == fleet.StateDone })

	// A bad build: it exits at start.
	uploadBuild(t, ts, priv, "1.2.0", bad)
	began = time.Now()
	start(fleet.RolloutRequest{Version: "1.2.0", Ring: fleet.RingCanary, Canary: []string{id}, DeadlineSeconds: 10})
	waitLong(t, "the rollout of the bad build halted", 60*time.Second, func() bool { return ts.rollout("1.2.0").State == fleet.StateHalted })
	t.Logf("bad build: halted %s after the rollout started (deadline 10 s)", time.Since(began).Round(time.Millisecond))
	r := ts.rollout("1.2.0")
	if !strings.Contains(r.Reason, "did not come back on it") {
		t.Errorf("halt reason %q", r.Reason)
	}
	waitLong(t, "the panel rolled back to 1.1.0", 30*time.Second, func() bool { return ts.connectedOn(id, "1.1.0") })
	sup.mu.Lock()
	rollbacks := sup.rollbacks
	sup.mu.Unlock()
	if rollbacks != 1 {
		t.Errorf("the supervisor rolled back %d times, want 1", rollbacks)
	}
	waitLong(t, "the rollout alert", 10*time.Second, func() bool {
		for _, a := range ts.app.alerts.Active() {
			if a.Kind == alert.KindRollout && strings.Contains(a.Detail+a.Subject, "1.2.0") {
				return true
			}
		}
		return false
	})
	// The firmware page shows why.
	c := ts.adminClient(t)
	if code, page := c.get(t, "/fleet/firmware"); code != 200 || !strings.Contains(page, "did not come back on it") {
		t.Errorf("firmware page: %d, reason shown %v", code, strings.Contains(page, "did not come back on it"))
	}
}

// waitLong polls cond for up to d.
func waitLong(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

// TestFirmwareCLI: lintel-server firmware upload, rollout, list and halt
// through the API.
func TestFirmwareCLI(t *testing.T) {
	ts := newTestServer(t)
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich"})
	ts.addDevice("rigi")
	var devs []store.Device
	ts.api("GET", "/api/v1/devices", nil, &devs)
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	bin := filepath.Join(dir, "lintel-panel-arm64")
	writeTestFile(t, bin, "a build")
	writeTestFile(t, bin+".sig", string(ed25519.Sign(priv, []byte("a build"))))
	if out, err := ts.cli("firmware", "upload", "--version", "1.4.0", "--arch", "linux/arm64", bin); err != nil || !strings.Contains(out, "uploaded 1.4.0 for linux/arm64: 7 bytes") {
		t.Fatalf("upload: %v\n%s", err, out)
	}
	if out, err := ts.cli("firmware", "upload", "--version", "1.4.0", "--arch", "plan9/mips", bin); err == nil {
		t.Errorf("an unknown platform was uploaded:\n%s", out)
	}
	if out, err := ts.cli("firmware", "rollout", "--canary", devs[0].ID, "--deadline", "30", "1.4.0"); err != nil || !strings.Contains(out, "to 1 panels (ring canary)") {
		t.Fatalf("rollout: %v\n%s", err, out)
	}
	if out, err := ts.cli("firmware", "rollout", "--all", "--percent", "10", "1.4.0"); err == nil {
		t.Errorf("two rings at once:\n%s", out)
	}
	if out, err := ts.cli("firmware", "halt", "--reason", "wrong screen driver", "1.4.0"); err != nil {
		t.Fatalf("halt: %v\n%s", err, out)
	}
	out, err := ts.cli("firmware", "list")
	if err != nil || !strings.Contains(out, "1.4.0    linux/arm64") || !strings.Contains(out, "halted: wrong screen driver") || !strings.Contains(out, devs[0].ID+"\twaiting") {
		t.Errorf("list: %v\n%s", err, out)
	}
}
