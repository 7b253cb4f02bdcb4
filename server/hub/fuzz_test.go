package hub

import (
	"net"
	"strings"
	"testing"
)

// FuzzAddrKey: the per-address cap keys connections by the address a
// request comes from (from the network, or forwarded by a proxy). Any
// string gives a key, and the ports of one IPv4 address, or the addresses
// of one IPv6 /64, share it.
func FuzzAddrKey(f *testing.F) {
	for _, s := range []string{"127.0.0.1:5000", "[2001:db8::1]:443", "2001:db8::1", "pipe:1", "", "[::ffff:10.0.0.1]:1", "garbage"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		key := addrKey(addr)
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return
		}
		ip := net.ParseIP(host)
		if ip == nil {
			return
		}
		if again := addrKey(net.JoinHostPort(host, "1")); again != key {
			t.Fatalf("%q and port 1 give %q and %q", addr, key, again)
		}
		if ip.To4() == nil && !strings.HasSuffix(key, "/64") {
			t.Fatalf("IPv6 %q keyed %q, not by its /64", addr, key)
		}
	})
}
