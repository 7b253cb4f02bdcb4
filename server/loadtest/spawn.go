package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"syscall"
	"time"
)

// Process is a server the run samples (memory and CPU) and restarts for
// the reconnect storm.
type Process interface {
	// PID is the server's process id now.
	PID() int
	// Stop asks the server to stop as an operator would (SIGTERM) and
	// returns once it has exited.
	Stop(ctx context.Context) error
	// Start starts it again with the same data and address and returns
	// once it answers /readyz.
	Start(ctx context.Context) error
}

// Spawned is a lintel-server started by the load test: `serve --demo` on
// a fresh data directory and a free loopback port, so that the run can
// measure its memory and restart it.
type Spawned struct {
	// Program is the lintel-server binary; Args more flags for serve.
	Program string
	Args    []string
	// Output gets the server's stdout and stderr.
	Output io.Writer

	dir  string // the data directory
	addr string // 127.0.0.1:port

	mu   gosync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Spawn starts a server in a new temporary data directory. Close stops it
// and removes the directory.
func Spawn(ctx context.Context, program string, args []string, output io.Writer) (*Spawned, error) {
	dir, err := os.MkdirTemp("", "lintel-load-")
	if err != nil {
		return nil, fmt.Errorf("loadtest: spawn: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("loadtest: spawn: pick a port: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &Spawned{Program: program, Args: args, Output: output, dir: dir, addr: addr}
	if err := s.Start(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// URL is the server's base URL.
func (s *Spawned) URL() string { return "http://" + s.addr }

// Token reads the API token serve --demo wrote.
func (s *Spawned) Token() (string, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, "api-token"))
	if err != nil {
		return "", fmt.Errorf("loadtest: spawned server's API token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// PID implements Process.
func (s *Spawned) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Start implements Process.
func (s *Spawned) Start(ctx context.Context) error {
	args := append([]string{"serve", "--demo", "--data", s.dir, "--listen", s.addr, "--log-level", "warn"}, s.Args...)
	cmd := exec.Command(s.Program, args...)
	cmd.Stdout, cmd.Stderr = s.Output, s.Output
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("loadtest: start %s: %w", s.Program, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	client := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(s.URL() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-done:
			return fmt.Errorf("loadtest: the spawned server exited: %v", cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("loadtest: the spawned server did not become ready: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// Stop implements Process: SIGTERM, and a kill after 30 s.
func (s *Spawned) Stop(ctx context.Context) error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("loadtest: stop the server: %w", err)
	}
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	cmd.Process.Kill()
	<-done
	return errors.New("loadtest: the server did not stop within 30 s of SIGTERM: killed")
}

// Close stops the server and removes its data directory.
func (s *Spawned) Close() error {
	err := s.Stop(context.Background())
	os.RemoveAll(s.dir)
	return err
}

// sampler follows a process's resident memory and CPU use.
type sampler struct {
	pid func() int

	mu      gosync.Mutex
	peakRSS int64
	peakCPU float64 // in cores, over sampleWindow
	lastPID int
	lastCPU time.Duration
	lastAt  time.Time
}

const sampleWindow = 250 * time.Millisecond

// run samples until ctx ends.
func (s *sampler) run(ctx context.Context) {
	t := time.NewTicker(sampleWindow)
	defer t.Stop()
	for {
		s.sample()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *sampler) sample() {
	pid := s.pid()
	if pid == 0 {
		return
	}
	rss, _ := readRSS(pid)
	cpu, err := readCPU(pid)
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peakRSS = max(s.peakRSS, rss)
	switch {
	case err != nil:
	case pid != s.lastPID:
		s.lastPID, s.lastCPU, s.lastAt = pid, cpu, now
	case now.Sub(s.lastAt) >= sampleWindow/2:
		// CPU time counts in 10 ms ticks: over a shorter window the
		// rate would be mostly rounding.
		s.peakCPU = max(s.peakCPU, float64(cpu-s.lastCPU)/float64(now.Sub(s.lastAt)))
		s.lastCPU, s.lastAt = cpu, now
	}
}

// reset starts a new peak.
func (s *sampler) reset() {
	s.mu.Lock()
	s.peakRSS, s.peakCPU = 0, 0
	s.mu.Unlock()
	s.sample()
}

func (s *sampler) peaks() (rss int64, cpu float64) {
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakRSS, s.peakCPU
}

// readRSS is a process's resident set size in bytes (Linux /proc).
func readRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// readCPU is the CPU time a process used (user and system), from
// /proc/pid/stat in clock ticks of 10 ms (USER_HZ is 100 on Linux).
func readCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; the fields after it do not.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("bad /proc/pid/stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("bad /proc/pid/stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}
