package graph

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	gosync "sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/lintelhq/lintel/server/calendar"
)

// maxSubscriptionLifetime is Graph's limit for Outlook resources: 4,230
// minutes.
const maxSubscriptionLifetime = 4230 * time.Minute

// subscriptionChanges are the changes to a room's events that matter.
const subscriptionChanges = "created,updated,deleted"

var _ calendar.Subscriber = (*Provider)(nil)

// MaxSubscriptionLifetime implements calendar.Subscriber.
func (p *Provider) MaxSubscriptionLifetime() time.Duration { return maxSubscriptionLifetime }

// op is one request of a batch of subscription calls.
type op struct {
	key  string // room or subscription id
	room string // for error messages
	info func(ctx context.Context) (*abs.RequestInformation, error)
}

// opResult is the answer to one op.
type opResult struct {
	status int
	sub    models.Subscriptionable
	err    error
}

// Subscribe implements calendar.Subscriber: subscriptions on
// /users/{room}/events, 20 per $batch.
func (p *Provider) Subscribe(ctx context.Context, reqs []calendar.SubscribeRequest) map[string]calendar.Subscription {
	ops := make([]op, 0, len(reqs))
	for _, r := range reqs {
		ops = append(ops, op{key: r.Room, room: r.Room, info: func(ctx context.Context) (*abs.RequestInformation, error) {
			s := models.NewSubscription()
			change, resource := subscriptionChanges, "/users/"+r.Room+"/events"
			exp := r.Expires.UTC()
			s.SetChangeType(&change)
			s.SetResource(&resource)
			s.SetNotificationUrl(&r.NotificationURL)
			if r.LifecycleURL != "" {
				s.SetLifecycleNotificationUrl(&r.LifecycleURL)
			}
			s.SetClientState(&r.ClientState)
			s.SetExpirationDateTime(&exp)
			return client(p.adapter).Subscriptions().ToPostRequestInformation(ctx, s, nil)
		}})
	}
	out := map[string]calendar.Subscription{}
	for key, res := range p.runOps(ctx, ops) {
		out[key] = toSubscription(key, res)
	}
	return out
}

// Renew implements calendar.Subscriber.
func (p *Provider) Renew(ctx context.Context, ids []string, expires time.Time) map[string]calendar.Subscription {
	ops := make([]op, 0, len(ids))
	for _, id := range ids {
		ops = append(ops, op{key: id, info: func(ctx context.Context) (*abs.RequestInformation, error) {
			s := models.NewSubscription()
			exp := expires.UTC()
			s.SetExpirationDateTime(&exp)
			return client(p.adapter).Subscriptions().BySubscriptionId(id).ToPatchRequestInformation(ctx, s, nil)
		}})
	}
	out := map[string]calendar.Subscription{}
	for key, res := range p.runOps(ctx, ops) {
		s := toSubscription("", res)
		s.ID = key
		out[key] = s
	}
	return out
}

// Unsubscribe implements calendar.Subscriber.
func (p *Provider) Unsubscribe(ctx context.Context, ids []string) map[string]error {
	ops := make([]op, 0, len(ids))
	for _, id := range ids {
		ops = append(ops, op{key: id, info: func(ctx context.Context) (*abs.RequestInformation, error) {
			return client(p.adapter).Subscriptions().BySubscriptionId(id).ToDeleteRequestInformation(ctx, nil)
		}})
	}
	out := map[string]error{}
	for key, res := range p.runOps(ctx, ops) {
		if res.err != nil && res.status != http.StatusNotFound {
			out[key] = res.err
		} else {
			out[key] = nil
		}
	}
	return out
}

func toSubscription(room string, res opResult) calendar.Subscription {
	s := calendar.Subscription{Room: room, Err: res.err}
	if res.err == nil && res.sub != nil {
		s.ID = deref(res.sub.GetId())
		if e := res.sub.GetExpirationDateTime(); e != nil {
			s.Expires = e.UTC()
		}
	}
	return s
}

