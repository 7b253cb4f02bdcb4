package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// healthcheck is for container HEALTHCHECKs, where there is no curl. By
// default it checks the URL the running server wrote to its data
// directory, so it follows the server's --listen and TLS flags; --url
// checks another.
func healthcheck(ctx context.Context, c Context, args []string) error {
	fs := c.flags("healthcheck")
	url := fs.String("url", "", "the URL to check (default: the /healthz of the server running on --data, as it wrote it when it started)")
	data := c.dataFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" {
		b, err := os.ReadFile(filepath.Join(*data, healthURLFile))
		if err != nil {
			return fmt.Errorf("healthcheck: no server is running on data directory %s (or give --url): %w", *data, err)
		}
		*url = strings.TrimSpace(string(b))
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", *url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	// The server's own address on loopback is not the name in its
	// certificate, and nothing secret is sent: do not verify it.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", *url, resp.Status)
	}
	return nil
}
