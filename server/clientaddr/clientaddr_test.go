package clientaddr

import (
	"net/http"
	"net/netip"
	"testing"
)

// The client address is read from forwarding headers only when the peer
// is a trusted proxy, and then it is the rightmost hop that is not one:
// what a client writes into the headers itself never counts.
func TestAddr(t *testing.T) {
	r, err := Parse("127.0.0.1/32, 10.0.0.0/8,::1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, peer string
		headers    map[string][]string
		want       string
	}{
		{"no proxy", "203.0.113.9:5000", nil, "203.0.113.9"},
		{"untrusted peer's header ignored", "203.0.113.9:5000", map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "203.0.113.9"},
		{"trusted proxy", "127.0.0.1:5000", map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1"},
		{"forged hop left of the real one", "127.0.0.1:5000", map[string][]string{"X-Forwarded-For": {"1.1.1.1, 198.51.100.1"}}, "198.51.100.1"},
		{"chain of trusted proxies", "127.0.0.1:5000", map[string][]string{"X-Forwarded-For": {"198.51.100.1, 10.1.2.3", "10.0.0.7"}}, "198.51.100.1"},
		{"only trusted hops", "127.0.0.1:5000", map[string][]string{"X-Forwarded-For": {"10.0.0.1, 10.0.0.2"}}, "10.0.0.1"},
		{"trusted proxy without header", "127.0.0.1:5000", nil, "127.0.0.1"},
		{"garbage from a trusted proxy", "127.0.0.1:5000", map[string][]string{"X-Forwarded-For": {"unknown"}}, "127.0.0.1"},
		{"garbage left of the client", "127.0.0.1:5000", map[string][]string{"X-Forwarded-For": {"<script>, 198.51.100.1"}}, "198.51.100.1"},
		{"port in hop", "127.0.0.1:5000", map[string][]string{"X-Forwarded-For": {"198.51.100.1:4711"}}, "198.51.100.1"},
		{"IPv6 peer", "[::1]:5000", map[string][]string{"X-Forwarded-For": {"2001:db8::17"}}, "2001:db8::17"},
		{"IPv4-mapped peer", "[::ffff:127.0.0.1]:5000", map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1"},
		{"Forwarded", "127.0.0.1:5000", map[string][]string{"Forwarded": {`for=1.1.1.1, for="[2001:db8:cafe::17]:4711";proto=https`}}, "2001:db8:cafe::17"},
		{"Forwarded obfuscated", "127.0.0.1:5000", map[string][]string{"Forwarded": {`for=_hidden`}}, "127.0.0.1"},
		{"X-Forwarded-For wins over Forwarded", "127.0.0.1:5000", map[string][]string{"Forwarded": {"for=1.1.1.1"}, "X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := &http.Request{RemoteAddr: c.peer, Header: http.Header(c.headers)}
			if got := r.Addr(req); got != c.want {
				t.Errorf("Addr = %q, want %q", got, c.want)
			}
		})
	}
	// Without --trusted-proxy nothing is trusted.
	var none *Resolver
	req := &http.Request{RemoteAddr: "127.0.0.1:1", Header: http.Header{"X-Forwarded-For": {"198.51.100.1"}}}
	if got := none.Addr(req); got != "127.0.0.1" {
		t.Errorf("no trusted proxy: %q", got)
	}
}

func TestParse(t *testing.T) {
	if r, err := Parse(""); r != nil || err != nil {
		t.Errorf("empty: %v %v", r, err)
	}
	r, err := Parse("192.168.1.7, fd00::/8, ::ffff:10.0.0.0/104")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.String(); got != "192.168.1.7/32,fd00::/8,10.0.0.0/8" {
		t.Errorf("String = %q", got)
	}
	if !r.Trusted(netip.MustParseAddr("10.9.8.7")) || r.Trusted(netip.MustParseAddr("11.0.0.1")) {
		t.Error("10.0.0.0/8 given as IPv4-mapped")
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "10.0.0.1/"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// FuzzAddr: forwarding headers are outside input; whatever they hold, the
// answer is the peer or a valid address.
func FuzzAddr(f *testing.F) {
	f.Add("198.51.100.1, 10.0.0.1", `for="[2001:db8::1]:80";by=x`)
	f.Add("", "for=unknown, for=1.2.3.4:5")
	r, _ := Parse("127.0.0.0/8,10.0.0.0/8")
	f.Fuzz(func(t *testing.T, xff, fwd string) {
		h := http.Header{}
		if xff != "" {
			h.Set("X-Forwarded-For", xff)
		}
		h.Set("Forwarded", fwd)
		got := r.Addr(&http.Request{RemoteAddr: "127.0.0.1:9", Header: h})
		if _, err := netip.ParseAddr(got); err != nil {
			t.Fatalf("Addr = %q, not an address", got)
		}
	})
}
