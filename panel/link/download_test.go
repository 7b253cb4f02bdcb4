package link

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// firmwareServer serves one build at /firmware/1.1.0/linux/arm64 over TLS
// to the bearer of token.
func firmwareServer(t *testing.T, token string, build []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/firmware/1.1.0/linux/arm64" {
			http.NotFound(w, r)
			return
		}
		w.Write(build)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// pairedLink is a link to srv's wss:// address, paired with token.
func pairedLink(t *testing.T, srv *httptest.Server, token string) *Link {
	t.Helper()
	cred := filepath.Join(t.TempDir(), "credential")
	if err := os.WriteFile(cred, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	l, err := New(Opts{URL: "wss" + strings.TrimPrefix(srv.URL, "https") + "/ws", TLS: &tls.Config{RootCAs: roots},
		CredentialPath: cred, Firmware: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Download fetches a build over TLS with the panel's credential, verifies
// the server's certificate, and refuses what is too large, missing or
// not a firmware path.
func TestDownload(t *testing.T) {
	build := bytes.Repeat([]byte("panel build "), 10_000)
	srv := firmwareServer(t, "tok-1", build)
	l := pairedLink(t, srv, "tok-1")
	var got bytes.Buffer
	if err := l.Download(context.Background(), "/firmware/1.1.0/linux/arm64", &got, int64(len(build))); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), build) {
		t.Fatalf("downloaded %d bytes, want the %d of the build", got.Len(), len(build))
	}
	for _, c := range []struct {
		path string
		max  int64
		want string
	}{
		{"/firmware/1.1.0/linux/arm64", int64(len(build)) - 1, "over"},
		{"/firmware/9.9.9/linux/arm64", 1 << 20, "404"},
		{"/api/v1/rooms", 1 << 20, "not a firmware path"},
		{"/firmware/../api/v1/rooms", 1 << 20, "not a firmware path"},
	} {
		err := l.Download(context.Background(), c.path, io.Discard, c.max)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Download(%s, max %d) = %v, want an error with %q", c.path, c.max, err, c.want)
		}
	}
	// A server whose certificate the panel does not trust gets nothing.
	other := pairedLink(t, srv, "tok-1")
	other.opts.TLS = &tls.Config{RootCAs: x509.NewCertPool()}
	if err := other.Download(context.Background(), "/firmware/1.1.0/linux/arm64", io.Discard, 1<<20); err == nil {
		t.Error("downloaded from a server with an untrusted certificate")
	}
}

// Behind a proxy (Opts.Proxy; by default the environment's), the download
// tunnels through it with CONNECT, as the websocket does.
func TestDownloadThroughProxy(t *testing.T) {
	build := []byte("a small build")
	srv := firmwareServer(t, "tok-2", build)
	var tunnels atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		tunnels.Add(1)
		down, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n")
		go func() { io.Copy(up, down); up.Close() }()
		io.Copy(down, up)
		down.Close()
	}))
	defer proxy.Close()
	l := pairedLink(t, srv, "tok-2")
	proxyURL, _ := url.Parse(proxy.URL)
	l.opts.Proxy = http.ProxyURL(proxyURL)
	var got bytes.Buffer
	err := l.Download(context.Background(), "/firmware/1.1.0/linux/arm64", &got, 1<<20)
	if err != nil || got.String() != string(build) || tunnels.Load() != 1 {
		t.Fatalf("download through the proxy: %v, %q, %d tunnels", err, got.String(), tunnels.Load())
	}
}
