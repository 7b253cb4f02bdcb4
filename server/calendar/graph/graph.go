// Package graph is Lintel's Microsoft 365 connector: it implements
// calendar.Provider on Microsoft Graph with app-only authentication
// (azidentity, client secret or certificate), for the global cloud, the US
// Government clouds, China, and custom endpoints.
//
// It is the only package that imports msgraph-sdk-go and azidentity, so
// that the panel and the rest of the server build without them.
//
// Reading follows Graph's guidance for many mailboxes: calendarView with
// $select and $top=50, Prefer: outlook.timezone="UTC" (so that times never
// need Windows time zone names) and IdType="ImmutableId" (so that event IDs
// survive moves), up to 20 rooms per JSON $batch, at most 4 requests in
// flight, @odata.nextLink followed to the end, and 429/503/504 retried
// after Retry-After (per request and per batch item) or an exponential
// backoff with jitter.
//
// Every failure is a *calendar.Error (wrapped as "graph: ...") whose Fix
// tells the admin what to do; Doctor turns them into a report.
package graph

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abs "github.com/microsoft/kiota-abstractions-go"
	azauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/lintelhq/lintel/server/calendar"
)

// Provider is the Microsoft 365 calendar.Provider. It is safe for
// concurrent use.
type Provider struct {
	cfg       Config // holds no secret
	log       *slog.Logger
	cred      azcore.TokenCredential
	adapter   *msgraphsdk.GraphRequestAdapter
	scope     string // "https://graph.microsoft.com/.default"
	authority string
	graphHost string
	graphBase string // e.g. "https://graph.microsoft.com/v1.0"
	teams     teamsCache
	tr        *transport
	// secrets are the secret and key password, kept only to redact them
	// from foreign error text. Provider has String and LogValue methods so
	// that printing it never shows them.
	secrets []string
}

var _ calendar.Provider = (*Provider)(nil)

// Defaults of the tuning fields of Config.
const (
	defaultMaxConcurrent  = 64
	startConcurrent       = 4
	defaultMaxRetries     = 4
	defaultRetryBase      = time.Second
	defaultMaxRetryWait   = 30 * time.Second
	defaultRequestTimeout = 30 * time.Second

	// batchSize is Graph's limit of requests per JSON $batch.
	batchSize = 20
	// pageSize is $top: the default page is 10 events, and every extra page
	// is one more request per room.
	pageSize = 50
	// secretWarning is how long before expiry a client secret is reported.
	secretWarning = 30 * 24 * time.Hour
)

// viewFields is the $select of calendarView: only what a panel needs.
var viewFields = []string{
	"subject", "organizer", "start", "end", "sensitivity", "showAs",
	"isCancelled", "isAllDay", "isOnlineMeeting", "onlineMeeting",
	"transactionId",  // so that a retried booking finds its own event
	"seriesMasterId", // occurrences of one series, for recurring no-shows
}

