package deliveries

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"
)

// checkReceiverURL refuses what is not an absolute http(s) URL, and, unless
// allowPrivate, a host that is or resolves to a loopback, private,
// link-local or unspecified address (no server-side request forgery).
func checkReceiverURL(ctx context.Context, raw string, allowPrivate bool) (code, msg string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "invalid_value", "url must be an absolute http or https URL without credentials"
	}
	if allowPrivate {
		return "", ""
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil || len(ips) == 0 {
			return CodeReceiverNotPublic, fmt.Sprintf("the receiver host %q does not resolve", host)
		}
		addrs = ips
	}
	for _, a := range addrs {
		if !public(a) {
			return CodeReceiverNotPublic, fmt.Sprintf("the receiver host %q is a loopback, private or link-local address", host)
		}
	}
	return "", ""
}

func public(a netip.Addr) bool {
	a = a.Unmap()
	return !(a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(a)) // carrier-grade NAT
}

// guardDial refuses, at connect time, an address that is not public: a
// name that resolved to a public address when the subscription was made
// may resolve to a private one later (DNS rebinding).
func guardDial(allowPrivate bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if allowPrivate {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil || !public(ap.Addr()) {
			return fmt.Errorf("deliveries: refusing to connect to non-public address %s", address)
		}
		return nil
	}
}
