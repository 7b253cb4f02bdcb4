package admin

import (
	_ "embed"
	"strings"
)

//go:generate go run ./internal/gentz timezones.txt

// timezonesTxt lists the IANA zones the room form offers, from the zone
// database the server embeds (time/tzdata), so every choice loads.
//
//go:embed timezones.txt
var timezonesTxt string

// zoneGroup is one <optgroup> of the time zone picker: a region and its
// zones.
type zoneGroup struct {
	Region string
	Zones  []zoneOption
}

type zoneOption struct {
	Name  string // e.g. "America/Argentina/Buenos_Aires"
	Label string // e.g. "America/Argentina/Buenos Aires"
}

// timeZoneNames returns the zones of timezones.txt, in order.
func timeZoneNames() []string {
	var out []string
	for _, line := range strings.Split(timezonesTxt, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// zoneGroups groups the zones by region for the picker. A zone the room
// already has that is not in the list (an alias such as US/Eastern) is
// offered too, so saving the form never changes it silently.
func zoneGroups(current string) []zoneGroup {
	var groups []zoneGroup
	found := false
	for _, name := range timeZoneNames() {
		found = found || name == current
		region, _, ok := strings.Cut(name, "/")
		if !ok {
			region = ""
		}
		if len(groups) == 0 || groups[len(groups)-1].Region != region {
			groups = append(groups, zoneGroup{Region: region})
		}
		g := &groups[len(groups)-1]
		g.Zones = append(g.Zones, zoneOption{Name: name, Label: strings.ReplaceAll(name, "_", " ")})
	}
	if !found && current != "" {
		groups = append([]zoneGroup{{Region: "", Zones: []zoneOption{{Name: current, Label: current}}}}, groups...)
	}
	return groups
}