// New builds a Provider. It reads the credential from its file or
// environment variable but contacts nothing, so that a server starts even
// when Microsoft 365 is unreachable; Doctor and Check test the connection.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	authority, graphBase, err := cfg.endpoints()
	if err != nil {
		return nil, err
	}
	gu, err := url.Parse(graphBase)
	if err != nil {
		return nil, fmt.Errorf("graph: GraphBaseURL: %w", err)
	}
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{Transport: http.DefaultTransport}
	}
	base := httpClient.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	ceiling := cmp.Or(cfg.MaxConcurrent, defaultMaxConcurrent)
	if ht, ok := base.(*http.Transport); ok && ht.MaxIdleConnsPerHost < ceiling {
		// Keep a connection per request in flight: without HTTP/2 (a
		// proxy), the default of 2 idle connections would cost a TLS
		// handshake for nearly every request.
		ht = ht.Clone()
		ht.MaxIdleConnsPerHost = ceiling
		base = ht
	}
	p := &Provider{
		cfg:       cfg,
		log:       log,
		scope:     gu.Scheme + "://" + gu.Host + "/.default",
		authority: authority,
		graphHost: gu.Host,
		graphBase: graphBase,
		teams:     teamsCache{rooms: map[string]teamsEntry{}},
	}
	p.cfg.HTTPClient, p.cfg.Logger = nil, nil

	credOpts := azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: authority},
		Transport: httpClient,
	}
	// Instance discovery asks login.microsoftonline.com whether an
	// authority is genuine; it knows no custom authority.
	noDiscovery := cfg.cloud() == CloudCustom
	if cfg.CertificateFile != "" {
		pem, err := readFile(cfg.CertificateFile, "certificate")
		if err != nil {
			return nil, err
		}
		password, err := readSecret(cfg.CertificatePasswordFile, cfg.CertificatePasswordEnv, "certificate password")
		if err != nil {
			return nil, err
		}
		p.secrets = append(p.secrets, password)
		var pw []byte
		if password != "" {
			pw = []byte(password)
		}
		certs, key, err := azidentity.ParseCertificates(pem, pw)
		if err != nil {
			// The parse error names no key material; still redact.
			return nil, fmt.Errorf("graph: certificate %s: %s (a PEM file needs the certificate and its private key; a PFX may need CertificatePasswordFile)", cfg.CertificateFile, p.redact(err.Error()))
		}
		p.cred, err = azidentity.NewClientCertificateCredential(cfg.TenantID, cfg.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: credOpts, DisableInstanceDiscovery: noDiscovery})
		if err != nil {
			return nil, fmt.Errorf("graph: certificate credential: %s", p.redact(err.Error()))
		}
	} else {
		secret, err := readSecret(cfg.ClientSecretFile, cfg.ClientSecretEnv, "client secret")
		if err != nil {
			return nil, err
		}
		p.secrets = append(p.secrets, secret)
		p.cred, err = azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, secret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: credOpts, DisableInstanceDiscovery: noDiscovery})
		if err != nil {
			return nil, fmt.Errorf("graph: client secret credential: %s", p.redact(err.Error()))
		}
	}

	auth, err := azauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(p.cred, []string{p.scope}, []string{gu.Hostname()})
	if err != nil {
		return nil, fmt.Errorf("graph: authentication provider: %w", err)
	}
	t := &transport{
		base:           base,
		limit:          newLimiter(startConcurrent, ceiling),
		maxRetries:     cmp.Or(cfg.MaxRetries, defaultMaxRetries),
		retryBase:      cmp.Or(cfg.RetryBase, defaultRetryBase),
		maxWait:        cmp.Or(cfg.MaxRetryWait, defaultMaxRetryWait),
		attemptTimeout: cmp.Or(cfg.RequestTimeout, defaultRequestTimeout),
		log:            log,
	}
	p.tr = t
	graphClient := &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(t, middleware()...),
		// Graph redirects nothing Lintel calls; never follow a redirect
		// with the bearer token attached.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	p.adapter, err = msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, graphClient)
	if err != nil {
		return nil, fmt.Errorf("graph: request adapter: %w", err)
	}
	p.adapter.SetBaseUrl(graphBase)
	// Registers the serializers and enables the backing store on the
	// adapter, once; each call then makes its request builders from the
	// adapter (client).
	msgraphsdk.NewGraphServiceClient(p.adapter)

	if !cfg.SecretExpires.IsZero() && cfg.CertificateFile == "" {
		if left := cfg.SecretExpires.Sub(cfg.Now()); left < secretWarning {
			log.Warn("graph: the client secret expires soon; create a new one and update "+cfg.secretSource(),
				"expires", cfg.SecretExpires.Format(time.DateOnly), "days", int(left.Hours()/24))
		}
	}
	log.Debug("graph: configured", "config", p.cfg)
	return p, nil
}

