package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/lintelhq/lintel/server/fleet"
)

// Server timeouts. A request's headers and body must arrive within
// readTimeout (a body held back is cut), its answer be written within
// writeTimeout (a test of every room against Microsoft 365 fits), and a
// keep-alive connection with nothing to do is closed after idleTimeout.
// Websockets are not bound by them: the upgrade clears the connection's
// deadlines and the hub keeps its own (pings, write deadlines).
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 2 * time.Minute
	idleTimeout       = 2 * time.Minute
)

// httpTimeouts are the server's timeouts (tests shorten them).
type httpTimeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

func (t httpTimeouts) orDefaults() httpTimeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.ReadHeader, readHeaderTimeout)
	def(&t.Read, readTimeout)
	def(&t.Write, writeTimeout)
	def(&t.Idle, idleTimeout)
	return t
}

// newHTTPServer is the http.Server serve runs (and tests run over
// loopback): timeouts set, errors logged as warnings.
func newHTTPServer(h http.Handler, t httpTimeouts, log *slog.Logger) *http.Server {
	t = t.orDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Request body limits: small for forms and JSON, larger only where a file
// comes in. A bigger body is answered 413 before it is read (when its
// Content-Length says so) or as soon as the limit is passed.
const (
	maxBody       = 64 << 10  // forms (login, rooms, devices, ...) and anything else
	maxAPIBody    = 1 << 20   // the JSON API (the admin reads at most 1 MiB of JSON)
	maxUploadBody = 256 << 10 // the connector form with a certificate (at most 64 KiB)
	maxImportBody = 3 << 20   // the CSV import: 1 MiB pasted and a 1 MiB file
	// maxFirmwareBody: a panel build (fleet.MaxBuildBytes) and its form.
	maxFirmwareBody = fleet.MaxBuildBytes + 1<<20
	// maxFormMemory is how much of a multipart form is kept in memory;
	// the rest of a file goes to a temporary file.
	maxFormMemory = 1 << 20
)

// bodyLimit is how large r's body may be.
func bodyLimit(r *http.Request) int64 {
	switch p := r.URL.Path; {
	case p == "/rooms/import":
		return maxImportBody
	case p == "/connector":
		return maxUploadBody
	case p == "/fleet/firmware/upload" || p == "/api/v1/firmware":
		return maxFirmwareBody
	case strings.HasPrefix(p, "/api/"):
		return maxAPIBody
	}
	return maxBody
}

// guard wraps the whole server: security headers on every answer, and
// every request body bounded (see bodyLimit). Form bodies are read here,
// so that one over the limit gets a clear 413 rather than an empty form.
func guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Referrer-Policy", "same-origin")
		if r.TLS != nil {
			hdr.Set("Strict-Transport-Security", "max-age=31536000")
		}
		limit := bodyLimit(r)
		if r.ContentLength > limit {
			tooLarge(w, r, limit)
			return
		}
		if limit == maxFirmwareBody {
			// A panel build may take longer than readTimeout to arrive.
			http.NewResponseController(w).SetReadDeadline(time.Now().Add(10 * time.Minute))
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
			var err error
			switch ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct {
			case "multipart/form-data":
				err = r.ParseMultipartForm(min(limit, maxFormMemory))
			case "application/x-www-form-urlencoded":
				err = r.ParseForm()
			}
			var mbe *http.MaxBytesError
			var ne net.Error
			switch {
			case errors.As(err, &mbe):
				tooLarge(w, r, limit)
				return
			case errors.As(err, &ne) && ne.Timeout():
				// The body did not arrive within the read timeout.
				w.Header().Set("Connection", "close")
				http.Error(w, "the request body did not arrive in time", http.StatusRequestTimeout)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// tooLarge answers 413 and closes the connection: the rest of the body is
// not read.
func tooLarge(w http.ResponseWriter, r *http.Request, limit int64) {
	msg := fmt.Sprintf("the request body is larger than %d KiB, the most %s %s takes", limit>>10, r.Method, r.URL.Path)
	w.Header().Set("Connection", "close")
	if strings.HasPrefix(r.URL.Path, "/api/") {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		b, _ := json.MarshalIndent(map[string]string{"error": msg}, "", "  ")
		w.Write(append(b, '\n'))
		return
	}
	http.Error(w, msg, http.StatusRequestEntityTooLarge)
}
