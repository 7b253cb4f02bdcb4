// Package tzlist picks the time zones the admin UI offers from the names
// in Go's zone database: the shared rule of the generator and its test.
package tzlist

import (
	"slices"
	"strings"
)

// regions are the areas of the IANA database where places are; Etc/,
// US/ and the other legacy aliases are left out of the picker (a room
// that uses one keeps it).
var regions = []string{"Africa/", "America/", "Antarctica/", "Arctic/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/", "Pacific/"}

// Filter returns the zone names a room may pick, sorted, with UTC first.
func Filter(names []string) []string {
	var out []string
	for _, n := range names {
		for _, r := range regions {
			if strings.HasPrefix(n, r) && !strings.HasSuffix(n, "/") {
				out = append(out, n)
				break
			}
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	return append([]string{"UTC"}, out...)
}