// middleware is the SDK's default pipeline without its retry handler,
// which transport replaces.
func middleware() []khttp.Middleware {
	opts := msgraphsdk.GetDefaultClientOptions()
	var out []khttp.Middleware
	for _, m := range msgraphgocore.GetDefaultMiddlewaresWithOptions(&opts) {
		if _, isRetry := m.(*khttp.RetryHandler); isRetry {
			continue
		}
		out = append(out, m)
	}
	return out
}

func readFile(path, what string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("graph: reading the %s: %w", what, err)
	}
	return b, nil
}

// Name implements calendar.Provider.
func (p *Provider) Name() string { return "graph" }

// String describes the provider without secrets.
func (p *Provider) String() string { return "graph.Provider(" + p.cfg.String() + ")" }

// GoString keeps %#v from printing the fields, secrets included.
func (p *Provider) GoString() string { return p.String() }

// LogValue describes the provider without secrets.
func (p *Provider) LogValue() slog.Value { return p.cfg.LogValue() }

// preferHeaders asks Graph for UTC times and immutable IDs.
func preferHeaders() *abs.RequestHeaders {
	h := abs.NewRequestHeaders()
	h.Add("Prefer", `outlook.timezone="UTC"`)
	h.Add("Prefer", `IdType="ImmutableId"`)
	return h
}

// accessToken gets a token (from azidentity's cache when fresh), with the
// same options the SDK's authentication provider uses so that both share
// one cache entry.
func (p *Provider) accessToken(ctx context.Context) (string, error) {
	tok, err := p.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{p.scope}, EnableCAE: true})
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("graph: sign-in: %w", ctx.Err())
		}
		return "", p.transportError("", err)
	}
	return tok.Token, nil
}

// pageReq is one calendarView page to fetch: the first (next == "") or
// the one an @odata.nextLink points to.
type pageReq struct {
	room    string
	next    string
	attempt int // retries so far
}

// pageResult is the answer to one pageReq.
type pageResult struct {
	req    pageReq
	events []event
	next   string
	err    error
	// retry is set for 429/503/504: the item may be sent again after wait.
	retry bool
	wait  time.Duration
}

// event is a calendar.Event as read, for the diagnosis and for Events.
type event struct {
	calendar.Event
}

// roomRead is the result of reading one room.
type roomRead struct {
	events []event
	err    error
}

// Events implements calendar.Provider. Rooms are read 20 per $batch, the
// batches in parallel within the transport's limit of 4 in flight. Pages
// beyond the first, and items Graph throttled or could not serve, go into
// the next round of batches, after the longest Retry-After among them.
// A room whose read fails gets Err and no events: a partial day must not
// pass for a complete one. Err wraps a *calendar.Error: use errors.As.
func (p *Provider) Events(ctx context.Context, rooms []string, from, to time.Time) (map[string]calendar.RoomEvents, error) {
	reads, err := p.read(ctx, rooms, from, to)
	if err != nil {
		return nil, err
	}
	out := make(map[string]calendar.RoomEvents, len(reads))
	for room, rr := range reads {
		if rr.err != nil {
			out[room] = calendar.RoomEvents{Err: rr.err}
			continue
		}
		evs := make([]calendar.Event, len(rr.events))
		for i, e := range rr.events {
			evs[i] = e.Event
		}
		out[room] = calendar.RoomEvents{Events: evs}
	}
	return out, nil
}

