package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/lintelhq/lintel/server/admin"
)

// oidcFlags adds the Entra ID sign-in flags to serve. As for Microsoft
// 365, the client secret is never a flag: it comes from a file or the
// environment variable LINTEL_OIDC_CLIENT_SECRET.
func (c Context) oidcFlags(fs *flag.FlagSet) func() (*admin.OIDCSettings, error) {
	tenant := fs.String("oidc-tenant", c.env("LINTEL_OIDC_TENANT", ""), "admin sign-in with Entra ID: directory (tenant) ID (env LINTEL_OIDC_TENANT; default: what the admin set under Sign-in)")
	client := fs.String("oidc-client", c.env("LINTEL_OIDC_CLIENT", ""), "admin sign-in with Entra ID: the sign-in app's application (client) ID (env LINTEL_OIDC_CLIENT)")
	issuer := fs.String("oidc-issuer", c.env("LINTEL_OIDC_ISSUER", ""), "admin sign-in: the OpenID issuer, for national clouds (default https://login.microsoftonline.com/<tenant>/v2.0)")
	secretFile := fs.String("oidc-secret-file", c.env("LINTEL_OIDC_SECRET_FILE", ""), "admin sign-in: file holding the client secret's value (or set LINTEL_OIDC_CLIENT_SECRET)")
	expires := fs.String("oidc-secret-expires", c.env("LINTEL_OIDC_SECRET_EXPIRES", ""), "admin sign-in: the client secret's expiry date (YYYY-MM-DD): alerts 30 days ahead")
	admins := fs.String("oidc-admins", c.env("LINTEL_OIDC_ADMINS", ""), "admin sign-in: comma-separated Entra group object IDs or app role values whose members are admins")
	helpdesk := fs.String("oidc-helpdesk", c.env("LINTEL_OIDC_HELPDESK", ""), "admin sign-in: comma-separated Entra group object IDs or app role values whose members are helpdesk")
	return func() (*admin.OIDCSettings, error) {
		if *tenant == "" && *client == "" && *issuer == "" {
			return nil, nil
		}
		o := &admin.OIDCSettings{TenantID: *tenant, ClientID: *client, Issuer: *issuer, Roles: map[string][]string{}}
		split := func(s string) []string {
			var out []string
			for _, v := range strings.Split(s, ",") {
				if v = strings.TrimSpace(v); v != "" {
					out = append(out, v)
				}
			}
			return out
		}
		if v := split(*admins); len(v) > 0 {
			o.Roles[admin.RoleAdmin] = v
		}
		if v := split(*helpdesk); len(v) > 0 {
			o.Roles[admin.RoleHelpdesk] = v
		}
		switch {
		case *secretFile != "":
			o.SecretFile = *secretFile
		case c.Getenv("LINTEL_OIDC_CLIENT_SECRET") != "":
			o.SecretEnv = "LINTEL_OIDC_CLIENT_SECRET"
		default:
			return nil, errors.New("--oidc-client needs its client secret: --oidc-secret-file or LINTEL_OIDC_CLIENT_SECRET")
		}
		if *expires != "" {
			t, err := time.Parse("2006-01-02", *expires)
			if err != nil {
				return nil, fmt.Errorf("--oidc-secret-expires %q is not a date like 2027-06-30", *expires)
			}
			o.SecretExpires = t
		}
		if err := o.Validate(); err != nil {
			r := strings.NewReplacer("client_id", "--oidc-client", "tenant_id", "--oidc-tenant", "issuer", "--oidc-issuer",
				"roles.admin", "--oidc-admins", "roles.helpdesk", "--oidc-helpdesk", "roles:", "--oidc-admins/--oidc-helpdesk:")
			return nil, errors.New(r.Replace(err.Error()))
		}
		return o, nil
	}
}
