package graphtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MaxSubscriptionMinutes is how far ahead an Outlook resource's
// subscription may expire: 4,230 minutes (under three days).
const MaxSubscriptionMinutes = 4230

// Subscription is a change-notification subscription, as Graph keeps it.
type Subscription struct {
	ID                 string
	AppID              string
	Resource           string // e.g. "/users/room@contoso.com/events"
	Mailbox            string // lower-case address of the resource
	ChangeType         string // e.g. "created,updated,deleted"
	NotificationURL    string
	LifecycleURL       string
	ClientState        string
	ExpirationDateTime time.Time
}

// Subscriptions returns a copy of the live subscriptions.
func (s *Server) Subscriptions() []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Subscription, 0, len(s.subs))
	for _, sub := range s.subs {
		out = append(out, *sub)
	}
	return out
}

// ExpireSubscription makes a subscription expire now: it stops
// notifying, and renewing it fails with 404 as in Graph.
func (s *Server) ExpireSubscription(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.subs, id)
}

// Lifecycle sends a lifecycle notification ("missed",
// "reauthorizationRequired" or "subscriptionRemoved") for a subscription
// to its lifecycleNotificationUrl, as Graph does when it drops
// notifications, needs the app to renew, or removed the subscription
// (which it then forgets). It returns the endpoint's status.
func (s *Server) Lifecycle(id, event string) (int, error) {
	s.mu.Lock()
	sub := s.subs[id]
	if sub == nil {
		s.mu.Unlock()
		return 0, fmt.Errorf("graphtest: no subscription %s", id)
	}
	c := *sub
	if event == "subscriptionRemoved" {
		delete(s.subs, id)
	}
	s.mu.Unlock()
	if c.LifecycleURL == "" {
		return 0, fmt.Errorf("graphtest: subscription %s has no lifecycleNotificationUrl", id)
	}
	body := map[string]any{"value": []map[string]any{{
		"subscriptionId":                 c.ID,
		"subscriptionExpirationDateTime": c.ExpirationDateTime.UTC().Format(time.RFC3339),
		"tenantId":                       s.TenantID,
		"clientState":                    c.ClientState,
		"lifecycleEvent":                 event,
	}}}
	return s.post(c.LifecycleURL, body)
}

// Notify sends a change notification for a mailbox as Graph would, to
// every subscriber, with the given clientState instead of the
// subscription's when clientState is not "" (to test that a forged
// notification is refused). It returns the last endpoint status.
func (s *Server) Notify(address, changeType, eventID, clientState string) (int, error) {
	s.mu.Lock()
	var subs []Subscription
	for _, sub := range s.subs {
		if sub.Mailbox == strings.ToLower(address) {
			c := *sub
			if clientState != "" {
				c.ClientState = clientState
			}
			subs = append(subs, c)
		}
	}
	s.mu.Unlock()
	status, err := 0, error(nil)
	for _, sub := range subs {
		status, err = s.post(sub.NotificationURL, notification(s.TenantID, sub, changeType, eventID))
	}
	return status, err
}

func notification(tenant string, sub Subscription, changeType, eventID string) map[string]any {
	return map[string]any{"value": []map[string]any{{
		"subscriptionId":                 sub.ID,
		"subscriptionExpirationDateTime": sub.ExpirationDateTime.UTC().Format(time.RFC3339),
		"changeType":                     changeType,
		"resource":                       strings.TrimPrefix(sub.Resource, "/") + "/" + eventID,
		"resourceData": map[string]any{
			"@odata.type": "#Microsoft.Graph.Event",
			"@odata.id":   strings.TrimPrefix(sub.Resource, "/") + "/" + eventID,
			"id":          eventID,
		},
		"clientState": sub.ClientState,
		"tenantId":    tenant,
	}}}
}

// notifyLocked sends, after NotifyDelay and outside the lock, a
// notification to every live subscription on the mailbox's events.
func (s *Server) notifyLocked(mb *mailbox, changeType, eventID string) {
	now := s.now()
	key := strings.ToLower(mb.Address)
	for _, sub := range s.subs {
		if sub.Mailbox != key || !now.Before(sub.ExpirationDateTime) || !strings.Contains(sub.ChangeType, changeType) {
			continue
		}
		c := *sub
		go func() {
			if s.notifyDelay > 0 {
				time.Sleep(s.notifyDelay)
			}
			status, err := s.post(c.NotificationURL, notification(s.TenantID, c, changeType, eventID))
			s.mu.Lock()
			defer s.mu.Unlock()
			if err != nil || status/100 != 2 {
				s.stats.NotifyFailures++
				return
			}
			s.stats.Notifications++
		}()
	}
}

