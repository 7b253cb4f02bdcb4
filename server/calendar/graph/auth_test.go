package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
)

// testdata/lintel-test.pem and .pfx hold the same throwaway certificate
// and key (openssl req -x509 ...; the PFX password is pfxPassword). They
// exist only for these tests.
const pfxPassword = "pfx-pass-123"

func TestCertificateAuth(t *testing.T) {
	for _, tc := range []struct {
		name, file, passwordEnv string
	}{
		{"PEM", "testdata/lintel-test.pem", ""},
		{"PFX", "testdata/lintel-test.pfx", "LINTEL_TEST_PFX_PASSWORD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.passwordEnv != "" {
				t.Setenv(tc.passwordEnv, pfxPassword)
			}
			e := newEnv(t, graphtest.Options{}, func(c *Config) {
				c.ClientSecretFile = ""
				c.CertificateFile = tc.file
				c.CertificatePasswordEnv = tc.passwordEnv
			})
			data, _ := os.ReadFile("testdata/lintel-test.pem")
			certs, _, err := azidentity.ParseCertificates(data, nil)
			if err != nil {
				t.Fatal(err)
			}
			e.srv.AddApp(graphtest.App{ClientID: testClientID, Certificate: certs[0]})
			room := e.room("aurora")
			e.srv.AddEvent(room, meeting("Design review", at(9, 0), at(10, 0)))

			got, err := e.p.Events(context.Background(), []string{room}, day, day.Add(24*time.Hour))
			if err != nil || got[room].Err != nil || len(got[room].Events) != 1 {
				t.Fatalf("Events: %v %+v", err, got[room])
			}
			if strings.Contains(e.logs.String(), pfxPassword) {
				t.Error("the PFX password appears in the logs")
			}
		})
	}
}

func TestCertificateNotRegistered(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, func(c *Config) {
		c.ClientSecretFile = ""
		c.CertificateFile = "testdata/lintel-test.pem"
	})
	// The app has only a secret: the certificate is unknown to Entra ID.
	d := e.p.Check(context.Background(), e.room("aurora"))
	if d.Status != calendar.StatusAuthFailed || !strings.Contains(d.Detail, "AADSTS700027") || !strings.Contains(d.Fix, "Upload the certificate") {
		t.Errorf("got %+v", d)
	}
}

func TestSecretFromEnvironment(t *testing.T) {
	t.Setenv("LINTEL_TEST_GRAPH_SECRET", testSecret)
	e := newEnv(t, graphtest.Options{}, func(c *Config) {
		c.ClientSecretFile = ""
		c.ClientSecretEnv = "LINTEL_TEST_GRAPH_SECRET"
	})
	if d := e.p.Check(context.Background(), e.room("aurora")); d.Status != calendar.StatusOK {
		t.Errorf("got %+v", d)
	}
}

// Each sign-in mistake admins make gets its own sentence, and neither the
// sentence nor the error carries the secret.
func TestSignInDiagnoses(t *testing.T) {
	for _, tc := range []struct {
		name     string
		edit     func(*Config)
		app      *graphtest.App
		wantCode string
		wantFix  string
	}{
		{
			name:     "secret ID pasted instead of its value",
			app:      &graphtest.App{ClientID: testClientID, Secret: "the-real-value-" + testSecret[:5], SecretID: "5e4d3c2b-aaaa-4bbb-8ccc-ddddeeeeffff"},
			wantCode: "AADSTS7000215",
			wantFix:  "not its Secret ID",
		},
		{
			name:     "secret expired",
			app:      &graphtest.App{ClientID: testClientID, Secret: testSecret, SecretExpired: true},
			wantCode: "AADSTS7000222",
			wantFix:  "Create a new client secret",
		},
		{
			name:     "app not in this tenant",
			edit:     func(c *Config) { c.ClientID = "99999999-9999-4999-8999-999999999999" },
			wantCode: "AADSTS700016",
			wantFix:  "Check ClientID",
		},
		{
			name:     "tenant not found",
			edit:     func(c *Config) { c.TenantID = "fabrikam.onmicrosoft.com" },
			wantCode: "AADSTS90002",
			wantFix:  "Check TenantID",
		},
		{
			name:     "tenant malformed",
			edit:     func(c *Config) { c.TenantID = "contoso" },
			wantCode: "AADSTS900023",
			wantFix:  "Directory (tenant) ID GUID",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, graphtest.Options{}, tc.edit)
			if tc.app != nil {
				e.srv.AddApp(*tc.app)
			}
			room := e.room("aurora")

			_, err := e.p.Events(context.Background(), []string{room}, day, day.Add(time.Hour))
			if !errors.Is(err, calendar.ErrAuth) {
				t.Fatalf("Events: err = %v, want ErrAuth for all rooms", err)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Error("the error carries the secret")
			}
			d := e.p.Check(context.Background(), room)
			if d.Status != calendar.StatusAuthFailed || !strings.Contains(d.Detail, tc.wantCode) || !strings.Contains(d.Fix, tc.wantFix) {
				t.Errorf("Check = %+v\nwant %s and a fix saying %q", d, tc.wantCode, tc.wantFix)
			}
			rep := e.p.Doctor(context.Background(), []string{room})
			out, _ := json.Marshal(rep)
			if strings.Contains(string(out), testSecret) || strings.Contains(fmt.Sprint(rep), testSecret) {
				t.Error("the report carries the secret")
			}
			if rep.OK() || rep.Tenant.Checks[0].Name != CheckSignIn || rep.Tenant.Checks[0].Level != LevelFail {
				t.Errorf("report %+v: want a failed sign-in check", rep.Tenant)
			}
		})
	}
}

