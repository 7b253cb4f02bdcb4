package connector

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/lintelhq/lintel/server/calendar/graph"
)

// Settings say where room calendars come from. The Microsoft 365
// client secret is not among them: it is written once to a 0600 file and
// never read back into a page, a log or an API answer.
type Settings struct {
	Kind          string    `json:"kind"` // "builtin" or "m365"
	TenantID      string    `json:"tenant_id,omitempty"`
	ClientID      string    `json:"client_id,omitempty"`
	Cloud         string    `json:"cloud,omitempty"` // global, usgovhigh, dod, china, custom
	AuthorityHost string    `json:"authority_host,omitempty"`
	GraphBaseURL  string    `json:"graph_base_url,omitempty"`
	Auth          string    `json:"auth,omitempty"`             // "secret" or "certificate"
	CertFile      string    `json:"certificate_file,omitempty"` // path on the server
	SecretExpires time.Time `json:"secret_expires,omitzero"`
	CanaryMailbox string    `json:"canary_mailbox,omitempty"`
	// PublicURL is the server's base URL as Microsoft 365 reaches it, for
	// change notifications to {PublicURL}/graph/notifications; the
	// server's --public-url flag wins over it. "" polls every room.
	PublicURL string `json:"public_url,omitempty"`
	// HasSecret says whether a client secret is stored (never its value).
	HasSecret bool `json:"has_secret,omitempty"`
	// FromFlags is set when the server was started with connector flags,
	// which win over what is saved here at the next start.
	FromFlags bool `json:"from_flags,omitempty"`
	// SecretFile and SecretEnv, set only by the server's flags, say where
	// the client secret is instead of the data directory's file.
	SecretFile string `json:"-"`
	SecretEnv  string `json:"-"`
}

// Credentials are what a connection change may bring besides its
// settings: a new client secret, or a certificate uploaded in the admin
// UI. Each is written once to a 0600 file in the data directory and never
// shown again.
type Credentials struct {
	Secret      string // the client secret's Value
	Certificate []byte // PEM (certificate and private key) or PFX
}

// ErrCredentialAgain refuses a change of where the credential goes without
// the credential.
var ErrCredentialAgain = errors.New("changing the cloud, authority host, Graph URL, tenant or client id (or switching to Microsoft 365) needs the client secret's Value (or the certificate) again: the stored one is never sent anywhere new")

// NeedsCredential refuses new settings that would send the stored secret
// (or a token signed with the stored certificate) somewhere it was not
// sent with the old settings: to another cloud, authority host, Graph URL,
// tenant or app (client id), or from the built-in calendar to Microsoft
// 365. Whoever changes those brings the credential again, so that an API
// token alone cannot exfiltrate the write-only secret. Every connector
// applies it before anything else.
func NeedsCredential(old, s Settings, cred Credentials) error {
	if s.Kind != "m365" {
		return nil
	}
	if s.Auth == "certificate" && len(cred.Certificate) > 0 || s.Auth != "certificate" && cred.Secret != "" {
		return nil
	}
	same := func(a, b string) bool {
		return strings.EqualFold(strings.TrimRight(strings.TrimSpace(a), "/"), strings.TrimRight(strings.TrimSpace(b), "/"))
	}
	cloud := func(s string) string {
		if s == "" {
			return "global"
		}
		return s
	}
	if old.Kind != "m365" || !same(cloud(old.Cloud), cloud(s.Cloud)) || !same(old.AuthorityHost, s.AuthorityHost) ||
		!same(old.GraphBaseURL, s.GraphBaseURL) || !same(old.TenantID, s.TenantID) || !same(old.ClientID, s.ClientID) ||
		s.Auth == "certificate" && s.CertFile != "" && s.CertFile != old.CertFile {
		return ErrCredentialAgain
	}
	return nil
}

