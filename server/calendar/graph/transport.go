package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// transport sits under the SDK's middleware, right above the network, and
// does what Graph asks of every client:
//
//   - an adaptive number of requests in flight (limiter): more while
//     answers are fast and clean, half as many after a 429 or 503, and
//     none until a top-level Retry-After has passed (a $batch counts once
//     here);
//   - retries of 429, 503 and 504 and of timed-out attempts, after the
//     Retry-After Graph sent or else after an exponential backoff with
//     jitter (so that many servers do not retry in step);
//   - a timeout per attempt, so that a hung connection costs one retry
//     instead of the whole poll.
//
// It replaces the SDK's own retry handler, which has no jitter and waits
// through any Retry-After, however long. Every request Lintel sends is safe
// to repeat: reads, PATCH, and event creation with a transactionId.
type transport struct {
	base           http.RoundTripper
	limit          *limiter
	maxRetries     int
	retryBase      time.Duration
	maxWait        time.Duration
	attemptTimeout time.Duration
	log            *slog.Logger
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	// Keep the body so that a retry can send it again.
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		r := req.Clone(req.Context())
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		resp, err := t.once(r)
		timedOut := err != nil && req.Context().Err() == nil && errors.Is(err, context.DeadlineExceeded)
		if !timedOut && (err != nil || !retryableStatus(resp.StatusCode)) {
			return keepRefusal(req, resp), err
		}
		wait := backoff(t.retryBase, attempt)
		if resp != nil {
			if ra, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
				wait = ra
			}
		}
		if attempt >= t.maxRetries || wait > t.maxWait {
			// Give the answer back: the caller reports it, with RetryAfter.
			return keepRefusal(req, resp), err
		}
		status := 0
		if resp != nil {
			status = resp.StatusCode
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		t.log.Debug("graph: retrying", "method", req.Method, "path", req.URL.Path,
			"status", status, "timeout", timedOut, "attempt", attempt+1, "wait", wait)
		if err := sleepCtx(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

// once sends one attempt within a slot. The slot and the attempt's timeout
// are released when the response body is closed or read to the end.
func (t *transport) once(req *http.Request) (*http.Response, error) {
	if err := t.limit.acquire(req.Context()); err != nil {
		return nil, err
	}
	started := time.Now()
	ctx, cancel := context.WithTimeout(req.Context(), t.attemptTimeout)
	var once sync.Once
	outcome := answerClean
	done := func() {
		once.Do(func() {
			cancel()
			t.limit.release(outcome, time.Since(started))
		})
	}
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		outcome = answerFailed
		done()
		return nil, err
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		outcome = answerThrottled
		ra, _ := retryAfter(resp.Header.Get("Retry-After"))
		t.limit.throttled(ra)
	} else if resp.StatusCode >= 500 {
		outcome = answerFailed
	}
	resp.Body = &doneBody{ReadCloser: resp.Body, done: done}
	return resp, nil
}

type doneBody struct {
	io.ReadCloser
	done func()
}

func (b *doneBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.done()
	}
	return n, err
}

func (b *doneBody) Close() error {
	err := b.ReadCloser.Close()
	b.done()
	return err
}

// refusal is Graph's own error for a request it refused as a whole. The
// SDK's $batch helper has no error mapping, so it reports a refused $batch
// as "no error factory is registered for this code" and drops the body;
// batch puts a refusal in the request's context, and the transport fills
// it from the answer, so the admin reads Graph's code and message instead.
type refusal struct {
	mu  sync.Mutex
	set bool
	g   graphErr
}

type refusalKey struct{}

// withRefusal returns a context whose requests record a refused answer.
func withRefusal(ctx context.Context) (context.Context, *refusal) {
	r := &refusal{}
	return context.WithValue(ctx, refusalKey{}, r), r
}

// get returns the recorded refusal, if any.
func (r *refusal) get() (graphErr, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.g, r.set
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// keepRefusal records an error answer's OData error in the request's
// refusal, when it has one, and leaves the body readable for the SDK.
func keepRefusal(req *http.Request, resp *http.Response) *http.Response {
	if resp == nil || resp.StatusCode < 400 {
		return resp
	}
	ref, ok := req.Context().Value(refusalKey{}).(*refusal)
	if !ok {
		return resp
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	g := graphErr{status: resp.StatusCode, requestID: resp.Header.Get("request-id")}
	g.retryAfter, _ = retryAfter(resp.Header.Get("Retry-After"))
	var e struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil {
		g.code, g.msg = e.Error.Code, e.Error.Message
		if id := e.Error.InnerError.RequestID; id != "" {
			g.requestID = id
		}
	}
	if g.msg == "" {
		g.msg = strings.TrimSpace(string(body[:min(len(body), 200)]))
	}
	ref.mu.Lock()
	ref.g, ref.set = g, true
	ref.mu.Unlock()
	return resp
}

func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout
}

// retryAfter parses a Retry-After header: seconds (what Graph sends) or an
// HTTP date.
func retryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t)), true
	}
	return 0, false
}

// backoff is base·2^attempt, capped at a minute, with jitter: a uniformly
// random wait between half and all of it.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base << min(attempt, 6)
	d = min(d, time.Minute)
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
