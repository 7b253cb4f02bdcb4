package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/store"
)

// The activity API and page read the log a page at a time (newest first)
// and link to the next, older page, however long the log is.
func TestActivityIsReadPageByPage(t *testing.T) {
	ts := newTestServer(t)
	t0 := ts.now().Add(-time.Hour)
	for i := range 450 {
		o := store.Outcome{Device: "pnl-1", ID: fmt.Sprint("r", i), Room: "rigi", Action: "book", At: t0.Add(time.Duration(i) * time.Second), Result: []byte(`{"ok":true}`), Summary: fmt.Sprint("booking ", i)}
		if err := ts.app.db.PutOutcome(o); err != nil {
			t.Fatal(err)
		}
	}
	next := "/api/v1/activity"
	var sizes []int
	var first, last store.Outcome
	for next != "" {
		req, _ := http.NewRequest("GET", ts.http.URL+next, nil)
		req.Header.Set("Authorization", "Bearer "+ts.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var items []store.Outcome
		err = json.NewDecoder(resp.Body).Decode(&items)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v", next, resp.StatusCode, err)
		}
		if len(sizes) == 0 {
			first = items[0]
		}
		last = items[len(items)-1]
		sizes = append(sizes, len(items))
		next = ""
		if link := resp.Header.Get("Link"); link != "" {
			u, _, _ := strings.Cut(strings.TrimPrefix(link, "<"), ">")
			next = u
		}
	}
	if fmt.Sprint(sizes) != "[200 200 50]" || first.ID != "r449" || last.ID != "r0" {
		t.Errorf("pages %v, first %s, last %s; want [200 200 50] from r449 to r0", sizes, first.ID, last.ID)
	}
	req, _ := http.NewRequest("GET", ts.http.URL+"/api/v1/activity?older=zz", nil)
	req.Header.Set("Authorization", "Bearer "+ts.token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad cursor: %v %v", resp.StatusCode, err)
	}

	// The page shows 50 at a time, and links to the older ones.
	c, _ := adminSession(t, ts)
	page := getPage(t, c, ts.http.URL+"/activity")
	if strings.Count(page, "<tr class=") != 50 || !strings.Contains(page, "booking 449") || !strings.Contains(page, `id="older"`) {
		t.Errorf("activity page: %d rows, newest shown %v, older link %v", strings.Count(page, "<tr class="), strings.Contains(page, "booking 449"), strings.Contains(page, `id="older"`))
	}
	_, after, _ := strings.Cut(page, `href="/activity?older=`)
	cursor, _, _ := strings.Cut(after, `"`)
	older := getPage(t, c, ts.http.URL+"/activity?older="+strings.ReplaceAll(cursor, "&amp;", "&"))
	if !strings.Contains(older, "booking 399") || strings.Contains(older, "booking 400<") || !strings.Contains(older, `id="newer"`) {
		t.Errorf("the older page does not follow on")
	}
}
