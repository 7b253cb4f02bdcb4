package graph

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Cloud names the Microsoft cloud a tenant lives in. Each national cloud
// has its own sign-in authority and Graph endpoint; a tenant is found only
// in its own.
type Cloud string

const (
	CloudGlobal    Cloud = "global"    // Microsoft 365 worldwide, GCC included
	CloudUSGovHigh Cloud = "usgovhigh" // US Government GCC High
	CloudDoD       Cloud = "dod"       // US Government DoD
	CloudChina     Cloud = "china"     // operated by 21Vianet
	CloudCustom    Cloud = "custom"    // AuthorityHost and GraphBaseURL given
)

// cloudEndpoints are the documented national cloud endpoints
// (learn.microsoft.com/graph/deployments).
var cloudEndpoints = map[Cloud]struct{ authority, graph string }{
	CloudGlobal:    {"https://login.microsoftonline.com/", "https://graph.microsoft.com/v1.0"},
	CloudUSGovHigh: {"https://login.microsoftonline.us/", "https://graph.microsoft.us/v1.0"},
	CloudDoD:       {"https://login.microsoftonline.us/", "https://dod-graph.microsoft.us/v1.0"},
	CloudChina:     {"https://login.chinacloudapi.cn/", "https://microsoftgraph.chinacloudapi.cn/v1.0"},
}

// Config configures the Microsoft 365 connector.
//
// It holds where the secret is, never the secret itself: the secret or the
// certificate's key is read from a file or an environment variable by New,
// because a command-line flag shows in `ps` and shell history, and a config
// value ends up in backups and support bundles. Printing a Config (String,
// LogValue) is therefore always safe.
type Config struct {
	// TenantID is the Directory (tenant) ID, or the tenant's primary domain.
	TenantID string
	// ClientID is the Application (client) ID of the app registration.
	ClientID string

	// Exactly one credential: a client secret from a file or an environment
	// variable, or a certificate. Microsoft recommends certificates: secrets
	// expire after at most 24 months and get pasted into the wrong places.

	// ClientSecretFile is a file holding the client secret's Value.
	ClientSecretFile string
	// ClientSecretEnv names an environment variable holding the secret's Value.
	ClientSecretEnv string
	// CertificateFile is a PEM file (certificate and private key) or a PFX
	// (PKCS#12) file.
	CertificateFile string
	// CertificatePasswordFile or CertificatePasswordEnv hold the password
	// of an encrypted PFX or key, when there is one.
	CertificatePasswordFile string
	CertificatePasswordEnv  string

	// Cloud selects the endpoints; default CloudGlobal. CloudCustom needs
	// AuthorityHost and GraphBaseURL, and turns instance discovery off
	// (Entra ID does not know custom authorities).
	Cloud         Cloud
	AuthorityHost string // e.g. "https://login.example/"
	GraphBaseURL  string // e.g. "https://graph.example/v1.0"

	// SecretExpires, when set, makes New and Doctor warn 30 days before the
	// client secret expires. Entra ID shows the date next to the secret.
	SecretExpires time.Time

	// CanaryMailbox is a mailbox that is NOT a room (a user's). If Lintel can
	// read it, Doctor warns that the app can read every mailbox in the tenant.
	CanaryMailbox string

	// HTTPClient is used for sign-in and Graph; its Transport carries the
	// requests (tests pass one that trusts the emulator's certificate).
	// Default: a client on http.DefaultTransport.
	HTTPClient *http.Client
	// Logger receives the connector's logs; default slog.Default().
	Logger *slog.Logger
	// Now is the time of day the windows Check and Doctor read are placed
	// around, and secret expiry is counted from; default time.Now.
	Now func() time.Time

	// Tuning; zero values take the defaults in brackets.

	// MaxConcurrent is the most Graph requests in flight for the whole
	// app [64]. Within it the limit adapts: it starts at 4, grows while
	// answers are fast and clean, and halves on 429 or 503 (Graph's
	// limits are per mailbox, and a $batch runs 4 items at a time).
	MaxConcurrent int
	// MaxRetries is how often a throttled or failed request is retried [4].
	MaxRetries int
	// RetryBase is the first backoff when Graph gives no Retry-After [1s];
	// it doubles per retry, with jitter.
	RetryBase time.Duration
	// MaxRetryWait is the longest Retry-After waited through within a call
	// [30s]; past it the call returns ErrThrottled with RetryAfter set, so
	// that the caller's schedule, not a goroutine, does the waiting.
	MaxRetryWait time.Duration
	// RequestTimeout bounds one HTTP attempt [30s]; a timed-out attempt is
	// retried like a 504.
	RequestTimeout time.Duration
}

// authMethod names the configured credential, for logs and reports.
func (c Config) authMethod() string {
	switch {
	case c.CertificateFile != "":
		return "certificate"
	case c.ClientSecretFile != "", c.ClientSecretEnv != "":
		return "client secret"
	}
	return "none"
}

// secretSource says where the credential comes from, without its value.
func (c Config) secretSource() string {
	switch {
	case c.CertificateFile != "":
		return "file " + c.CertificateFile
	case c.ClientSecretFile != "":
		return "file " + c.ClientSecretFile
	case c.ClientSecretEnv != "":
		return "environment variable " + c.ClientSecretEnv
	}
	return "nowhere"
}

func (c Config) cloud() Cloud {
	if c.Cloud == "" {
		return CloudGlobal
	}
	return c.Cloud
}

