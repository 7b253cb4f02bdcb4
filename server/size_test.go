package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// maxServerBytes is the budget of the stripped production lintel-server
// (no emulator, no load test). It was 131 MB while a GraphServiceClient
// sat in a field of the Graph provider: the admin UI's templates call
// methods through reflection, which made the linker keep all of
// Microsoft Graph's request builders (see graph.client). Now 26.5 MB.
const maxServerBytes = 40_000_000

// TestServerBinaryBudget builds the production server as make build does
// and checks its size, so that a change linking the whole Graph SDK again
// is caught here and not in the field.
func TestServerBinaryBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server")
	}
	exe := filepath.Join(t.TempDir(), "lintel-server")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", exe, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	fi, err := os.Stat(exe)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stripped production lintel-server: %.1f MB", float64(fi.Size())/1e6)
	if fi.Size() > maxServerBytes {
		t.Errorf("lintel-server is %d bytes, over the %d byte budget: is a Graph request builder (or GraphServiceClient) reachable from a value in an interface?", fi.Size(), maxServerBytes)
	}
}
