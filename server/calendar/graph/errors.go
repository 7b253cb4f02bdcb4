package graph

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/lintelhq/lintel/server/calendar"
)

// graphErr is what Graph answered when it refused a request, from a
// direct call or from one item of a $batch.
type graphErr struct {
	status     int
	code       string // e.g. "ErrorAccessDenied"
	msg        string
	retryAfter time.Duration
	// requestID is Graph's request-id, which Microsoft support asks for.
	requestID string
	// wholeBatch is set when Graph refused a $batch as a whole, not one
	// room's item of it.
	wholeBatch bool
}

// The two 403 messages that mean different things to the admin.
const (
	msgPolicyDenied = "Access to OData is disabled"         // outside the access policy / RBAC scope
	msgNoPermission = "Access is denied. Check credentials" // no Calendars permission
)

// roomError turns a Graph refusal into a *calendar.Error with the sentence
// the admin needs. The result is wrapped so that it reads "graph: ...";
// errors.Is and errors.As still find the kind and the *calendar.Error.
func (p *Provider) roomError(room string, g graphErr) error {
	app := p.cfg.ClientID
	e := &calendar.Error{Room: room, RetryAfter: g.retryAfter}
	detail := fmt.Sprintf("%d %s: %s", g.status, g.code, strings.TrimSpace(g.msg))
	if g.requestID != "" {
		detail += "; request-id " + g.requestID
	}
	switch {
	case g.status == http.StatusForbidden && strings.Contains(g.msg, msgPolicyDenied):
		e.Kind = calendar.ErrDenied
		e.Msg = "the room is outside the mailboxes this app may read (" + detail + ")"
		e.Fix = fmt.Sprintf("Add %[1]s to the mail-enabled security group that the application access policy or RBAC for Applications scope of app %[2]s allows (lintel-server tenant-script prints the commands), allow an hour or more for the change to apply, and check it with Test-ApplicationAccessPolicy -Identity %[1]s -AppId %[2]s or Test-ServicePrincipalAuthorization -Identity %[2]s -Resource %[1]s.", room, app)
	case g.status == http.StatusForbidden:
		e.Kind = calendar.ErrDenied
		e.Msg = "the app has no permission to read calendars (" + detail + ")"
		e.Fix = fmt.Sprintf("In Entra ID > App registrations > app %s > API permissions, add the Microsoft Graph application permission Calendars.ReadWrite (not a delegated one) and click Grant admin consent.", app)
	case g.code == "MailboxNotEnabledForRESTAPI":
		e.Kind = calendar.ErrNotFound
		e.Msg = "the mailbox is inactive, soft-deleted or on-premises (" + detail + ")"
		e.Fix = fmt.Sprintf("Graph reaches only mailboxes in Exchange Online: check that %s is the room's address and that its mailbox has been moved to Exchange Online.", room)
	case g.code == "ErrorInvalidUser" || g.code == "ResourceNotFound" || g.code == "Request_ResourceNotFound":
		e.Kind = calendar.ErrNotFound
		e.Msg = "no such mailbox (" + detail + ")"
		e.Fix = fmt.Sprintf("Check the room's address: use the primary SMTP address Exchange Online shows (Get-Mailbox -Identity %s | Format-List PrimarySmtpAddress), and make sure the mailbox is not on-premises.", room)
	case g.code == "ErrorItemNotFound":
		e.Kind = calendar.ErrNotFound
		e.Msg = "the event no longer exists (" + detail + ")"
	case g.code == "ErrorDuplicateTransactionId":
		e.Kind = calendar.ErrConflict
		e.Msg = "the transaction ID was already used for a different event (" + detail + ")"
	case g.status == http.StatusUnauthorized:
		e.Kind = calendar.ErrAuth
		e.Msg = "Graph refused the access token (" + detail + ")"
		e.Fix = "Check that TenantID and Cloud are those of the tenant the rooms live in, then run lintel-server doctor."
	case g.status == http.StatusTooManyRequests:
		e.Kind = calendar.ErrThrottled
		e.Msg = "Graph is throttling this app (" + detail + ")"
		e.Fix = "Nothing to do if it passes: Lintel waits as Graph asks; if it persists, raise the poll interval or check for other apps using the same app registration."
	case g.status >= 500:
		e.Kind = calendar.ErrUnavailable
		e.Msg = "Graph did not answer properly (" + detail + ")"
		e.Fix = "Lintel retries on its own; if it persists, check the Microsoft 365 service health page."
	case g.wholeBatch && g.status == http.StatusBadRequest && (strings.Contains(g.msg, "version") || strings.Contains(g.msg, "segment")):
		e.Kind = calendar.ErrRefused
		e.Msg = "Graph refused the whole $batch request: its address is wrong (" + detail + ")"
		e.Fix = fmt.Sprintf("Check the Graph base URL %s: it ends in the API version, e.g. https://graph.microsoft.com/v1.0 (Connection page, or --graph-url for a custom cloud).", p.graphBase)
	case g.wholeBatch:
		e.Kind = calendar.ErrRefused
		e.Msg = "Graph refused the whole $batch request, not one room (" + detail + ")"
		e.Fix = "Lintel sent what Graph documents, so this is most likely on Graph's side (or a proxy's): check the Microsoft 365 service health page, and if it persists open a Microsoft support case quoting the request-id."
	default:
		return fmt.Errorf("graph: %s: %s", room, p.redact(detail))
	}
	e.Msg = p.redact(e.Msg)
	return fmt.Errorf("graph: %w", e)
}

