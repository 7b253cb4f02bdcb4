package devices

import (
	"net"
	"testing"
)

// FuzzAddrKey: pairing codes are rate-limited by the address a panel
// connects from. Any string gives a key; the ports of one address share
// it.
func FuzzAddrKey(f *testing.F) {
	for _, s := range []string{"198.51.100.7:1024", "[2001:db8::1]:443", "pipe:1", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		key := addrKey(addr)
		if host, _, err := net.SplitHostPort(addr); err == nil && net.ParseIP(host) != nil {
			if again := addrKey(net.JoinHostPort(host, "9")); again != key {
				t.Fatalf("%q and port 9 give %q and %q", addr, key, again)
			}
		}
	})
}
