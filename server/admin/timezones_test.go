package admin

import (
	"archive/zip"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // as the server binary: every zone loads on any machine

	"github.com/lintelhq/lintel/server/admin/internal/tzlist"
)

// TestTimeZoneListIsGos: the picker offers exactly the zones of the zone
// database Go embeds (run go generate ./server/admin after a Go update),
// and each one loads.
func TestTimeZoneListIsGos(t *testing.T) {
	root, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skipf("no go command to find Go's zoneinfo.zip: %v", err)
	}
	zr, err := zip.OpenReader(filepath.Join(strings.TrimSpace(string(root)), "lib", "time", "zoneinfo.zip"))
	if err != nil {
		t.Skipf("Go's zoneinfo.zip is not available: %v", err)
	}
	defer zr.Close()
	var all []string
	for _, f := range zr.File {
		all = append(all, f.Name)
	}
	want, got := tzlist.Filter(all), timeZoneNames()
	if !slices.Equal(got, want) {
		t.Errorf("timezones.txt has %d zones, Go's database %d: run go generate ./server/admin", len(got), len(want))
	}
	for _, name := range got {
		if _, err := time.LoadLocation(name); err != nil {
			t.Errorf("%s does not load: %v", name, err)
		}
	}
	for _, must := range []string{"UTC", "Europe/Zurich", "America/New_York", "Asia/Tokyo", "Australia/Sydney"} {
		if !slices.Contains(got, must) {
			t.Errorf("the picker lacks %s", must)
		}
	}
}

func TestZoneGroupsKeepAnAlias(t *testing.T) {
	groups := zoneGroups("US/Eastern")
	if len(groups) < 10 || groups[0].Zones[0].Name != "US/Eastern" {
		t.Errorf("a room's alias zone is not offered first: %+v", groups[0])
	}
	for _, g := range zoneGroups("Europe/Zurich") {
		for _, z := range g.Zones {
			if z.Name == "US/Eastern" {
				t.Error("an alias nobody uses is offered")
			}
			if z.Name == "America/Argentina/Buenos_Aires" && z.Label != "America/Argentina/Buenos Aires" {
				t.Errorf("label %q", z.Label)
			}
		}
	}
}