// batchError classifies the failure of a whole $batch: Graph's own error
// when the transport kept it, else what the SDK says.
func (p *Provider) batchError(room string, err error, ref *refusal) error {
	if g, ok := ref.get(); ok {
		g.wholeBatch = true
		return p.roomError(room, g)
	}
	return p.callError(room, err)
}

// callError classifies an error from a direct SDK call (not a batch item).
func (p *Provider) callError(room string, err error) error {
	if err == nil {
		return nil
	}
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		g := graphErr{status: oe.ResponseStatusCode}
		if main := oe.GetErrorEscaped(); main != nil {
			g.code, g.msg = deref(main.GetCode()), deref(main.GetMessage())
		}
		g.retryAfter = headerRetryAfter(oe.GetResponseHeaders())
		return p.roomError(room, g)
	}
	var ae abs.ApiErrorable
	if errors.As(err, &ae) && ae.GetStatusCode() != 0 {
		return p.roomError(room, graphErr{status: ae.GetStatusCode(), msg: err.Error(),
			retryAfter: headerRetryAfter(ae.GetResponseHeaders())})
	}
	return p.transportError(room, err)
}

// transportError classifies failures below HTTP: sign-in, network,
// timeouts, cancellation.
func (p *Provider) transportError(room string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("graph: %s: %w", room, err)
	}
	if aadstsCode(err) != "" {
		return p.authError(err)
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) {
		return fmt.Errorf("graph: %w", &calendar.Error{Kind: calendar.ErrUnavailable, Room: room,
			Msg: "Graph did not answer: " + p.redact(err.Error()),
			Fix: "Check that this server can reach " + p.graphHost + " and " + p.authority + " (proxy, firewall, DNS); Lintel retries on its own."})
	}
	if isAuthFailure(err) {
		return p.authError(err)
	}
	return fmt.Errorf("graph: %s: %s", room, p.redact(err.Error()))
}

var aadstsRE = regexp.MustCompile(`AADSTS(\d+)`)

// aadstsCode finds the Entra ID error code in a sign-in error, "" if none.
func aadstsCode(err error) string {
	if m := aadstsRE.FindStringSubmatch(err.Error()); m != nil {
		return m[1]
	}
	return ""
}

