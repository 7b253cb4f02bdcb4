package main

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/admin/oidctest"
	"github.com/lintelhq/lintel/server/devices"
)

// Entra group and app role the test maps to Lintel's roles.
const (
	adminsGroup  = "2b7c9f1e-5a1d-4c3e-9f00-0000000000a1"
	helpdeskRole = "Lintel.Helpdesk"
)

// signinServer starts the test OIDC provider and a server whose flags
// point sign-in at it.
func signinServer(t *testing.T) (*testServer, *oidctest.Provider) {
	t.Helper()
	var p *oidctest.Provider
	secretFile := filepath.Join(t.TempDir(), "oidc-secret")
	os.WriteFile(secretFile, []byte("the sign-in app's secret\n"), 0o600)
	ts := newTestServerWith(t, func(c *config) {
		p = oidctest.New(oidctest.Opts{
			ClientID: "6731de76-14a6-49ae-97bc-6eba6914391e", ClientSecret: "the sign-in app's secret",
			RedirectURL: c.PublicURL + "/login/oidc/callback", Now: c.Now,
			Users: []oidctest.User{
				{Username: "ada@contoso.test", Name: "Ada Admin", OID: "oid-ada", Groups: []string{"g-sales", adminsGroup}},
				{Username: "hal@contoso.test", Name: "Hal Helpdesk", OID: "oid-hal", Roles: []string{helpdeskRole}},
				{Username: "eve@contoso.test", Name: "Eve Outsider", OID: "oid-eve", Groups: []string{"g-sales"}},
				{Username: "max@contoso.test", Name: "Max Manygroups", OID: "oid-max", TooManyGroups: true},
			},
		})
		t.Cleanup(p.Close)
		c.OIDC = &admin.OIDCSettings{Issuer: p.Issuer, ClientID: "6731de76-14a6-49ae-97bc-6eba6914391e", SecretFile: secretFile,
			Roles: map[string][]string{admin.RoleAdmin: {adminsGroup}, admin.RoleHelpdesk: {helpdeskRole}}}
		c.OIDCClient = p.Client()
	})
	return ts, p
}