// read does the work of Events, keeping the organizers' addresses.
func (p *Provider) read(ctx context.Context, rooms []string, from, to time.Time) (map[string]roomRead, error) {
	out := make(map[string]roomRead, len(rooms))
	if len(rooms) == 0 {
		return out, nil
	}
	if !to.After(from) {
		return nil, fmt.Errorf("graph: empty window %s to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	// A sign-in failure concerns every room: report it once.
	if _, err := p.accessToken(ctx); err != nil {
		return nil, err
	}

	events := map[string][]event{}
	errs := map[string]error{}
	var pending []pageReq
	for _, r := range rooms {
		if _, dup := events[r]; dup {
			continue
		}
		events[r] = nil
		if strings.TrimSpace(r) == "" || strings.ContainsAny(r, "/?#") {
			errs[r] = fmt.Errorf("graph: %q is not a mailbox address", r)
			continue
		}
		pending = append(pending, pageReq{room: r})
	}

	for len(pending) > 0 {
		results, err := p.batches(ctx, pending, from, to)
		if err != nil {
			return nil, err
		}
		var next []pageReq
		var wait time.Duration
		for _, res := range results {
			room := res.req.room
			switch {
			case res.err == nil:
				events[room] = append(events[room], res.events...)
				if res.next != "" {
					next = append(next, pageReq{room: room, next: res.next})
				}
			case res.retry && res.req.attempt < p.maxRetries() && res.wait <= p.maxRetryWait():
				wait = max(wait, res.wait)
				r := res.req
				r.attempt++
				next = append(next, r)
			default:
				errs[room] = res.err
			}
		}
		if wait > 0 {
			p.log.Debug("graph: waiting before retrying batch items", "wait", wait)
			if err := sleepCtx(ctx, wait); err != nil {
				return nil, fmt.Errorf("graph: %w", err)
			}
		}
		pending = next
	}

	for room, evs := range events {
		if err := errs[room]; err != nil {
			out[room] = roomRead{err: err}
			continue
		}
		slices.SortFunc(evs, func(a, b event) int {
			return cmp.Or(a.Start.Compare(b.Start), a.End.Compare(b.End), strings.Compare(a.ID, b.ID))
		})
		out[room] = roomRead{events: evs}
	}
	return out, nil
}

func (p *Provider) maxRetries() int { return cmp.Or(p.cfg.MaxRetries, defaultMaxRetries) }
func (p *Provider) maxRetryWait() time.Duration {
	return cmp.Or(p.cfg.MaxRetryWait, defaultMaxRetryWait)
}
func (p *Provider) retryBase() time.Duration { return cmp.Or(p.cfg.RetryBase, defaultRetryBase) }

// batches sends the page requests in $batch requests of up to 20, in
// parallel. It fails as a whole only for what concerns every room:
// cancellation and sign-in.
func (p *Provider) batches(ctx context.Context, reqs []pageReq, from, to time.Time) ([]pageResult, error) {
	var (
		mu      sync.Mutex
		results []pageResult
		fatal   error
		wg      sync.WaitGroup
	)
	for chunk := range slices.Chunk(reqs, batchSize) {
		wg.Go(func() {
			res, err := p.batch(ctx, chunk, from, to)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && fatal == nil {
				fatal = err
			}
			results = append(results, res...)
		})
	}
	wg.Wait()
	return results, fatal
}

// batch sends one $batch and sorts out its items.
func (p *Provider) batch(ctx context.Context, reqs []pageReq, from, to time.Time) ([]pageResult, error) {
	b := msgraphgocore.NewBatchRequest(p.adapter)
	ids := make(map[string]pageReq, len(reqs))
	results := make([]pageResult, 0, len(reqs))
	for _, r := range reqs {
		info, err := p.viewRequest(ctx, r, from, to)
		if err == nil {
			var item msgraphgocore.BatchItem
			if item, err = b.AddBatchRequestStep(*info); err == nil {
				ids[deref(item.GetId())] = r
				continue
			}
		}
		results = append(results, pageResult{req: r, err: fmt.Errorf("graph: %s: building the request: %w", r.room, err)})
	}
	if len(ids) == 0 {
		return results, nil
	}
	sendCtx, ref := withRefusal(ctx)
	resp, err := b.Send(sendCtx, p.adapter)
	if err != nil {
		if ctx.Err() != nil {
			return results, fmt.Errorf("graph: %w", ctx.Err())
		}
		// The whole $batch failed: each of its rooms gets the error, and
		// only a sign-in failure stops the other batches.
		for _, r := range ids {
			rerr := p.batchError(r.room, err, ref)
			if statusOf(rerr) == calendar.StatusAuthFailed {
				return results, rerr
			}
			res := pageResult{req: r, err: rerr}
			res.retry, res.wait = retryable(rerr, r.attempt, p.retryBase())
			results = append(results, res)
		}
		return results, nil
	}
	for id, r := range ids {
		results = append(results, p.itemResult(resp, id, r))
	}
	return results, nil
}

// retryable says whether an error deserves another round, and after how
// long: Graph's Retry-After when it sent one, else a backoff.
func retryable(err error, attempt int, base time.Duration) (bool, time.Duration) {
	ce, ok := asCalendarError(err)
	if !ok || (ce.Kind != calendar.ErrThrottled && ce.Kind != calendar.ErrUnavailable) {
		return false, 0
	}
	if ce.RetryAfter > 0 {
		return true, ce.RetryAfter
	}
	return true, backoff(base, attempt)
}

// itemResult reads one $batch item: events and nextLink, or its error.
func (p *Provider) itemResult(resp msgraphgocore.BatchResponse, id string, r pageReq) pageResult {
	item := resp.GetResponseById(id)
	if item == nil || item.GetStatus() == nil {
		return pageResult{req: r, err: p.roomError(r.room, graphErr{status: http.StatusBadGateway, code: "MissingBatchItem", msg: "the $batch answer lacks this room"}), retry: true, wait: backoff(p.retryBase(), r.attempt)}
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
		err := p.roomError(r.room, g)
		res := pageResult{req: r, err: err}
		res.retry, res.wait = retryable(err, r.attempt, p.retryBase())
		return res
	}
	page, err := msgraphgocore.GetBatchResponseById[models.EventCollectionResponseable](resp, id, models.CreateEventCollectionResponseFromDiscriminatorValue)
	if err != nil {
		return pageResult{req: r, err: fmt.Errorf("graph: %s: reading the calendar page: %w", r.room, err)}
	}
	res := pageResult{req: r, next: deref(page.GetOdataNextLink())}
	for _, e := range page.GetValue() {
		ev, keep, err := toEvent(e)
		if err != nil {
			return pageResult{req: r, err: fmt.Errorf("graph: %s: %w", r.room, err)}
		}
		if keep {
			ev.OrganizerAddress = organizerAddress(e)
			res.events = append(res.events, event{Event: ev})
		}
	}
	return res
}

// viewRequest builds the calendarView request for a page.
func (p *Provider) viewRequest(ctx context.Context, r pageReq, from, to time.Time) (*abs.RequestInformation, error) {
	view := client(p.adapter).Users().ByUserId(r.room).CalendarView()
	if r.next != "" {
		return view.WithUrl(r.next).ToGetRequestInformation(ctx, &users.ItemCalendarViewRequestBuilderGetRequestConfiguration{Headers: preferHeaders()})
	}
	start, end := from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339)
	top := int32(pageSize)
	return view.ToGetRequestInformation(ctx, &users.ItemCalendarViewRequestBuilderGetRequestConfiguration{
		Headers: preferHeaders(),
		QueryParameters: &users.ItemCalendarViewRequestBuilderGetQueryParameters{
			StartDateTime: &start,
			EndDateTime:   &end,
			Select:        viewFields,
			Top:           &top,
		},
	})
}

// toEvent maps a Graph event. keep is false for what a panel must not show
// as busy: cancelled events and events shown as free.
func toEvent(e models.Eventable) (ev calendar.Event, keep bool, err error) {
	if deref(e.GetIsCancelled()) {
		return ev, false, nil
	}
	if s := e.GetShowAs(); s != nil && *s == models.FREE_FREEBUSYSTATUS {
		return ev, false, nil
	}
	ev.ID = deref(e.GetId())
	ev.Subject = deref(e.GetSubject())
	if o := e.GetOrganizer(); o != nil && o.GetEmailAddress() != nil {
		ev.Organizer = deref(o.GetEmailAddress().GetName())
	}
	if ev.Start, err = graphTime(e.GetStart()); err != nil {
		return ev, false, fmt.Errorf("event %s start: %w", ev.ID, err)
	}
	if ev.End, err = graphTime(e.GetEnd()); err != nil {
		return ev, false, fmt.Errorf("event %s end: %w", ev.ID, err)
	}
	ev.AllDay = deref(e.GetIsAllDay())
	if s := e.GetSensitivity(); s != nil {
		ev.Private = *s == models.PRIVATE_SENSITIVITY || *s == models.CONFIDENTIAL_SENSITIVITY
	}
	ev.Online = deref(e.GetIsOnlineMeeting())
	ev.TransactionID = deref(e.GetTransactionId())
	ev.SeriesID = deref(e.GetSeriesMasterId())
	if om := e.GetOnlineMeeting(); om != nil {
		ev.JoinURL = deref(om.GetJoinUrl())
	}
	return ev, true, nil
}

// graphTime reads a dateTimeTimeZone. Lintel asks for UTC; an IANA zone is
// accepted too. A Windows zone name means the Prefer header was lost, and
// is reported rather than guessed.
func graphTime(d models.DateTimeTimeZoneable) (time.Time, error) {
	if d == nil || d.GetDateTime() == nil {
		return time.Time{}, fmt.Errorf("no date")
	}
	loc := time.UTC
	if tz := deref(d.GetTimeZone()); tz != "" && tz != "UTC" {
		var err error
		if loc, err = time.LoadLocation(tz); err != nil {
			return time.Time{}, fmt.Errorf("time zone %q is not UTC (was Prefer: outlook.timezone ignored?)", tz)
		}
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05.9999999", *d.GetDateTime(), loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q: %w", *d.GetDateTime(), err)
	}
	return t.UTC(), nil
}