// endpoints returns the authority host and Graph base URL for the cloud.
func (c Config) endpoints() (authority, graph string, err error) {
	if c.cloud() == CloudCustom {
		return c.AuthorityHost, strings.TrimSuffix(c.GraphBaseURL, "/"), nil
	}
	ep, ok := cloudEndpoints[c.cloud()]
	if !ok {
		return "", "", fmt.Errorf("graph: unknown Cloud %q: use global, usgovhigh, dod, china or custom", c.Cloud)
	}
	return ep.authority, ep.graph, nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// FieldError is a problem with one field of Config. Its Error names the
// Go field; the CLI, the API and the admin UI name it as their users know
// it (a flag, a JSON key, a form label) with Field and Problem.
type FieldError struct {
	Field   string // the Config field, e.g. "AuthorityHost"
	Problem string // e.g. "needs an https URL, e.g. https://login.microsoftonline.us"
}

func (e *FieldError) Error() string { return "graph: " + e.Field + " " + e.Problem }

// FieldErrors returns the *FieldErrors in err (as Validate joins them).
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		var fe *FieldError
		switch x := err.(type) {
		case nil:
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				walk(e)
			}
		default:
			if errors.As(err, &fe) {
				out = append(out, fe)
			}
		}
	}
	walk(err)
	return out
}

// Validate checks the configuration without reading any secret or
// contacting anything, so that the admin UI can check a form before
// saving. Every problem is a *FieldError; all of them are returned.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, problem string) { errs = append(errs, &FieldError{Field: field, Problem: problem}) }
	switch {
	case c.TenantID == "":
		bad("TenantID", "is required: the Directory (tenant) ID from the app's Overview page")
	case !validTenant(c.TenantID):
		bad("TenantID", fmt.Sprintf("%q is not valid: use the Directory (tenant) ID GUID from the app's Overview page, or the tenant's primary domain such as contoso.onmicrosoft.com", c.TenantID))
	}
	if c.ClientID == "" {
		bad("ClientID", "is required: the Application (client) ID from the app's Overview page")
	}
	n := 0
	for _, s := range []string{c.ClientSecretFile, c.ClientSecretEnv, c.CertificateFile} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		bad("Credential", "needs exactly one of a client secret file, a client secret environment variable and a certificate file")
	}
	// Never echo these two: an admin who put the secret itself here must
	// not find it in a log.
	if c.ClientSecretEnv != "" && !envName.MatchString(c.ClientSecretEnv) {
		bad("ClientSecretEnv", "must be the NAME of an environment variable (letters, digits, _), not the secret itself")
	}
	if c.CertificatePasswordEnv != "" && !envName.MatchString(c.CertificatePasswordEnv) {
		bad("CertificatePasswordEnv", "must be the NAME of an environment variable, not the password itself")
	}
	if c.cloud() == CloudCustom {
		for _, f := range []struct{ name, value, example string }{
			{"AuthorityHost", c.AuthorityHost, "https://login.microsoftonline.us"},
			{"GraphBaseURL", c.GraphBaseURL, "https://graph.microsoft.us/v1.0"},
		} {
			if u, err := url.Parse(f.value); err != nil || u.Scheme != "https" || u.Host == "" {
				bad(f.name, "needs an https URL, e.g. "+f.example)
			}
		}
	} else if _, ok := cloudEndpoints[c.cloud()]; !ok {
		bad("Cloud", fmt.Sprintf("%q is unknown: use global, usgovhigh, dod, china or custom", c.Cloud))
	}
	return errors.Join(errs...)
}

// String describes the configuration without any secret.
func (c Config) String() string {
	return fmt.Sprintf("graph.Config{cloud: %s, tenant: %s, client: %s, auth: %s from %s}",
		c.cloud(), c.TenantID, c.ClientID, c.authMethod(), c.secretSource())
}

// LogValue makes slog print the same safe fields as String.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("cloud", string(c.cloud())),
		slog.String("tenant", c.TenantID),
		slog.String("client", c.ClientID),
		slog.String("auth", c.authMethod()),
		slog.String("from", c.secretSource()),
	)
}

// readSecret reads a secret from a file or an environment variable.
// Errors name the source, never the content.
func readSecret(file, env, what string) (string, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("graph: reading the %s: %w", what, err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("graph: the %s file %s is empty", what, file)
		}
		return s, nil
	case env != "":
		s := strings.TrimSpace(os.Getenv(env))
		if s == "" {
			return "", fmt.Errorf("graph: the %s environment variable %s is empty or unset", what, env)
		}
		return s, nil
	}
	return "", nil
}

// CheckCertificate reports whether data (PEM or PFX) holds a certificate
// and its private key that Lintel can sign in with, before it is saved;
// password is the PFX's or the key's, "" for none. The error never quotes
// the data.
func CheckCertificate(data []byte, password string) error {
	var pw []byte
	if password != "" {
		pw = []byte(password)
	}
	certs, key, err := azidentity.ParseCertificates(data, pw)
	switch {
	case err != nil:
		return errors.New("graph: the certificate file is not a PEM file with the certificate and its private key, nor a PFX Lintel can open (a PFX with a password needs LINTEL_GRAPH_CERT_PASSWORD)")
	case len(certs) == 0 || key == nil:
		return errors.New("graph: the certificate file lacks the certificate or its private key: Lintel needs both")
	}
	return nil
}