// TestSignInWithEntraIDInTheBrowser: in a real browser, a person in the
// mapped group signs in as admin, one with the mapped app role as
// helpdesk (kept out of the admin-only pages), one in no mapped group is
// refused with a clear message, and a tampered ID token or a wrong nonce
// is refused. The local account keeps working beside it.
func TestSignInWithEntraIDInTheBrowser(t *testing.T) {
	ctx := browser(t, chromedp.Flag("ignore-certificate-errors", true)) // the provider's test certificate
	ts, p := signinServer(t)
	if err := admin.CreateAdmin(ts.app.db, testAdmin, testPassword, ts.now()); err != nil {
		t.Fatal(err)
	}
	// signIn goes from the login page through the provider as user and
	// returns the text of the page it ends on.
	signIn := func(user, waitFor string) string {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.Navigate(ts.http.URL+"/devices"),
			chromedp.WaitVisible(`#sso`),
			chromedp.Click(`#sso`),
			chromedp.WaitVisible(`button[value="`+user+`"]`),
			chromedp.Click(`button[value="`+user+`"]`),
			chromedp.WaitVisible(waitFor),
		)
		if err != nil {
			t.Fatalf("signing in as %s: %v", user, err)
		}
		return text(t, ctx, `body`)
	}
	logout := func() {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Click(`form.logout button`), chromedp.WaitVisible(`#sso`)); err != nil {
			t.Fatal(err)
		}
	}
	err := chromedp.Do(ctx, chromedp.Navigate(ts.http.URL+"/rooms"), chromedp.WaitVisible(`#sso`), shot("login-entra"),
		chromedp.EmulateViewport(390, 800), shot("login-entra-390"), chromedp.EmulateViewport(1100, 900))
	if err != nil {
		t.Fatal(err)
	}

	// A member of the admins group: admin, back on the page asked for.
	signIn("ada@contoso.test", `ul.devices, p.empty`)
	if who := text(t, ctx, `#who`); who != "ada@contoso.test (admin)" {
		t.Errorf("header says %q", who)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !strings.HasSuffix(loc, "/devices") {
		t.Errorf("after sign-in the browser is at %s, want /devices", loc)
	}
	err = chromedp.Do(ctx, chromedp.Navigate(ts.http.URL+"/signin"), chromedp.WaitVisible(`#signin`), shot("signin"),
		chromedp.EmulateViewport(390, 800), shot("signin-390"), chromedp.EmulateViewport(1100, 900))
	if err != nil {
		t.Fatal(err)
	}
	if html, _ := chromedp.Run(ctx, chromedp.OuterHTML("html")); strings.Contains(html, "the sign-in app's secret") {
		t.Error("the sign-in page shows the client secret")
	}
	if got := text(t, ctx, `#redirect-uri`); got != ts.http.URL+"/login/oidc/callback" {
		t.Errorf("redirect URI shown: %q", got)
	}
	logout()

	// An app role mapped to helpdesk: signed in, but not to admin pages.
	signIn("hal@contoso.test", `ul.devices, p.empty`)
	if who := text(t, ctx, `#who`); who != "hal@contoso.test (helpdesk)" {
		t.Errorf("header says %q", who)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.http.URL+"/alerts"), chromedp.WaitVisible(`.flash.err`)); err != nil {
		t.Fatal(err)
	}
	if msg := text(t, ctx, `.flash.err`); !strings.Contains(msg, "This page is for admins") {
		t.Errorf("helpdesk on /alerts: %q", msg)
	}
	logout()

	// In no mapped group: refused, and told why.
	page := signIn("eve@contoso.test", `.flash.err`)
	if msg := text(t, ctx, `.flash.err`); !strings.Contains(msg, "eve@contoso.test") || !strings.Contains(msg, "in no Entra group or app role that Lintel maps to admin or helpdesk") {
		t.Errorf("refusal: %q", msg)
	}
	chromedp.Do(ctx, shot("signin-refused"))
	if strings.Contains(page, "Log out") {
		t.Error("a refused person got a session")
	}
	// Too many groups for the token: told what to change.
	signIn("max@contoso.test", `.flash.err`)
	if msg := text(t, ctx, `.flash.err`); !strings.Contains(msg, "too many groups") {
		t.Errorf("group overage: %q", msg)
	}

	// A tampered ID token (promoted to admin after signing) and a token
	// for another sign-in's nonce are refused.
	p.Tamper(oidctest.TamperSignature)
	signIn("eve@contoso.test", `.flash.err`)
	if msg := text(t, ctx, `.flash.err`); !strings.Contains(msg, "ID token from Microsoft is not valid") || !strings.Contains(msg, "signature") {
		t.Errorf("tampered token: %q", msg)
	}
	p.Tamper(oidctest.TamperNonce)
	signIn("ada@contoso.test", `.flash.err`)
	if msg := text(t, ctx, `.flash.err`); !strings.Contains(msg, "nonce mismatch") {
		t.Errorf("wrong nonce: %q", msg)
	}
	if n := p.Issued(); n != 6 {
		t.Errorf("the provider issued %d ID tokens, want 6", n)
	}
	// The local account still works (break-glass).
	err = chromedp.Do(ctx,
		chromedp.Navigate(ts.http.URL+"/login"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, testAdmin),
		chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Submit(`input[name=password]`),
		chromedp.WaitVisible(`#test-all`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if who := text(t, ctx, `#who`); who != testAdmin {
		t.Errorf("local account header: %q", who)
	}
}

// TestSignInRefusesForgedAnswers drives the flow with a plain HTTP
// client: an answer whose state is not this browser's, one without the
// flow's cookie, an expired or misaddressed ID token, and a wrong client
// secret are refused; a good one makes a session with the mapped role.
func TestSignInRefusesForgedAnswers(t *testing.T) {
	ts, p := signinServer(t)
	newClient := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar, Transport: p.Client().Transport}
	}
	// start follows the flow to the provider's page and picks user there;
	// it returns the callback URL the provider sent back, not yet visited.
	start := func(c *http.Client, user string) *url.URL {
		t.Helper()
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), ts.http.URL+"/login/oidc/callback") {
				return http.ErrUseLastResponse
			}
			return nil
		}
		resp, err := c.Get(ts.http.URL + "/login/oidc?next=/devices")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		authz := resp.Request.URL // the provider's page, after the redirect
		q := authz.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
			t.Fatalf("the authorization request lacks PKCE, nonce or state: %s", authz)
		}
		form := url.Values{"user": {user}}
		for k := range q {
			form.Set(k, q.Get(k))
		}
		resp, err = c.PostForm(authz.String(), form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		back, err := resp.Location()
		if err != nil {
			t.Fatalf("no redirect back: %d", resp.StatusCode)
		}
		return back
	}
	finish := func(c *http.Client, back *url.URL) (int, string) {
		t.Helper()
		resp, err := c.Get(back.String())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}

	// A good sign-in: a session with the admin role.
	c := newClient()
	code, body := finish(c, start(c, "ada@contoso.test"))
	if code != http.StatusOK || !strings.Contains(body, "Signed in as ada@contoso.test (admin)") || !strings.Contains(body, `url=/devices`) {
		t.Fatalf("good sign-in: %d %s", code, body)
	}
	var sess string
	for _, ck := range c.Jar.Cookies(mustURL(ts.http.URL)) {
		if ck.Name == "lintel_session" {
			sess = ck.Value
		}
	}
	if s, err := ts.app.db.Session(devices.HashToken(sess), ts.now()); err != nil || s.Admin != "ada@contoso.test" || s.Role != admin.RoleAdmin {
		t.Errorf("session: %+v %v", s, err)
	}

	// The state of another browser's sign-in.
	c = newClient()
	back := start(c, "ada@contoso.test")
	q := back.Query()
	q.Set("state", "someone-elses-state")
	back.RawQuery = q.Encode()
	if code, body := finish(c, back); code != http.StatusBadRequest || !strings.Contains(body, "state mismatch") {
		t.Errorf("forged state: %d", code)
	}
	// An answer delivered to a browser that never started a sign-in
	// (login CSRF): no flow cookie.
	back = start(newClient(), "ada@contoso.test")
	if code, body := finish(newClient(), back); code != http.StatusBadRequest || !strings.Contains(body, "start again") {
		t.Errorf("no flow cookie: %d", code)
	}
	// A code used twice.
	c = newClient()
	back = start(c, "ada@contoso.test")
	finish(c, back)
	c2 := newClient()
	back2 := start(c2, "ada@contoso.test")
	q = back2.Query()
	q.Set("code", back.Query().Get("code"))
	back2.RawQuery = q.Encode()
	if code, body := finish(c2, back2); code != http.StatusBadGateway || !strings.Contains(body, "AADSTS70008") {
		t.Errorf("a code used twice: %d", code)
	}
	// Tokens for another app, or expired.
	for kind, want := range map[string]string{oidctest.TamperAudience: "audience", oidctest.TamperExpired: "expired"} {
		p.Tamper(kind)
		c = newClient()
		if code, body := finish(c, start(c, "ada@contoso.test")); code != http.StatusUnauthorized || !strings.Contains(body, want) {
			t.Errorf("%s token: %d %s", kind, code, body)
		}
	}
	// An error from the provider is shown, not a blank page.
	c = newClient()
	back = start(c, "ada@contoso.test")
	back.RawQuery = url.Values{"error": {"access_denied"}, "error_description": {"AADSTS65004: User declined to consent."}, "state": {back.Query().Get("state")}}.Encode()
	if code, body := finish(c, back); code != http.StatusUnauthorized || !strings.Contains(body, "User declined to consent") {
		t.Errorf("provider error: %d", code)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// TestOIDCFlags: the sign-in flags and their environment variables make
// settings, need a secret that is never a flag, and say which flag is
// wrong.
func TestOIDCFlags(t *testing.T) {
	parse := func(env map[string]string, args ...string) (*admin.OIDCSettings, error) {
		c := Context{Getenv: func(k string) string { return env[k] }, Stderr: &strings.Builder{}}
		fs := c.flags("serve")
		get := c.oidcFlags(fs)
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		return get()
	}
	if o, err := parse(nil); o != nil || err != nil {
		t.Errorf("no flags: %+v %v", o, err)
	}
	o, err := parse(map[string]string{"LINTEL_OIDC_CLIENT_SECRET": "s", "LINTEL_OIDC_HELPDESK": "Lintel.Helpdesk"},
		"--oidc-tenant", "contoso.onmicrosoft.com", "--oidc-client", "6731de76-14a6-49ae-97bc-6eba6914391e",
		"--oidc-admins", "g1, Lintel.Admin", "--oidc-secret-expires", "2027-06-30")
	if err != nil || o.SecretEnv != "LINTEL_OIDC_CLIENT_SECRET" || strings.Join(o.Roles["admin"], "|") != "g1|Lintel.Admin" ||
		o.Roles["helpdesk"][0] != "Lintel.Helpdesk" || o.SecretExpires.Format("2006-01-02") != "2027-06-30" {
		t.Errorf("flags: %+v %v", o, err)
	}
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--oidc-tenant", "t", "--oidc-client", "c", "--oidc-admins", "a"}, "--oidc-secret-file or LINTEL_OIDC_CLIENT_SECRET"},
		{map[string]string{"LINTEL_OIDC_CLIENT_SECRET": "s"}, []string{"--oidc-tenant", "common", "--oidc-client", "c", "--oidc-admins", "a"}, "--oidc-tenant"},
		{map[string]string{"LINTEL_OIDC_CLIENT_SECRET": "s"}, []string{"--oidc-tenant", "t", "--oidc-client", "c"}, "--oidc-admins/--oidc-helpdesk"},
		{map[string]string{"LINTEL_OIDC_CLIENT_SECRET": "s"}, []string{"--oidc-tenant", "t", "--oidc-client", "c", "--oidc-admins", "a", "--oidc-secret-expires", "June"}, "not a date"},
	} {
		if _, err := parse(c.env, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: want %q, got %v", c.args, c.want, err)
		}
	}
}
