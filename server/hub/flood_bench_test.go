package hub_test

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/hub"
)

// floodClientsEnv makes TestFloodClients act as the attacker of
// BenchmarkAnonymousFlood: "<url> <sockets> <addresses>".
const floodClientsEnv = "LINTEL_HUB_FLOOD_CLIENTS"

// BenchmarkAnonymousFlood is the review's attack: 20,000 sockets without a
// credential, each an unpaired panel showing a pairing code, from one
// address and from 2,000 (loopback has 127.0.0.0/8). It reports what the
// server holds at the end of the flood (held: sockets it kept open; heap,
// stack and RSS growth, in MB), and how long a paired panel then takes to
// connect and get its room's state (paired-ms): the reserve at work.
//
// "caps=off" raises the caps to show what each socket costs without them
// (10,000 sockets; per-socket figures are the MB over 10,000).
//
// The attacker runs in a child process (this test binary, as
// TestFloodClients) so that the figures are the server's alone. One
// iteration is enough: go test -run '^$' -bench AnonymousFlood -benchtime 1x.
func BenchmarkAnonymousFlood(b *testing.B) {
	for _, bc := range []struct {
		name                 string
		sockets, addrs, caps int
	}{
		{"addresses=1", 20_000, 1, 0},
		{"addresses=2000", 20_000, 2000, 0},
		// Without caps, 10,000 sockets: 20,000 would reach this
		// process's file limit, as they did the review's server.
		{"addresses=2000/caps=off", 10_000, 2000, 20_000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				benchmarkFlood(b, bc.sockets, bc.addrs, bc.caps)
			}
		})
	}
}

func benchmarkFlood(b *testing.B, sockets, addrs, caps int) {
	raiseFileLimit(b, sockets/2)
	states := newLastStates()
	states.set("bench", benchState())
	opts := hub.Opts{Auth: benchAuth{}, Pairer: codePairer{}, States: states, Logger: slog.New(slog.DiscardHandler)}
	if caps > 0 {
		opts.MaxConns, opts.MaxUnpaired, opts.MaxUnpairedPerAddr = caps, caps, caps
	}
	h := hub.New(opts)
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"

	before := serverSample()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFloodClients$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %d", floodClientsEnv, url, sockets, addrs))
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
		stdin.Close() // the child closes its sockets and exits
		cmd.Wait()
	}()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		b.Fatalf("the flood did not finish: %v", lines.Err())
	}
	var open, refused int
	fmt.Sscanf(lines.Text(), "done %d %d", &open, &refused)
	time.Sleep(time.Second) // the last upgrades and pairings
	after := serverSample()

	// A paired panel connects and gets its room's state from the reserve.
	start := time.Now()
	c, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Authorization": {"Bearer paired"}})
	if err != nil {
		b.Fatalf("a paired panel could not connect during the flood: %v", err)
	}
	defer c.Close()
	hello(b, c)
	readState(b, c)
	paired := time.Since(start)

	b.ReportMetric(float64(open), "held")
	b.ReportMetric(float64(refused), "refused")
	b.ReportMetric(float64(after.heap-before.heap)/(1<<20), "heap-MB")
	b.ReportMetric(float64(after.stack-before.stack)/(1<<20), "stack-MB")
	b.ReportMetric(float64(after.rss-before.rss)/(1<<20), "rss-MB")
	b.ReportMetric(float64(after.goroutines-before.goroutines), "goroutines")
	b.ReportMetric(float64(paired.Microseconds())/1000, "paired-ms")
}

type procSample struct {
	heap, stack, rss uint64
	goroutines       int
}

func serverSample() procSample {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := procSample{heap: ms.HeapAlloc, stack: ms.StackInuse, goroutines: runtime.NumGoroutine()}
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for line := range strings.Lines(string(status)) {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				s.rss = kb << 10
			}
		}
	}
	return s
}

// TestFloodClients is not a test: it is the attacker of
// BenchmarkAnonymousFlood, run in a child process. It opens the sockets
// (without a credential, from the given number of loopback addresses),
// says hello on each and keeps every one the server takes, prints "done
// <held> <refused>", and closes them when its stdin closes.
func TestFloodClients(t *testing.T) {
	spec := os.Getenv(floodClientsEnv)
	if spec == "" {
		t.Skip("helper process for BenchmarkAnonymousFlood")
	}
	f := strings.Fields(spec)
	url := f[0]
	n, _ := strconv.Atoi(f[1])
	addrs, _ := strconv.Atoi(f[2])
	raiseFileLimit(t, n)

	hello, _ := proto.Encode(proto.Message{Type: proto.TypeHello, Hello: &proto.Hello{Protocol: proto.Version, Firmware: "flood"}})
	var mu sync.Mutex
	var conns []*websocket.Conn
	var refused atomic.Int64
	work := make(chan int)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := range work {
				a := i % addrs
				ip := net.IPv4(127, 10, byte(a/250), byte(1+a%250))
				d := websocket.Dialer{
					NetDialContext:   (&net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}).DialContext,
					ReadBufferSize:   1024,
					WriteBufferSize:  1024,
					HandshakeTimeout: time.Minute,
				}
				c, resp, err := d.Dial(url, nil)
				if err != nil {
					if resp == nil {
						// Out of files: the server's limit was reached.
						refused.Add(1)
						continue
					}
					resp.Body.Close()
					refused.Add(1)
					continue
				}
				c.WriteMessage(websocket.TextMessage, hello)
				go func() {
					for {
						if _, _, err := c.ReadMessage(); err != nil {
							return
						}
					}
				}()
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	fmt.Printf("done %d %d\n", len(conns), refused.Load())
	bufio.NewReader(os.Stdin).ReadString('\n')
	for _, c := range conns {
		c.Close()
	}
}
