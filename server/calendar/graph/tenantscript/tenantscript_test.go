package tenantscript

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.ps1")

func opts() Options {
	return Options{
		TenantID:           "7d3f1c2a-5b6e-4f80-9a1b-2c3d4e5f6a7b",
		AppID:              "4a1f0c3e-8b2d-4e6f-9a7b-1c2d3e4f5a6b",
		ServicePrincipalID: "0c9d8e7f-0000-4111-8222-333344445555",
		Rooms:              []string{"aurora@contoso.com", "borealis@contoso.com"},
		Canary:             "ceo@contoso.com",
		Places:             true,
	}
}

// The golden files are what an admin runs; review a diff like code.
func TestGolden(t *testing.T) {
	for name, edit := range map[string]func(*Options){
		"rbac":   func(*Options) {},
		"policy": func(o *Options) { o.Restrict = Policy; o.Cloud = "usgovhigh"; o.Places = false },
	} {
		t.Run(name, func(t *testing.T) {
			o := opts()
			edit(&o)
			got, err := Render(o)
			if err != nil {
				t.Fatal(err)
			}
			file := "testdata/" + name + ".ps1"
			if *update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err, "(run with -update)")
			}
			if got != string(want) {
				t.Errorf("script differs from %s (run with -update and review the diff):\n%s", file, got)
			}
		})
	}
}

func TestRequiredCommands(t *testing.T) {
	for _, restrict := range []Restriction{RBAC, Policy} {
		o := opts()
		o.Restrict = restrict
		s, err := Render(o)
		if err != nil {
			t.Fatal(err)
		}
		live := map[Restriction][]string{
			RBAC:   {"\n    New-ServicePrincipal ", "\n    New-ManagementScope ", "\n    New-ManagementRoleAssignment -App $AppId -Role 'Application Calendars.ReadWrite'", "\nTest-ServicePrincipalAuthorization -Identity $AppId -Resource $Canary"},
			Policy: {"\n    New-ApplicationAccessPolicy -AppId $AppId -PolicyScopeGroupId $group.PrimarySmtpAddress -AccessRight RestrictAccess", "\nTest-ApplicationAccessPolicy -Identity $Canary -AppId $AppId"},
		}
		for _, want := range append(live[restrict],
			"New-DistributionGroup -Name $GroupName -Alias $GroupAlias -Type Security",
			"Add-DistributionGroupMember -Identity $GroupAlias -Member $room",
			"Set-CalendarProcessing -Identity $room -DeleteSubject $false -AddOrganizerToSubject $false -RemovePrivateProperty $false",
			"'aurora@contoso.com',\n    'borealis@contoso.com'\n)",
			"Place.Read.All",
		) {
			if !strings.Contains(s, want) {
				t.Errorf("%s script lacks %q", restrict, want)
			}
		}
		// The other way is there, but only as comments.
		other := map[Restriction]string{RBAC: "New-ApplicationAccessPolicy", Policy: "New-ManagementRoleAssignment"}[restrict]
		for _, line := range strings.Split(s, "\n") {
			if strings.Contains(line, other) && !strings.HasPrefix(line, "#") {
				t.Errorf("%s script runs %s: %q", restrict, other, line)
			}
		}
	}
}

func TestQuoting(t *testing.T) {
	o := opts()
	o.Rooms = []string{"o'brien@contoso.com", "x\u2019; Remove-Mailbox ceo@contoso.com; '@contoso.com"}
	s, err := Render(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"'o''brien@contoso.com'", "'x\u2019\u2019; Remove-Mailbox ceo@contoso.com; ''@contoso.com'"} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %s", want)
		}
	}
	o.Rooms = []string{"a@b\nRemove-Mailbox x"}
	if _, err := Render(o); err == nil {
		t.Error("a line break in a room was accepted")
	}
}

func TestErrors(t *testing.T) {
	for name, edit := range map[string]func(*Options){
		"no rooms":      func(o *Options) { o.Rooms = nil },
		"no app":        func(o *Options) { o.AppID = "" },
		"unknown cloud": func(o *Options) { o.Cloud = "mars" },
		"bad restrict":  func(o *Options) { o.Restrict = "both" },
	} {
		o := opts()
		edit(&o)
		if _, err := Render(o); err == nil || !strings.HasPrefix(err.Error(), "tenantscript: ") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestMissingServicePrincipalStops(t *testing.T) {
	o := opts()
	o.ServicePrincipalID = ""
	s, _ := Render(o)
	if !strings.Contains(s, "$ServicePrincipalId = '<Object ID of the enterprise application>'") || !strings.Contains(s, "throw 'Set $ServicePrincipalId") {
		t.Error("without a service principal ID the script does not stop and ask for it")
	}
}