// post sends JSON to a subscriber's endpoint.
func (s *Server) post(u string, body any) (int, error) {
	raw, _ := json.Marshal(body)
	resp, err := s.notifier.Post(u, "application/json", bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// validate runs Graph's validation handshake: a POST to the URL with a
// validationToken query parameter, which must be echoed as text/plain
// with 200 within 10 seconds.
func (s *Server) validate(ctx context.Context, u string) error {
	s.mu.Lock()
	s.stats.Validations++
	s.mu.Unlock()
	token := fmt.Sprintf("Validation: Testing client application reachability for subscription Request-Id: %d", time.Now().UnixNano())
	target, err := url.Parse(u)
	if err != nil || (target.Scheme != "https" && target.Scheme != "http") || target.Host == "" {
		return fmt.Errorf("invalid notification URL %q", u)
	}
	q := target.Query()
	q.Set("validationToken", token)
	target.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := s.notifier.Do(req)
	if err != nil {
		return fmt.Errorf("the endpoint did not answer within 10 seconds or could not be reached")
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the endpoint answered %d", resp.StatusCode)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || string(got) != token {
		return fmt.Errorf("the endpoint did not echo the validation token as text/plain")
	}
	return nil
}

type subscriptionInput struct {
	ChangeType               string `json:"changeType"`
	NotificationURL          string `json:"notificationUrl"`
	LifecycleNotificationURL string `json:"lifecycleNotificationUrl"`
	Resource                 string `json:"resource"`
	ExpirationDateTime       string `json:"expirationDateTime"`
	ClientState              string `json:"clientState"`
}

// subscriptionOp answers POST /subscriptions, PATCH and DELETE
// /subscriptions/{id} and GET /subscriptions/{id}.
func (s *Server) subscriptionOp(r *http.Request, app *App, method string, rest []string, body []byte) reply {
	now := s.now()
	switch {
	case len(rest) == 0 && method == http.MethodPost:
		var in subscriptionInput
		if err := json.Unmarshal(body, &in); err != nil {
			return graphError(http.StatusBadRequest, "InvalidRequest", "Could not process subscription creation payload.")
		}
		exp, err := time.Parse(time.RFC3339Nano, in.ExpirationDateTime)
		if err != nil || !exp.After(now) {
			return graphError(http.StatusBadRequest, "ExtensionError", "Subscription expiration must be in the future.")
		}
		if exp.Sub(now) > MaxSubscriptionMinutes*time.Minute {
			return graphError(http.StatusBadRequest, "ExtensionError", fmt.Sprintf("Subscription expiration can only be %d minutes in the future.", MaxSubscriptionMinutes))
		}
		if len(in.ClientState) > 128 {
			return graphError(http.StatusBadRequest, "InvalidRequest", "clientState is longer than 128 characters.")
		}
		parts := strings.Split(strings.Trim(in.Resource, "/"), "/")
		if len(parts) != 3 || parts[0] != "users" || parts[2] != "events" {
			return graphError(http.StatusBadRequest, "InvalidRequest", "Resource '"+in.Resource+"' is not supported.")
		}
		if in.ChangeType == "" {
			return graphError(http.StatusBadRequest, "InvalidRequest", "changeType is required.")
		}
		address := strings.ToLower(parts[1])
		s.mu.Lock()
		mb := s.mailboxes[address]
		denied := s.denied[address]
		s.mu.Unlock()
		if mb == nil {
			return graphError(http.StatusNotFound, "ErrorInvalidUser", "The requested user '"+parts[1]+"' is invalid.")
		}
		if !app.ExchangeRBAC && !hasRole(app.Roles, "Calendars.ReadWrite") && !hasRole(app.Roles, "Calendars.Read") {
			return graphError(http.StatusForbidden, "ExtensionError", "Operation: Create; Exception: [Status Code: Forbidden; Reason: Access is denied. Check credentials and try again.]")
		}
		if denied {
			return graphError(http.StatusForbidden, "ExtensionError", "Operation: Create; Exception: [Status Code: Forbidden; Reason: Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.]")
		}
		if err := s.validate(r.Context(), in.NotificationURL); err != nil {
			return graphError(http.StatusBadRequest, "ValidationError", "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request: "+err.Error())
		}
		if in.LifecycleNotificationURL != "" {
			if err := s.validate(r.Context(), in.LifecycleNotificationURL); err != nil {
				return graphError(http.StatusBadRequest, "ValidationError", "Subscription validation request failed. Lifecycle notification endpoint must respond with 200 OK to validation request: "+err.Error())
			}
		}
		s.mu.Lock()
		s.nextSub++
		sub := &Subscription{
			ID: fmt.Sprintf("7f105c7d-2dc5-4530-97cd-%012d", s.nextSub), AppID: app.ClientID,
			Resource: in.Resource, Mailbox: address, ChangeType: in.ChangeType,
			NotificationURL: in.NotificationURL, LifecycleURL: in.LifecycleNotificationURL,
			ClientState: in.ClientState, ExpirationDateTime: exp.UTC(),
		}
		s.subs[sub.ID] = sub
		s.mu.Unlock()
		return reply{status: http.StatusCreated, body: subscriptionJSON(sub)}
	case len(rest) == 1:
		s.mu.Lock()
		defer s.mu.Unlock()
		sub := s.subs[rest[0]]
		if sub != nil && !now.Before(sub.ExpirationDateTime) {
			delete(s.subs, sub.ID)
			sub = nil
		}
		if sub == nil || sub.AppID != app.ClientID {
			return graphError(http.StatusNotFound, "ResourceNotFound", "The object was not found.")
		}
		switch method {
		case http.MethodGet:
			return reply{status: http.StatusOK, body: subscriptionJSON(sub)}
		case http.MethodDelete:
			delete(s.subs, sub.ID)
			return reply{status: http.StatusNoContent}
		case http.MethodPatch:
			var in subscriptionInput
			if err := json.Unmarshal(body, &in); err != nil {
				return graphError(http.StatusBadRequest, "InvalidRequest", "Could not process subscription update payload.")
			}
			exp, err := time.Parse(time.RFC3339Nano, in.ExpirationDateTime)
			if err != nil || !exp.After(now) || exp.Sub(now) > MaxSubscriptionMinutes*time.Minute {
				return graphError(http.StatusBadRequest, "ExtensionError", fmt.Sprintf("Subscription expiration can only be %d minutes in the future.", MaxSubscriptionMinutes))
			}
			sub.ExpirationDateTime = exp.UTC()
			return reply{status: http.StatusOK, body: subscriptionJSON(sub)}
		}
	}
	return graphError(http.StatusMethodNotAllowed, "InvalidRequest", "The OData request is not supported.")
}

func subscriptionJSON(sub *Subscription) map[string]any {
	return map[string]any{
		"@odata.context":           "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
		"id":                       sub.ID,
		"resource":                 sub.Resource,
		"changeType":               sub.ChangeType,
		"notificationUrl":          sub.NotificationURL,
		"lifecycleNotificationUrl": nilIfEmpty(sub.LifecycleURL),
		"expirationDateTime":       sub.ExpirationDateTime.Format("2006-01-02T15:04:05.0000000Z"),
		"clientState":              nil, // Graph never returns it
		"applicationId":            sub.AppID,
	}
}

// enterMailbox counts an operation in flight against a mailbox; false
// when the mailbox is at its concurrency limit.
func (s *Server) enterMailbox(app, address string) (release func(), ok bool) {
	limit := s.throttle.MailboxConcurrent
	key := app + "|" + strings.ToLower(address)
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit > 0 && s.mbFlight[key] >= limit {
		return nil, false
	}
	s.mbFlight[key]++
	s.stats.MaxMailboxInFlight = max(s.stats.MaxMailboxInFlight, s.mbFlight[key])
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.mbFlight[key]--
		if s.mbFlight[key] == 0 {
			delete(s.mbFlight, key)
		}
	}, true
}
