package admin

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/store"
)

// TestListActivityPages: pages run newest first without gaps or repeats,
// also through entries of the same instant, in both directions, and a
// cursor survives its trip through a URL.
func TestListActivityPages(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "lintel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	base := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	const n = 23
	for i := range n {
		// Pairs of entries share an instant.
		o := store.Outcome{Device: fmt.Sprintf("dev-%d", i%3), ID: fmt.Sprintf("r%02d", i), Room: "rigi", Action: "book",
			At: base.Add(time.Duration(i/2) * time.Minute), Result: []byte(`{"ok":true}`)}
		if err := db.PutOutcome(o); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	older := activityCursor{}
	var pages []activityPage
	for range 10 {
		p, err := listActivity(db, older, activityCursor{}, 5)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
		for _, o := range p.Entries {
			seen = append(seen, outcomeKey(o))
		}
		if p.Older.IsZero() {
			break
		}
		// Through the URL and back.
		if older, err = parseActivityCursor(p.Older.String()); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != n || len(pages) != 5 {
		t.Fatalf("%d entries on %d pages, want %d on 5", len(seen), len(pages), n)
	}
	uniq := map[string]bool{}
	for i, k := range seen {
		uniq[k] = true
		if i > 0 {
			// Newest first.
			a, _ := db.Outcome(devOf(seen[i-1]), idOf(seen[i-1]))
			b, _ := db.Outcome(devOf(k), idOf(k))
			if b.At.After(a.At) {
				t.Errorf("entry %d (%s) is newer than the one before it", i, k)
			}
		}
	}
	if len(uniq) != n {
		t.Errorf("%d distinct entries over the pages, want %d", len(uniq), n)
	}
	if !pages[0].Newer.IsZero() {
		t.Error("the first page offers newer entries")
	}
	// Back from the third page to the second.
	p, err := listActivity(db, activityCursor{}, pages[2].Newer, 5)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(keys(p.Entries)) != fmt.Sprint(keys(pages[1].Entries)) {
		t.Errorf("newer than page 3: %v, want page 2 %v", keys(p.Entries), keys(pages[1].Entries))
	}
	if _, err := parseActivityCursor("not-a-cursor"); err == nil {
		t.Error("a malformed cursor was accepted")
	}
}

func keys(os []store.Outcome) []string {
	var out []string
	for _, o := range os {
		out = append(out, outcomeKey(o))
	}
	return out
}

func devOf(key string) string { d, _, _ := strings.Cut(key, "/"); return d }
func idOf(key string) string  { _, id, _ := strings.Cut(key, "/"); return id }
