package loadtest

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	lat = append(lat, -1, -1) // two failures
	s := summarize(lat)
	want := Stats{N: 100, Failed: 2, P50: 50 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if s != want {
		t.Errorf("summarize = %+v, want %+v", s, want)
	}
	if s := summarize([]time.Duration{7, -1}); s.N != 1 || s.P50 != 7 || s.P99 != 7 || s.Failed != 1 {
		t.Errorf("one sample: %+v", s)
	}
	if s := summarize(nil); s != (Stats{}) {
		t.Errorf("no samples: %+v", s)
	}
}

func TestRunRefusesWhatItMustNotDo(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts Opts
		want string
	}{
		{"not loopback", Opts{Server: "http://192.0.2.1:8080", Token: "t", Panels: 1}, "not a loopback address"},
		{"no token", Opts{Server: "http://127.0.0.1:1"}, "API token"},
		{"too many panels", Opts{Server: "http://127.0.0.1:1", Token: "t", Panels: MaxPanels + 1}, "panels must be"},
		{"more rooms than panels", Opts{Server: "http://127.0.0.1:1", Token: "t", Panels: 2, Rooms: 3}, "rooms must be"},
		{"not a URL", Opts{Server: "127.0.0.1:8080", Token: "t"}, "not an http://"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(ctx, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestCommandFlags(t *testing.T) {
	noEnv := func(string) string { return "" }
	var out, errOut bytes.Buffer
	if err := Command(context.Background(), []string{"-h"}, &out, &errOut, noEnv); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
	if !strings.Contains(errOut.String(), "--panels") && !strings.Contains(errOut.String(), "-panels") {
		t.Errorf("-h does not list the flags:\n%s", errOut.String())
	}
	if err := Command(context.Background(), []string{"--panels", "10"}, &out, &errOut, noEnv); err == nil || !strings.Contains(err.Error(), "API token") {
		t.Errorf("without a token: %v", err)
	}
	if err := Command(context.Background(), []string{"extra"}, &out, &errOut, noEnv); err == nil || !strings.Contains(err.Error(), "unexpected") {
		t.Errorf("extra argument: %v", err)
	}
}
