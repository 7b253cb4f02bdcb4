package hub_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/hub"
)

// benchClientsEnv makes TestBenchClients act as the panels of
// BenchmarkFanout: "<url> <count>".
const benchClientsEnv = "LINTEL_HUB_BENCH_CLIENTS"

// benchAuth accepts every token as a device of room "bench".
type benchAuth struct{}

func (benchAuth) Authenticate(ctx context.Context, token string) (hub.Device, error) {
	return hub.Device{ID: token, Room: "bench"}, nil
}

func (benchAuth) Check(ctx context.Context, deviceID string) error { return nil }

// BenchmarkFanout measures how long one Publish takes to reach every panel
// of a room (p50-ms, p99-ms over the iterations) and the server's memory
// per connected panel: B/panel is heap, stack-B/panel the goroutine stacks.
//
// The panels run in a child process (this test binary, as
// TestBenchClients) so that the memory figures are the server's alone; the
// child prints a line whenever every panel has received the latest state.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("panels=%d", n), func(b *testing.B) {
			if n > 1000 && testing.Short() {
				b.Skip("10,000 panels: skipped in -short mode")
			}
			benchmarkFanout(b, n)
		})
	}
}

func benchmarkFanout(b *testing.B, n int) {
	h := hub.New(hub.Opts{Auth: benchAuth{}, Logger: slog.New(slog.DiscardHandler), MaxConns: n + 100})
	defer h.Close()
	st := benchState()
	runFanout(b, n, h, func() int { return len(h.Connections()) }, func() {
		st.ServerTime = st.ServerTime.Add(time.Second)
		h.Publish("bench", st)
	}, func() {
		// Closing says goodbye to every panel, as a server restart does.
		start := time.Now()
		h.Close()
		b.ReportMetric(time.Since(start).Seconds(), "close-s")
	})
}

// runFanout serves srv to n panels in a child process, then measures
// publish until every panel has the frame, and the memory per panel.
// atEnd, when not nil, runs at the end with the panels still connected.
func runFanout(b *testing.B, n int, handler http.Handler, connected func() int, publish func(), atEnd func()) {
	raiseFileLimit(b, n+200)
	srv := httptest.NewServer(handler)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"

	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	rssBefore := readRSS(b)

	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchClients$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", benchClientsEnv, url, n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close() // the child exits when its stdin closes
		cmd.Wait()
	}()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		b.Fatalf("panels did not start: %q %v", lines.Text(), lines.Err())
	}
	deadline := time.Now().Add(2 * time.Minute)
	for connected() != n {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d panels connected", connected(), n)
		}
		time.Sleep(50 * time.Millisecond)
	}

	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	heapPer := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
	stackPer := float64(int64(after.StackInuse)-int64(before.StackInuse)) / float64(n)
	rss := readRSS(b)

	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		publish()
		if !lines.Scan() {
			b.Fatalf("panels stopped: %v", lines.Err())
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(heapPer, "B/panel")
	b.ReportMetric(stackPer, "stack-B/panel")
	// RSS of the whole server process (idle RSS included) per panel, and
	// the growth alone.
	b.ReportMetric(float64(rss)/float64(n)/1024, "RSS-KB/panel")
	b.ReportMetric(float64(rss-rssBefore)/float64(n)/1024, "dRSS-KB/panel")
	if atEnd != nil {
		atEnd()
	}
}

// benchState is a realistic state: a busy day of eight meetings.
func benchState() proto.State {
	start := time.Date(2026, 3, 10, 7, 0, 0, 0, time.UTC)
	st := proto.State{
		Room:       proto.Room{ID: "bench", Name: "Matterhorn", TimeZone: "Europe/Zurich"},
		ServerTime: start,
		Features:   proto.Features{Book: true, ExtendEnd: true, CheckIn: true},
	}
	for i := range 8 {
		s := start.Add(time.Duration(i) * time.Hour)
		st.Meetings = append(st.Meetings, proto.Meeting{ID: fmt.Sprint("AAMkAGI2TG93AAA=", i), Title: "Quarterly planning review", Start: s, End: s.Add(45 * time.Minute), CheckIn: true})
	}
	return st
}

func raiseFileLimit(tb testing.TB, need int) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Fatal(err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Fatal(err)
	}
	if lim.Cur < uint64(need) {
		tb.Skipf("RLIMIT_NOFILE is %d, need %d", lim.Cur, need)
	}
}

// TestBenchClients is not a test: it is the panels of BenchmarkFanout,
// run in a child process. It connects the panels, prints "ready", then
// prints a line each time every panel has received one more frame, until
// its stdin closes.
func TestBenchClients(t *testing.T) {
	spec := os.Getenv(benchClientsEnv)
	if spec == "" {
		t.Skip("helper process for BenchmarkFanout")
	}
	url, count, _ := strings.Cut(spec, " ")
	n, err := strconv.Atoi(count)
	if err != nil {
		t.Fatal(err)
	}
	raiseFileLimit(t, n+100)

	hello, _ := proto.Encode(proto.Message{Type: proto.TypeHello, Hello: &proto.Hello{Protocol: proto.Version, Firmware: "bench"}})
	dialer := websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 1024, HandshakeTimeout: time.Minute}
	var received atomic.Int64
	allGot := make(chan struct{}, 16)
	conns := make([]*websocket.Conn, n)
	var wg sync.WaitGroup
	work := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range work {
				c, _, err := dialer.Dial(url, map[string][]string{"Authorization": {"Bearer d" + strconv.Itoa(i)}})
				if err != nil {
					fmt.Fprintf(os.Stderr, "bench panel %d: %v\n", i, err)
					os.Exit(1)
				}
				if err := c.WriteMessage(websocket.TextMessage, hello); err != nil {
					fmt.Fprintf(os.Stderr, "bench panel %d: %v\n", i, err)
					os.Exit(1)
				}
				conns[i] = c
				go func() {
					for {
						_, r, err := c.NextReader()
						if err != nil {
							return
						}
						io.Copy(io.Discard, r)
						if received.Add(1)%int64(n) == 0 {
							allGot <- struct{}{}
						}
					}
				}()
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	fmt.Println("ready")
	go func() {
		for range allGot {
			fmt.Println("all")
		}
	}()
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}

// readRSS returns the resident set size of this process in bytes, from
// /proc/self/status (Linux).
func readRSS(tb testing.TB) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Skipf("no /proc/self/status: %v", err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				tb.Fatalf("VmRSS: %v", err)
			}
			return kb * 1024
		}
	}
	tb.Fatal("no VmRSS in /proc/self/status")
	return 0
}