// graphDateTime writes a time as Graph's dateTimeTimeZone in UTC.
func graphDateTime(t time.Time) models.DateTimeTimeZoneable {
	d := models.NewDateTimeTimeZone()
	s := t.UTC().Format("2006-01-02T15:04:05.0000000")
	utc := "UTC"
	d.SetDateTime(&s)
	d.SetTimeZone(&utc)
	return d
}

func organizerAddress(e models.Eventable) string {
	if o := e.GetOrganizer(); o != nil && o.GetEmailAddress() != nil {
		return deref(o.GetEmailAddress().GetAddress())
	}
	return ""
}

// itemError reads the OData error of a failed $batch item. The SDK keeps
// item bodies as generic maps; a JSON round trip reads them plainly.
func itemError(body map[string]any) (code, msg string) {
	raw, err := json.Marshal(body)
	if err != nil {
		return "", ""
	}
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return "", ""
	}
	return e.Error.Code, e.Error.Message
}

// validTenant applies azidentity's own check (letters, digits, '-' and
// '.'), so that New can say what is wrong in the admin's terms.
func validTenant(t string) bool {
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return t != ""
}

// client returns the Graph request builders' root for the adapter. It is
// made where it is used and never kept in a field, on purpose: the admin
// UI's templates call methods by name through reflection, so the linker
// keeps every exported method of any type reachable from a value in an
// interface; a GraphServiceClient field of Provider (which is one) made it
// keep the builders of all of Microsoft Graph (the server was 131 MB).
func client(a *msgraphsdk.GraphRequestAdapter) *msgraphsdk.GraphServiceClient {
	return &msgraphsdk.GraphServiceClient{GraphBaseServiceClient: msgraphsdk.GraphBaseServiceClient{
		BaseRequestBuilder: *abs.NewBaseRequestBuilder(a, "{+baseurl}", map[string]string{"baseurl": a.GetBaseUrl()}),
	}}
}