// isAuthFailure reports an azidentity sign-in failure without an AADSTS
// code (a certificate that does not parse, an unreachable authority).
func isAuthFailure(err error) bool {
	s := err.Error()
	return strings.Contains(s, "ClientSecretCredential") || strings.Contains(s, "ClientCertificateCredential")
}

// authError turns a sign-in failure into a calendar.ErrAuth with the fix
// for the AADSTS codes admins actually meet.
func (p *Provider) authError(err error) error {
	e := &calendar.Error{Kind: calendar.ErrAuth}
	code := aadstsCode(err)
	app, tenant := p.cfg.ClientID, p.cfg.TenantID
	switch code {
	case "7000215":
		e.Msg = "AADSTS7000215: invalid client secret"
		e.Fix = fmt.Sprintf("Put the secret's Value, not its Secret ID, in %s: Entra ID shows the Value only once, when the secret is created, so if it is lost create a new secret for app %s.", p.cfg.secretSource(), app)
	case "7000222":
		e.Msg = "AADSTS7000222: the client secret has expired"
		e.Fix = fmt.Sprintf("Create a new client secret in Entra ID > App registrations > app %s > Certificates & secrets, put its Value in %s and its expiry date in SecretExpires; better, switch to a certificate.", app, p.cfg.secretSource())
	case "700016":
		e.Msg = "AADSTS700016: the application was not found in this tenant"
		e.Fix = fmt.Sprintf("Check ClientID %s (the Application (client) ID on the app's Overview page) and TenantID %s; an app registered in another tenant must first be consented to by an admin of this one.", app, tenant)
	case "90002":
		e.Msg = "AADSTS90002: the tenant was not found"
		e.Fix = fmt.Sprintf("Check TenantID %s (the Directory (tenant) ID or the tenant's primary domain) and Cloud %s: a US Government or China tenant exists only in its own cloud.", tenant, p.cfg.cloud())
	case "900023":
		e.Msg = "AADSTS900023: the tenant identifier is malformed"
		e.Fix = "Set TenantID to the Directory (tenant) ID GUID from the app's Overview page, or to the tenant's primary domain such as contoso.onmicrosoft.com."
	case "700027", "700024", "50012":
		e.Msg = "AADSTS" + code + ": the certificate assertion was refused"
		e.Fix = fmt.Sprintf("Upload the certificate's public part (.cer or .pem) to Entra ID > App registrations > app %s > Certificates & secrets, and check that %s holds the matching private key.", app, p.cfg.secretSource())
	case "":
		e.Msg = "sign-in failed: " + firstLine(err.Error())
		e.Fix = fmt.Sprintf("Check that this server can reach %s and that TenantID, ClientID and the credential in %s are right; run lintel-server doctor.", p.authority, p.cfg.secretSource())
	default:
		e.Msg = "sign-in failed with AADSTS" + code + ": " + firstLine(err.Error())
		e.Fix = "Look the code up at https://login.microsoftonline.com/error?code=" + code + " and check the app registration."
	}
	e.Msg = p.redact(e.Msg)
	return fmt.Errorf("graph: %w", e)
}

// redact removes the secret from text that may have come from elsewhere
// (an SDK error, a Graph message). Lintel never puts the secret into an
// error itself; this is the second line of defence.
func (p *Provider) redact(s string) string {
	for _, secret := range p.secrets {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[REDACTED]")
		}
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(s)
}

func headerRetryAfter(h *abs.ResponseHeaders) time.Duration {
	if h == nil {
		return 0
	}
	for _, v := range h.Get("Retry-After") {
		if d, ok := retryAfter(v); ok {
			return d
		}
	}
	return 0
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// statusOf maps an error kind to the doctor's status word.
func statusOf(err error) calendar.Status { return calendar.StatusOf(err) }

// asCalendarError finds the *calendar.Error in err's chain.
func asCalendarError(err error) (*calendar.Error, bool) {
	var ce *calendar.Error
	ok := errors.As(err, &ce)
	return ce, ok
}
