package main

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lintelhq/lintel/proto"
)

// metrics are the server's Prometheus metrics, on their own registry so
// tests can build many servers in one process.
type metrics struct {
	reg          *prometheus.Registry
	syncDuration *prometheus.HistogramVec
	syncErrors   *prometheus.CounterVec
	bookings     *prometheus.CounterVec
	httpRequests *prometheus.CounterVec // calendar backend HTTP requests by status
}

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
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lintel_calendar_http_requests_total", Help: "HTTP requests to the calendar backend (Microsoft Graph and its token endpoint) by status code; 429 means throttled.",
		}, []string{"code"}),
	}
	m.reg.MustRegister(m.syncDuration, m.syncErrors, m.bookings, m.httpRequests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&stateCollector{app: a})
	return m
}

func (m *metrics) observeSync(connector string, took time.Duration, err error) {
	m.syncDuration.WithLabelValues(connector).Observe(took.Seconds())
	if err != nil {
		m.syncErrors.WithLabelValues(connector).Inc()
	}
}

func (m *metrics) observeRequest(action, outcome string) {
	m.bookings.WithLabelValues(action, outcome).Inc()
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// stateCollector reads gauges from the running server at scrape time:
// nothing to keep in step.
type stateCollector struct{ app *app }

var (
	panelsDesc  = prometheus.NewDesc("lintel_panels_connected", "Panels connected now, paired or waiting to pair.", []string{"paired"}, nil)
	offlineDesc = prometheus.NewDesc("lintel_panels_offline", "Paired panels not seen for longer than the offline threshold.", nil, nil)
	roomsDesc   = prometheus.NewDesc("lintel_rooms", "Rooms by their status now.", []string{"status"}, nil)
	staleDesc   = prometheus.NewDesc("lintel_rooms_stale", "Rooms whose calendar could not be read lately.", nil, nil)
	secretDesc  = prometheus.NewDesc("lintel_secret_days_to_expiry", "Days until the Microsoft 365 client secret expires (absent without an expiry date).", nil, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{panelsDesc, offlineDesc, roomsDesc, staleDesc, secretDesc} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	paired, unpaired := 0, 0
	for _, conn := range c.app.hub.Connections() {
		if conn.Paired {
			paired++
		} else {
			unpaired++
		}
	}
	ch <- prometheus.MustNewConstMetric(panelsDesc, prometheus.GaugeValue, float64(paired), "true")
	ch <- prometheus.MustNewConstMetric(panelsDesc, prometheus.GaugeValue, float64(unpaired), "false")
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
		ch <- prometheus.MustNewConstMetric(roomsDesc, prometheus.GaugeValue, float64(n), strings.ReplaceAll(string(status), " ", "_"))
	}
	ch <- prometheus.MustNewConstMetric(staleDesc, prometheus.GaugeValue, float64(stale))
	if exp := c.app.connector.Settings().SecretExpires; !exp.IsZero() {
		ch <- prometheus.MustNewConstMetric(secretDesc, prometheus.GaugeValue, exp.Sub(now).Hours()/24)
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