// runOps sends ops in $batch requests of 20, in parallel within the
// transport's concurrency, and retries throttled items after Retry-After.
func (p *Provider) runOps(ctx context.Context, ops []op) map[string]opResult {
	out := make(map[string]opResult, len(ops))
	if len(ops) == 0 {
		return out
	}
	if _, err := p.accessToken(ctx); err != nil {
		for _, o := range ops {
			out[o.key] = opResult{err: err}
		}
		return out
	}
	pending := ops
	for attempt := 0; len(pending) > 0; attempt++ {
		var (
			mu    gosync.Mutex
			wg    gosync.WaitGroup
			retry []op
			wait  time.Duration
		)
		for chunk := range slices.Chunk(pending, batchSize) {
			wg.Go(func() {
				got := p.opBatch(ctx, chunk)
				mu.Lock()
				defer mu.Unlock()
				for _, o := range chunk {
					res := got[o.key]
					if ok, w := retryable(res.err, attempt, p.retryBase()); ok && attempt < p.maxRetries() && w <= p.maxRetryWait() && ctx.Err() == nil {
						retry = append(retry, o)
						wait = max(wait, w)
						continue
					}
					out[o.key] = res
				}
			})
		}
		wg.Wait()
		if len(retry) > 0 && sleepCtx(ctx, wait) != nil {
			for _, o := range retry {
				out[o.key] = opResult{err: fmt.Errorf("graph: %w", ctx.Err())}
			}
			return out
		}
		pending = retry
	}
	return out
}

// opBatch sends one $batch of ops.
func (p *Provider) opBatch(ctx context.Context, ops []op) map[string]opResult {
	out := make(map[string]opResult, len(ops))
	b := msgraphgocore.NewBatchRequest(p.adapter)
	ids := map[string]op{}
	for _, o := range ops {
		info, err := o.info(ctx)
		if err == nil {
			var item msgraphgocore.BatchItem
			if item, err = b.AddBatchRequestStep(*info); err == nil {
				ids[deref(item.GetId())] = o
				continue
			}
		}
		out[o.key] = opResult{err: fmt.Errorf("graph: %s: building the request: %w", o.key, err)}
	}
	if len(ids) == 0 {
		return out
	}
	sendCtx, ref := withRefusal(ctx)
	resp, err := b.Send(sendCtx, p.adapter)
	if err != nil {
		for _, o := range ids {
			out[o.key] = opResult{err: p.batchError(o.room, err, ref)}
		}
		return out
	}
	for id, o := range ids {
		item := resp.GetResponseById(id)
		if item == nil || item.GetStatus() == nil {
			out[o.key] = opResult{err: p.roomError(o.room, graphErr{status: http.StatusBadGateway, code: "MissingBatchItem", msg: "the $batch answer lacks this request"})}
			continue
		}
		status := int(*item.GetStatus())
		if status >= 400 {
			g := graphErr{status: status}
			for k, v := range item.GetHeaders() {
				if strings.EqualFold(k, "Retry-After") {
					g.retryAfter, _ = retryAfter(v)
				}
			}
			g.code, g.msg = itemError(item.GetBody())
			if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
				p.tr.limit.throttled(0)
			}
			out[o.key] = opResult{status: status, err: p.subscriptionError(o.room, g)}
			continue
		}
		res := opResult{status: status}
		if status != http.StatusNoContent {
			sub, err := msgraphgocore.GetBatchResponseById[models.Subscriptionable](resp, id, models.CreateSubscriptionFromDiscriminatorValue)
			if err != nil {
				res.err = fmt.Errorf("graph: %s: reading the subscription: %w", o.key, err)
			}
			res.sub = sub
		}
		out[o.key] = res
	}
	return out
}

// subscriptionError words a refused subscription call for the admin: the
// room falls back to polling meanwhile.
func (p *Provider) subscriptionError(room string, g graphErr) error {
	if g.code == "ValidationError" || strings.Contains(g.msg, "validation request failed") {
		return fmt.Errorf("graph: %w", &calendar.Error{Kind: calendar.ErrRefused, Room: room,
			Msg: fmt.Sprintf("Graph could not validate the notification URL (%d %s: %s); the room is polled meanwhile", g.status, g.code, strings.TrimSpace(g.msg)),
			Fix: "Make {public-url}/graph/notifications and /graph/lifecycle reachable from the internet over HTTPS with a publicly trusted certificate, answering within 3 seconds (a reverse proxy must pass POST requests and their query string through); see deploy/docs/microsoft365.md."})
	}
	err := p.roomError(room, g)
	if ce, ok := asCalendarError(err); ok && ce.Kind == calendar.ErrDenied {
		c := *ce
		c.Msg += "; change notifications are off for this room, which falls back to polling"
		return fmt.Errorf("graph: %w", &c)
	}
	return err
}
