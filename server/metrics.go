package main

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/connector"
	"github.com/lintelhq/lintel/server/internal/atomicfile"
)

// metrics are the server's Prometheus metrics, on their own registry so
// tests can build many servers in one process.
//
// Every labelled counter starts at 0 for each label value known in
// advance (connectors, panel actions and outcomes, calendar statuses, the
// HTTP codes Graph answers with), so that rate() and alerts work from the
// first scrape instead of from the first failure.
type metrics struct {
	reg          *prometheus.Registry
	syncDuration *prometheus.HistogramVec
	syncErrors   *prometheus.CounterVec
	bookings     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	httpRequests *prometheus.CounterVec // calendar backend HTTP requests by status
	readFailures *prometheus.CounterVec // failed room reads by diagnosis status
	buildInfo    *prometheus.GaugeVec
	notifyDelay  prometheus.Histogram // notification -> state published
}

// Known label values, each counter's series created at 0.
var (
	connectorNames  = []string{"builtin", "graph"}
	panelActions    = []proto.Action{proto.ActionBook, proto.ActionExtend, proto.ActionEnd, proto.ActionCheckIn}
	requestOutcomes = []string{"ok", string(proto.CodeBadRequest), string(proto.CodeNotFound), string(proto.CodeConflict),
		string(proto.CodeNotAllowed), string(proto.CodeUnavailable), string(proto.CodeRateLimited), string(proto.CodeInternal)}
	// backendCodes are the answers Graph and Entra ID give that matter:
	// success, the refusals doctor explains, throttling and outages.
	backendCodes = []string{"200", "201", "202", "204", "400", "401", "403", "404", "429", "500", "502", "503", "504", "error"}
)

func newMetrics(a *app) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		syncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "lintel_sync_duration_seconds", Help: "Time to read every room's calendar once.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"connector"}),
		syncErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lintel_sync_errors_total", Help: "Calendar polls that failed as a whole.",
		}, []string{"connector"}),
		bookings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lintel_panel_requests_total", Help: "Panel requests (book, extend, end, checkin) by outcome.",
		}, []string{"action", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "lintel_panel_request_duration_seconds", Help: "Time from a panel's request (book, extend, end, checkin) to its answer, calendar write included.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"action"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lintel_calendar_http_requests_total", Help: "HTTP requests to the calendar backend (Microsoft Graph and its token endpoint) by status code; 429 means throttled.",
		}, []string{"code"}),
		readFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lintel_calendar_read_failures_total", Help: "Room calendar reads that failed, by diagnosis (the status word doctor and the admin UI show).",
		}, []string{"status"}),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lintel_build_info", Help: "Always 1: the server's version and the Go version it was built with.",
		}, []string{"version", "goversion"}),
	}
	m.notifyDelay = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "lintel_notification_to_publish_seconds", Help: "Time from a Microsoft 365 change notification to the room's state published.",
		Buckets: []float64{.1, .25, .5, 1, 2, 5, 10, 30},
	})
	m.reg.MustRegister(append(notificationCollectors(a), m.notifyDelay)...)
	m.buildInfo.WithLabelValues(Version, runtime.Version()).Set(1)
	for _, c := range connectorNames {
		m.syncErrors.WithLabelValues(c)
		m.syncDuration.WithLabelValues(c)
	}
	for _, act := range panelActions {
		m.latency.WithLabelValues(string(act))
		for _, o := range requestOutcomes {
			m.bookings.WithLabelValues(string(act), o)
		}
	}
	for _, code := range backendCodes {
		m.httpRequests.WithLabelValues(code)
	}
	for _, s := range calendar.Statuses {
		if s != calendar.StatusOK && s != calendar.StatusTitlesHidden {
			m.readFailures.WithLabelValues(string(s))
		}
	}
	m.reg.MustRegister(m.syncDuration, m.syncErrors, m.bookings, m.latency, m.httpRequests, m.readFailures, m.buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&stateCollector{app: a})
	return m
}

