package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/lintelhq/lintel/server/connector"
	"github.com/lintelhq/lintel/server/sync"
)

// notifyDeadline is how fast Graph wants its notification URL to answer.
const notifyDeadline = 3 * time.Second

// notificationCheck is Test all's and doctor's check of Microsoft 365
// change notifications: whether they are on, whether the public URL
// answers Graph's validation handshake (from here, in time), and every
// room's subscription: active, expiring or failing with the fix; failing
// rooms are polled meanwhile.
func notificationCheck(subs *sync.Subscriptions, client *http.Client) func(ctx context.Context) connector.Check {
	return func(ctx context.Context) connector.Check {
		publicURL := subs.PublicURL()
		ch := connector.Check{Name: "change notifications"}
		if !subs.Enabled() {
			ch.Level = "info"
			ch.Detail = "off: no public URL, so every room is polled (a change reaches the door within the poll interval)"
			ch.Fix = "Give lintel-server --public-url https://<name Microsoft 365 reaches> and make /graph/notifications and /graph/lifecycle reachable from the internet (deploy/docs/microsoft365.md); changes then reach the door within seconds."
			return ch
		}
		if err := probeNotifyURL(ctx, client, publicURL); err != nil {
			ch.Level = "fail"
			ch.Detail = "the notification URL failed Lintel's own validation handshake: " + err.Error() + "; rooms are polled"
			ch.Fix = "Make " + strings.TrimSuffix(publicURL, "/") + sync.NotificationsPath + " reachable from the internet over HTTPS with a publicly trusted certificate; a reverse proxy must pass POST and the query string through and answer within 3 seconds (deploy/docs/microsoft365.md)."
			return ch
		}
		counts := map[string]int{}
		var failing []sync.SubscriptionStatus
		for _, st := range subs.Status() {
			counts[st.State]++
			if st.State == "failing" {
				failing = append(failing, st)
			}
		}
		received, rejected := subs.Counts()
		ch.Level = "ok"
		ch.Detail = fmt.Sprintf("%d rooms active, %d expiring, %d failing, %d not yet subscribed; %d notifications received, %d rejected",
			counts["active"], counts["expiring"], counts["failing"], counts["none"], received, rejected)
		if len(failing) > 0 {
			ch.Level = "warn"
			var rooms []string
			for i, f := range failing {
				if i == 5 {
					rooms = append(rooms, fmt.Sprintf("and %d more", len(failing)-5))
					break
				}
				rooms = append(rooms, f.Room+" ("+f.Detail+")")
			}
			ch.Detail += "; failing rooms fall back to polling: " + strings.Join(rooms, "; ")
			ch.Fix = failing[0].Fix
		}
		return ch
	}
}

// probeNotifyURL sends Graph's validation handshake to the public URL
// from the server itself: it proves the URL, the proxy and the answer
// time, though not that the internet reaches them (Graph's own
// validation, when subscriptions are created, does).
func probeNotifyURL(ctx context.Context, client *http.Client, publicURL string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	const token = "lintel-doctor-validation"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(publicURL, "/")+sync.NotificationsPath+"?validationToken="+token, nil)
	if err != nil {
		return fmt.Errorf("the public URL %q is not a URL: %w", publicURL, err)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("no answer from %s (%v): the URL is not reachable from this server", req.URL.Host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	took := time.Since(start)
	switch {
	case resp.StatusCode != http.StatusOK || string(body) != token:
		return fmt.Errorf("it answered %d without echoing the token: a proxy or another server answers there", resp.StatusCode)
	case took > notifyDeadline:
		return fmt.Errorf("it answered after %s: a proxy answers slower than Graph's 3 s", took.Round(time.Millisecond))
	}
	return nil
}
