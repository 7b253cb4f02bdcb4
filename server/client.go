package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// apiClient is how CLI commands reach a running server: through the same
// JSON API scripts use, so the CLI works while the server holds the store.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

// apiFlags adds --server and --token-file to a command's flags.
type apiFlags struct {
	server, tokenFile *string
}

func (c Context) addAPIFlags(fs *flag.FlagSet) apiFlags {
	return apiFlags{
		server:    fs.String("server", c.env("LINTEL_SERVER", "http://127.0.0.1:8080"), "the server's URL (env LINTEL_SERVER)"),
		tokenFile: fs.String("token-file", c.env("LINTEL_API_TOKEN_FILE", ""), "file holding an API token (env LINTEL_API_TOKEN_FILE; or set LINTEL_API_TOKEN)"),
	}
}

// apiCommand parses a command's flags (define adds the command's own, may
// be nil) and returns a client for the running server's API.
func (c Context) apiCommand(name string, args []string, define func(fs *flag.FlagSet)) (*flag.FlagSet, apiClient, error) {
	fs := c.flags(name)
	if define != nil {
		define(fs)
	}
	api := c.addAPIFlags(fs)
	if err := fs.Parse(args); err != nil {
		return fs, apiClient{}, err
	}
	client, err := c.client(api)
	return fs, client, err
}

func (c Context) client(f apiFlags) (apiClient, error) {
	token := c.Getenv("LINTEL_API_TOKEN")
	if *f.tokenFile != "" {
		b, err := os.ReadFile(*f.tokenFile)
		if err != nil {
			return apiClient{}, fmt.Errorf("read API token: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		return apiClient{}, fmt.Errorf("no API token: set LINTEL_API_TOKEN or pass --token-file (create one with 'lintel-server admin token')")
	}
	return apiClient{base: strings.TrimRight(*f.server, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// do sends in (if not nil) as JSON and decodes the answer into out (if not
// nil). An error answer becomes an error with the server's message.
func (a apiClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the server at %s (is it running? see --server): %w", a.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("server: %s", e.Error)
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}
