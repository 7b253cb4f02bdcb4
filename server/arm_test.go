package main

import (
	"bufio"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto/clock"
	"github.com/lintelhq/lintel/server/store"
)

// maxPanelBytes is the budget of the stripped armv6 panel binary.
const maxPanelBytes = 12_000_000

// TestPanelOnARM cross-compiles lintel-panel for the boards it runs on
// (linux/arm v6 and v7, arm64; no cgo), runs each under qemu-user-static
// against this server on loopback, and checks that it connects, receives
// its room and renders a busy frame. It logs each binary's size and the
// emulated process's peak RSS.
func TestPanelOnARM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three ARM binaries")
	}
	ts := newTestServer(t)
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich", Display: store.DisplayTitle})
	now := ts.now().UTC().Truncate(time.Minute)
	ts.api("POST", "/api/v1/rooms/rigi/events", map[string]any{"subject": "Budget", "start": now.Add(-10 * time.Minute), "end": now.Add(time.Hour)}, nil)

	targets := []struct {
		name, goarch, goarm, qemu string
	}{
		{"armv6", "arm", "6", "qemu-arm-static"},
		{"armv7", "arm", "7", "qemu-arm-static"},
		{"arm64", "arm64", "", "qemu-aarch64-static"},
	}
	bin := t.TempDir()
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			qemu, err := exec.LookPath(tg.qemu)
			if err != nil {
				if os.Getenv("CI") != "" {
					t.Fatalf("%s is not installed; make test installs qemu-user-static", tg.qemu)
				}
				t.Skipf("%s is not installed; run make test-deps", tg.qemu)
			}
			exe := filepath.Join(bin, "lintel-panel-"+tg.name)
			build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.Version=arm-test", "-o", exe, "../panel")
			build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+tg.goarch, "GOARM="+tg.goarm)
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("build: %v\n%s", err, out)
			}
			fi, _ := os.Stat(exe)
			t.Logf("%s binary: %.1f MB", tg.name, float64(fi.Size())/1e6)
			// The armv6 boards (Pi Zero, Pi 1) have the least room: the
			// embedded fonts and tables must leave the binary at 12 MB.
			if tg.name == "armv6" && fi.Size() > maxPanelBytes {
				t.Errorf("armv6 panel binary is %d bytes, over the %d byte budget", fi.Size(), maxPanelBytes)
			}

			dir := t.TempDir()
			cred := filepath.Join(dir, "credential")
			writeTestFile(t, cred, ts.addDevice("rigi"))
			frame := filepath.Join(dir, "frame.png")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, qemu, exe, "--server", ts.wsURL(), "--credential", cred,
				"--cache", filepath.Join(dir, "cache.json"), "--screen", "png:"+frame, "--log-level", "warn")
			// The panel runs on the server's (moved) clock.
			cmd.Env = append(os.Environ(), clock.Env+"="+ts.now().Format(time.RFC3339))
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()

			var peak int
			deadline := time.Now().Add(90 * time.Second)
			for {
				if rss := vmHWM(cmd.Process.Pid); rss > peak {
					peak = rss
				}
				if busyFrame(frame) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no busy frame within 90 s; panel said:\n%s", stderr.String())
				}
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(time.Second) // settled: the frame is up, the connection idle
			if rss := vmHWM(cmd.Process.Pid); rss > peak {
				peak = rss
			}
			t.Logf("%s: busy frame rendered; peak RSS under qemu %.1f MB (emulator included)", tg.name, float64(peak)/1024)
		})
	}
}

// busyFrame reports whether the PNG at path shows the busy colour.
func busyFrame(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return false
	}
	r, g, b, _ := img.At(10, 240).RGBA()
	return r>>8 > 150 && g>>8 < 80 && b>>8 < 80
}

// vmHWM is a process's peak resident set size in KiB, from /proc.
func vmHWM(pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n
		}
	}
	return 0
}