func (m *metrics) observeSync(provider string, took time.Duration, err error) {
	m.syncDuration.WithLabelValues(provider).Observe(took.Seconds())
	if err != nil {
		m.syncErrors.WithLabelValues(provider).Inc()
	}
}

func (m *metrics) observeRequest(action, outcome string) {
	m.bookings.WithLabelValues(action, outcome).Inc()
}

func (m *metrics) observeLatency(action string, took time.Duration) {
	m.latency.WithLabelValues(action).Observe(took.Seconds())
}

func (m *metrics) observeReadFailure(s calendar.Status) {
	m.readFailures.WithLabelValues(string(s)).Inc()
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// stateCollector reads gauges from the running server at scrape time:
// nothing to keep in step.
type stateCollector struct{ app *app }

var (
	panelsDesc   = prometheus.NewDesc("lintel_panels_connected", "Panels connected now, paired or waiting to pair.", []string{"paired"}, nil)
	firmwareDesc = prometheus.NewDesc("lintel_panels_by_firmware", "Paired panels connected now, by the firmware version they report.", []string{"firmware"}, nil)
	offlineDesc  = prometheus.NewDesc("lintel_panels_offline", "Paired panels not seen for longer than the offline threshold.", nil, nil)
	roomsDesc    = prometheus.NewDesc("lintel_rooms", "Rooms by their status now.", []string{"status"}, nil)
	staleDesc    = prometheus.NewDesc("lintel_rooms_stale", "Rooms whose calendar could not be read lately.", nil, nil)
	syncAgeDesc  = prometheus.NewDesc("lintel_room_last_sync_age_seconds", "Seconds since the room's calendar was last read successfully (absent until it is).", []string{"room"}, nil)
	calRoomsDesc = prometheus.NewDesc("lintel_calendar_rooms", "Rooms by the diagnosis of their calendar's last read; unknown: not read yet.", []string{"status"}, nil)
	calUpDesc    = prometheus.NewDesc("lintel_calendar_up", "1 when the last calendar read succeeded (for at least one room), 0 when it failed or none happened yet.", []string{"connector"}, nil)
	secretDesc   = prometheus.NewDesc("lintel_secret_expiry_timestamp_seconds", "When the Microsoft 365 client secret expires, as a Unix timestamp (absent without an expiry date).", nil, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{panelsDesc, firmwareDesc, offlineDesc, roomsDesc, staleDesc, syncAgeDesc, calRoomsDesc, calUpDesc, secretDesc} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	paired, unpaired := 0, 0
	firmware := map[string]int{}
	for _, conn := range c.app.hub.Connections() {
		if conn.Paired {
			paired++
			fw := conn.Firmware
			if fw == "" {
				fw = "unknown"
			}
			firmware[fw]++
		} else {
			unpaired++
		}
	}
	ch <- prometheus.MustNewConstMetric(panelsDesc, prometheus.GaugeValue, float64(paired), "true")
	ch <- prometheus.MustNewConstMetric(panelsDesc, prometheus.GaugeValue, float64(unpaired), "false")
	for fw, n := range firmware {
		ch <- prometheus.MustNewConstMetric(firmwareDesc, prometheus.GaugeValue, float64(n), fw)
	}
	ch <- prometheus.MustNewConstMetric(offlineDesc, prometheus.GaugeValue, float64(len(c.app.offlinePanels())))

	counts := map[proto.Status]int{proto.StatusFree: 0, proto.StatusBusy: 0, proto.StatusSoon: 0, proto.StatusCheckIn: 0}
	stale := 0
	now := c.app.now()
	for _, st := range c.app.sync.States() {
		loc, err := time.LoadLocation(st.Room.TimeZone)
		if err != nil {
			loc = time.UTC
		}
		counts[proto.At(st.Meetings, now, st.Rules, loc).Status]++
		if st.Stale {
			stale++
		}
	}
	for status, n := range counts {
		ch <- prometheus.MustNewConstMetric(roomsDesc, prometheus.GaugeValue, float64(n), string(status))
	}
	ch <- prometheus.MustNewConstMetric(staleDesc, prometheus.GaugeValue, float64(stale))

	health := c.app.connector.Health()
	up := 0.0
	if health.Status == connector.HealthOK {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(calUpDesc, prometheus.GaugeValue, up, health.Provider)
	byStatus := map[string]int{"unknown": 0}
	for _, s := range calendar.Statuses {
		byStatus[string(s)] = 0
	}
	rooms, err := c.app.db.Rooms()
	if err != nil {
		c.app.log.Warn("metrics: cannot list rooms", "err", err)
	}
	sort.Slice(rooms, func(i, j int) bool { return rooms[i].ID < rooms[j].ID })
	for _, r := range rooms {
		rh, ok := health.Rooms[r.Calendar]
		if !ok {
			byStatus["unknown"]++
			continue
		}
		byStatus[string(rh.Diagnosis.Status)]++
		if !rh.LastGood.IsZero() {
			ch <- prometheus.MustNewConstMetric(syncAgeDesc, prometheus.GaugeValue, max(0, now.Sub(rh.LastGood).Seconds()), r.ID)
		}
	}
	for s, n := range byStatus {
		ch <- prometheus.MustNewConstMetric(calRoomsDesc, prometheus.GaugeValue, float64(n), s)
	}
	if exp := c.app.connector.Settings().SecretExpires; !exp.IsZero() {
		ch <- prometheus.MustNewConstMetric(secretDesc, prometheus.GaugeValue, float64(exp.Unix()))
	}
}

// countingTransport counts a calendar backend's HTTP requests by status.
type countingTransport struct {
	next http.RoundTripper
	m    *metrics
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	t.m.httpRequests.WithLabelValues(code).Inc()
	return resp, err
}

// requireBearer lets through only requests with "Authorization: Bearer
// token" (everything when token is empty): the metrics show occupancy.
func requireBearer(token string, h http.Handler) http.Handler {
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="lintel metrics"`)
			http.Error(w, "metrics: send the token of --metrics-token-file as 'Authorization: Bearer <token>'", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// metricsToken reads the metrics token from file, or creates the file
// (0600) with a random token when there is none.
func metricsToken(file string) (string, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		token := "lintel_metrics_" + hex.EncodeToString(randomBytes(24))
		if err := atomicfile.WriteSecret(file, token); err != nil {
			return "", err
		}
		return token, nil
	}
	if err != nil {
		return "", err
	}
	token := strings.TrimSpace(string(b))
	if len(token) < 16 {
		return "", fmt.Errorf("the token in %s is shorter than 16 characters", file)
	}
	return token, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// notificationCollectors export change notifications: received and
// rejected, subscriptions by state, and Graph's adaptive concurrency.
func notificationCollectors(a *app) []prometheus.Collector {
	counts := func(rejected bool) func() float64 {
		return func() float64 {
			if a.subs == nil {
				return 0
			}
			r, j := a.subs.Counts()
			if rejected {
				return float64(j)
			}
			return float64(r)
		}
	}
	out := []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lintel_notifications_received_total",
			Help: "Microsoft 365 change notifications accepted (right clientState)."}, counts(false)),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lintel_notifications_rejected_total",
			Help: "Change notifications refused: unknown subscription or wrong clientState."}, counts(true)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lintel_graph_concurrency",
			Help: "Graph requests the app may have in flight now (adaptive; 0 without Microsoft 365)."}, func() float64 {
			if a.connector == nil {
				return 0
			}
			return float64(a.connector.GraphConcurrency())
		}),
	}
	for _, state := range []string{"active", "expiring", "failing", "none"} {
		out = append(out, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lintel_subscriptions",
			Help: "Rooms by change-notification subscription state.", ConstLabels: prometheus.Labels{"state": state}}, func() float64 {
			if a.subs == nil || !a.subs.Enabled() {
				return 0
			}
			n := 0
			for _, st := range a.subs.Status() {
				if st.State == state {
					n++
				}
			}
			return float64(n)
		}))
	}
	return out
}
