// Package clientaddr tells the address a request comes from. Behind a
// reverse proxy every request comes from the proxy, so the client's
// address is read from the headers the proxy adds: X-Forwarded-For (or,
// without it, Forwarded), but only when the direct peer is one of the
// trusted proxies, and then the rightmost hop that is not a trusted proxy.
// Anything left of that hop was written by the client and may be forged.
package clientaddr

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver takes the client address from forwarding headers of trusted
// proxies. The nil *Resolver trusts no proxy: the address is the peer's.
type Resolver struct {
	trusted []netip.Prefix
}

// Parse reads a comma-separated list of CIDRs (or single addresses), such
// as "127.0.0.1/32,10.0.0.0/8,::1". An empty list trusts no proxy (nil).
func Parse(list string) (*Resolver, error) {
	var r Resolver
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("clientaddr: %q is not an address or CIDR such as 10.0.0.0/8", s)
			}
			a = a.Unmap()
			r.trusted = append(r.trusted, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("clientaddr: %q is not a CIDR such as 10.0.0.0/8", s)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		r.trusted = append(r.trusted, p.Masked())
	}
	if len(r.trusted) == 0 {
		return nil, nil
	}
	return &r, nil
}

// String lists the trusted CIDRs.
func (r *Resolver) String() string {
	if r == nil {
		return ""
	}
	s := make([]string, len(r.trusted))
	for i, p := range r.trusted {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// Trusted reports whether a is a trusted proxy's address.
func (r *Resolver) Trusted(a netip.Addr) bool {
	if r == nil || !a.IsValid() {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Addr returns the client's address (without a port) of a request.
func (r *Resolver) Addr(req *http.Request) string {
	peer := Peer(req)
	a, err := netip.ParseAddr(peer)
	if err != nil || !r.Trusted(a) {
		return peer
	}
	hops := forwardedFor(req.Header)
	// From the right: each hop was added by the proxy on its right; the
	// first one that is not a trusted proxy is the client.
	last := a
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(hops[i])
		if err != nil {
			// A trusted proxy wrote something that is not an address
			// ("unknown", an obfuscated name): the client is not known
			// better than the last trusted hop.
			return last.Unmap().String()
		}
		h = h.Unmap().WithZone("")
		if !r.Trusted(h) {
			return h.String()
		}
		last = h
	}
	return last.Unmap().String()
}

// Peer is the direct peer's address, without its port.
func Peer(req *http.Request) string {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return req.RemoteAddr
	}
	return host
}

// forwardedFor lists the hops of X-Forwarded-For, left to right, or of
// Forwarded's for= parameters when there is no X-Forwarded-For. Several
// header lines are one list, in order.
func forwardedFor(h http.Header) []string {
	var hops []string
	if xff := h.Values("X-Forwarded-For"); len(xff) > 0 {
		for _, line := range xff {
			for _, hop := range strings.Split(line, ",") {
				hops = append(hops, stripPort(strings.TrimSpace(hop)))
			}
		}
		return hops
	}
	for _, line := range h.Values("Forwarded") {
		for _, elem := range strings.Split(line, ",") {
			hop := "unknown" // an element without for= is a hop not known
			for _, pair := range strings.Split(elem, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(k, "for") {
					hop = stripPort(strings.Trim(v, `"`))
				}
			}
			hops = append(hops, hop)
		}
	}
	return hops
}

// stripPort turns "192.0.2.1:4711", "[2001:db8::1]:4711" and
// "[2001:db8::1]" into the bare address.
func stripPort(s string) string {
	if strings.HasPrefix(s, "[") {
		if end := strings.IndexByte(s, ']'); end > 0 {
			return s[1:end]
		}
		return s
	}
	if strings.Count(s, ":") == 1 {
		host, _, err := net.SplitHostPort(s)
		if err == nil {
			return host
		}
	}
	return s
}

// Key is what per-address limits count by: an IPv4 address, or an IPv6
// address's /64 (one host usually has a whole /64).
func Key(addr string) string {
	a, err := netip.ParseAddr(stripPort(addr))
	if err != nil {
		return addr
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}
