package link

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/lintelhq/lintel/proto"
)

// TestSettingsAreCached: the hello accepts settings and names the arch;
// settings from the server reach the UI and the cache, and a link made
// later (a reboot, offline) starts with them. A corrupt cache is ignored.
func TestSettingsAreCached(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "settings.json")
	srv := newTestServer(t)
	l, _ := start(t, Opts{URL: srv.url, SettingsPath: path, Arch: "linux/arm64", Accepts: []string{"firmware"}})
	c := srv.accept(t)
	if !slices.Equal(c.hello.Accepts, []string{proto.AcceptSettings, "firmware"}) || c.hello.Arch != "linux/arm64" {
		t.Errorf("hello accepts %v, arch %q", c.hello.Accepts, c.hello.Arch)
	}
	want := proto.Settings{Locale: "fr", Hours: 24, BookMinutes: []int{20, 40}}
	c.send(t, proto.Message{Type: proto.TypeSettings, Settings: &want})
	ev := next(t, l, KindSettings)
	if ev.Settings.Locale != "fr" || !slices.Equal(ev.Settings.BookMinutes, []int{20, 40}) {
		t.Errorf("event settings %+v", ev.Settings)
	}
	if got := l.CachedSettings(); got == nil || got.Hours != 24 {
		t.Errorf("CachedSettings %+v", got)
	}

	again, err := New(Opts{URL: "ws://127.0.0.1:1/ws", Firmware: "1", SettingsPath: path})
	if err != nil {
		t.Fatal(err)
	}
	if got := again.CachedSettings(); got == nil || got.Locale != "fr" || got.Hours != 24 {
		t.Errorf("after a restart: %+v", got)
	}

	writeFile(t, path, `{"type":"settings","settings":{"hours":13}}`)
	broken, err := New(Opts{URL: "ws://127.0.0.1:1/ws", Firmware: "1", SettingsPath: path})
	if err != nil {
		t.Fatal(err)
	}
	if got := broken.CachedSettings(); got != nil {
		t.Errorf("an invalid cache gave %+v", got)
	}
}
