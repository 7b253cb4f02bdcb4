package admin

import (
	"strings"
	"testing"
)

func TestRoleFor(t *testing.T) {
	o := OIDCSettings{TenantID: "contoso.onmicrosoft.com", ClientID: "app", Roles: map[string][]string{
		RoleAdmin:    {"g-admins", "Lintel.Admin"},
		RoleHelpdesk: {"g-helpdesk", "Lintel.Helpdesk"},
	}}
	for _, c := range []struct {
		groups, roles []string
		want          string
	}{
		{[]string{"g-admins"}, nil, RoleAdmin},
		{nil, []string{"Lintel.Admin"}, RoleAdmin},
		{[]string{"g-helpdesk"}, nil, RoleHelpdesk},
		{nil, []string{"Lintel.Helpdesk"}, RoleHelpdesk},
		{[]string{"g-helpdesk", "g-admins"}, nil, RoleAdmin}, // admin wins
		{[]string{"g-sales"}, []string{"Other.Role"}, ""},
		{nil, nil, ""},
		{[]string{"G-ADMINS"}, nil, ""}, // IDs match exactly
	} {
		if got := o.RoleFor(c.groups, c.roles); got != c.want {
			t.Errorf("groups %v roles %v: %q, want %q", c.groups, c.roles, got, c.want)
		}
	}
}

func TestOIDCSettingsValidate(t *testing.T) {
	good := OIDCSettings{TenantID: "11111111-2222-3333-4444-555555555555", ClientID: "6731de76-14a6-49ae-97bc-6eba6914391e",
		Roles: map[string][]string{RoleAdmin: {"2b7c9f1e-0000-4000-8000-000000000001"}}}
	if err := good.Validate(); err != nil {
		t.Fatalf("good: %v", err)
	}
	if err := (OIDCSettings{}).Validate(); err != nil {
		t.Errorf("off: %v", err)
	}
	if got := good.IssuerURL(); got != "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0" {
		t.Errorf("issuer %s", got)
	}
	for _, c := range []struct {
		change func(*OIDCSettings)
		want   string
	}{
		{func(o *OIDCSettings) { o.TenantID = "common" }, `"common" and "organizations" are not allowed`},
		{func(o *OIDCSettings) { o.TenantID = "a/b" }, "tenant_id"},
		{func(o *OIDCSettings) { o.ClientID = "" }, "needs both client_id and tenant_id"},
		{func(o *OIDCSettings) { o.Issuer = "http://login.example/v2.0" }, "https://"},
		{func(o *OIDCSettings) { o.Roles = nil }, "nobody can sign in"},
		{func(o *OIDCSettings) { o.Roles = map[string][]string{"owner": {"x"}} }, `"owner" is not a role`},
		{func(o *OIDCSettings) { o.Roles = map[string][]string{RoleAdmin: {"a b"}} }, "not a group object ID"},
		{func(o *OIDCSettings) { o.Roles = map[string][]string{RoleAdmin: make([]string, 51)} }, "at most 50"},
	} {
		o := good
		c.change(&o)
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want %q, got %v", c.want, err)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{"/devices": "/devices", "https://evil.example/": "/rooms", "//evil.example": "/rooms", `/\evil.example`: "/rooms", "": "/rooms"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