func TestConfigNeverPrintsSecrets(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("cfg", "config", e.cfg, "provider", e.p)
	for _, s := range []string{
		e.cfg.String(), fmt.Sprintf("%v", e.cfg), fmt.Sprintf("%+v", e.p), fmt.Sprintf("%#v", e.p), fmt.Sprint(e.p), buf.String(),
	} {
		if strings.Contains(s, testSecret) {
			t.Errorf("printed config carries the secret: %s", s)
		}
		if !strings.Contains(s, "client secret") {
			t.Errorf("printed config does not say how it signs in: %s", s)
		}
	}
}

func TestValidate(t *testing.T) {
	good := Config{TenantID: "t", ClientID: "c", ClientSecretFile: "/run/secrets/graph"}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no tenant", func(c *Config) { c.TenantID = "" }, "TenantID is required"},
		{"two credentials", func(c *Config) { c.CertificateFile = "x.pem" }, "exactly one"},
		{"no credential", func(c *Config) { c.ClientSecretFile = "" }, "exactly one"},
		{"secret in the env field", func(c *Config) { c.ClientSecretFile, c.ClientSecretEnv = "", testSecret }, "NAME of an environment variable"},
		{"unknown cloud", func(c *Config) { c.Cloud = "mars" }, `Cloud "mars" is unknown`},
		{"custom without URLs", func(c *Config) { c.Cloud = CloudCustom }, "AuthorityHost needs an https URL, e.g. https://login.microsoftonline.us"},
		{"bad tenant", func(c *Config) { c.TenantID = "contoso tenant" }, `TenantID "contoso tenant" is not valid`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Error("the error echoes the secret")
			}
			if fes := FieldErrors(err); len(fes) == 0 || fes[0].Field == "" || fes[0].Problem == "" {
				t.Errorf("FieldErrors(%v) = %v: want the field and the problem", err, fes)
			}
		})
	}
	// Every problem at once, in a stable order.
	err := Config{Cloud: CloudCustom, ClientSecretFile: "x"}.Validate()
	var fields []string
	for _, fe := range FieldErrors(err) {
		fields = append(fields, fe.Field)
	}
	if strings.Join(fields, ",") != "TenantID,ClientID,AuthorityHost,GraphBaseURL" {
		t.Errorf("fields %v", fields)
	}
}

func TestCloudEndpoints(t *testing.T) {
	for cloud, want := range map[Cloud][2]string{
		"":             {"https://login.microsoftonline.com/", "https://graph.microsoft.com/v1.0"},
		CloudUSGovHigh: {"https://login.microsoftonline.us/", "https://graph.microsoft.us/v1.0"},
		CloudDoD:       {"https://login.microsoftonline.us/", "https://dod-graph.microsoft.us/v1.0"},
		CloudChina:     {"https://login.chinacloudapi.cn/", "https://microsoftgraph.chinacloudapi.cn/v1.0"},
	} {
		a, g, err := Config{Cloud: cloud}.endpoints()
		if err != nil || a != want[0] || g != want[1] {
			t.Errorf("%q: got %s %s %v", cloud, a, g, err)
		}
	}
	// New builds a provider for a national cloud without contacting it.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "s"), []byte(testSecret), 0o600)
	p, err := New(context.Background(), Config{TenantID: "t.onmicrosoft.us", ClientID: "c", ClientSecretFile: filepath.Join(dir, "s"), Cloud: CloudUSGovHigh})
	if err != nil {
		t.Fatal(err)
	}
	if p.scope != "https://graph.microsoft.us/.default" {
		t.Errorf("scope = %s", p.scope)
	}
}

func TestMissingSecretFile(t *testing.T) {
	_, err0 := New(context.Background(), Config{TenantID: "not_a_tenant", ClientID: "c", ClientSecretEnv: "HOME"})
	if err0 == nil || !strings.Contains(err0.Error(), "Directory (tenant) ID") {
		t.Errorf("malformed tenant: err = %v", err0)
	}
	_, err := New(context.Background(), Config{TenantID: "t", ClientID: "c", ClientSecretFile: "/nonexistent/secret"})
	if err == nil || !strings.HasPrefix(err.Error(), "graph: reading the client secret") {
		t.Errorf("err = %v", err)
	}
	_, err = New(context.Background(), Config{TenantID: "t", ClientID: "c", ClientSecretEnv: "LINTEL_TEST_UNSET_VARIABLE"})
	if err == nil || !strings.Contains(err.Error(), "LINTEL_TEST_UNSET_VARIABLE is empty or unset") {
		t.Errorf("err = %v", err)
	}
}