// Flags adds the Microsoft 365 flags to serve's flag set, each with its
// environment variable (read with getenv), and returns what parses them
// after fs.Parse: nil when --calendar is not given (the admin's saved
// choice then holds). They live here, not in package main, because Load
// words its errors with these flags' names. The secret itself is never a
// flag (it would show in ps and shell history): it comes from a file or
// the environment variable LINTEL_GRAPH_CLIENT_SECRET.
func Flags(fs *flag.FlagSet, getenv func(string) string) func() (*Settings, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	kind := fs.String("calendar", env("LINTEL_CALENDAR", ""), "where room calendars come from: builtin or m365 (env LINTEL_CALENDAR; default: what the admin chose in the UI)")
	tenant := fs.String("graph-tenant", env("LINTEL_GRAPH_TENANT", ""), "Microsoft 365: directory (tenant) ID (env LINTEL_GRAPH_TENANT)")
	client := fs.String("graph-client", env("LINTEL_GRAPH_CLIENT", ""), "Microsoft 365: application (client) ID (env LINTEL_GRAPH_CLIENT)")
	secretFile := fs.String("graph-secret-file", env("LINTEL_GRAPH_SECRET_FILE", ""), "Microsoft 365: file holding the client secret's value (or set LINTEL_GRAPH_CLIENT_SECRET)")
	certFile := fs.String("graph-cert-file", env("LINTEL_GRAPH_CERT_FILE", ""), "Microsoft 365: certificate and key, PEM or PFX (password in LINTEL_GRAPH_CERT_PASSWORD)")
	cloud := fs.String("graph-cloud", env("LINTEL_GRAPH_CLOUD", "global"), "Microsoft 365 cloud: global, usgovhigh, dod, china or custom")
	authority := fs.String("graph-authority", env("LINTEL_GRAPH_AUTHORITY", ""), "custom cloud: the sign-in authority host")
	graphURL := fs.String("graph-url", env("LINTEL_GRAPH_URL", ""), "custom cloud: the Graph base URL, e.g. https://graph.example/v1.0")
	expires := fs.String("graph-secret-expires", env("LINTEL_GRAPH_SECRET_EXPIRES", ""), "the client secret's expiry date (YYYY-MM-DD): warns 30 days ahead")
	canary := fs.String("graph-canary", env("LINTEL_GRAPH_CANARY", ""), "a user mailbox Lintel must NOT be able to read, to check least privilege")
	return func() (*Settings, error) {
		switch *kind {
		case "":
			return nil, nil
		case "builtin":
			return &Settings{Kind: "builtin"}, nil
		case "m365":
		default:
			return nil, fmt.Errorf("--calendar %q is not builtin or m365", *kind)
		}
		s := &Settings{Kind: "m365", TenantID: *tenant, ClientID: *client, Cloud: *cloud,
			AuthorityHost: *authority, GraphBaseURL: *graphURL, CanaryMailbox: *canary}
		switch {
		case *certFile != "":
			s.Auth, s.CertFile = "certificate", *certFile
		case *secretFile != "":
			s.Auth, s.SecretFile = "secret", *secretFile
		case getenv("LINTEL_GRAPH_CLIENT_SECRET") != "":
			s.Auth, s.SecretEnv = "secret", "LINTEL_GRAPH_CLIENT_SECRET"
		default:
			return nil, errors.New("--calendar m365 needs a credential: --graph-cert-file, --graph-secret-file or LINTEL_GRAPH_CLIENT_SECRET")
		}
		if *expires != "" {
			t, err := time.Parse("2006-01-02", *expires)
			if err != nil {
				return nil, fmt.Errorf("--graph-secret-expires %q is not a date like 2027-06-30", *expires)
			}
			s.SecretExpires = t
		}
		// Check now, before anything starts, in the flags' own words.
		cfg := graph.Config{TenantID: s.TenantID, ClientID: s.ClientID, Cloud: graph.Cloud(s.Cloud),
			AuthorityHost: s.AuthorityHost, GraphBaseURL: s.GraphBaseURL,
			CertificateFile: s.CertFile, ClientSecretFile: s.SecretFile, ClientSecretEnv: s.SecretEnv}
		if err := cfg.Validate(); err != nil {
			return nil, renameFields(err, flagNames)
		}
		return s, nil
	}
}

// flagNames and settingNames name graph.Config's fields as serve's flags
// and as the API and the admin UI (label and JSON key) call them.
var (
	flagNames = map[string]string{
		"TenantID": "--graph-tenant", "ClientID": "--graph-client", "Cloud": "--graph-cloud",
		"AuthorityHost": "--graph-authority", "GraphBaseURL": "--graph-url",
		"Credential":       "--calendar m365 (--graph-cert-file, --graph-secret-file or LINTEL_GRAPH_CLIENT_SECRET)",
		"ClientSecretFile": "--graph-secret-file", "CertificateFile": "--graph-cert-file",
		"ClientSecretEnv": "LINTEL_GRAPH_CLIENT_SECRET", "CertificatePasswordEnv": "LINTEL_GRAPH_CERT_PASSWORD",
	}
	settingNames = map[string]string{
		"TenantID": "Directory (tenant) ID (tenant_id)", "ClientID": "Application (client) ID (client_id)",
		"Cloud": "Cloud (cloud)", "AuthorityHost": "Authority host (authority_host)", "GraphBaseURL": "Graph base URL (graph_base_url)",
		"Credential": "The credential (auth)", "CertificateFile": "Certificate file (certificate_file)",
		"ClientSecretFile": "The client secret", "ClientSecretEnv": "The client secret", "CertificatePasswordEnv": "LINTEL_GRAPH_CERT_PASSWORD",
	}
)

// renameFields words graph's configuration problems with the names the
// user typed them under; any other error is returned as it is.
func renameFields(err error, names map[string]string) error {
	fes := graph.FieldErrors(err)
	if len(fes) == 0 {
		return err
	}
	msgs := make([]string, len(fes))
	for i, fe := range fes {
		name, ok := names[fe.Field]
		if !ok {
			name = fe.Field
		}
		msgs[i] = name + " " + fe.Problem
	}
	return errors.New(strings.Join(msgs, "; "))
}
