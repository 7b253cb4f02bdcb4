package proto

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyRules enforces DESIGN.md's import rules with the go tool:
// the panel binary and proto never pull in the server, the Graph SDK,
// azidentity or bbolt; only server/calendar/graph imports the Graph SDK;
// only server/store imports bbolt. A violation makes the panel binary big
// and slow to build for ARM, or spreads the storage engine.
func TestDependencyRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go tool")
	}
	list := func(args ...string) []string {
		t.Helper()
		out, err := exec.Command("go", append([]string{"list"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %v: %v\n%s", args, err, out)
		}
		return strings.Fields(string(out))
	}
	forbidden := []string{"github.com/lintelhq/lintel/server", "msgraph", "azidentity", "go.etcd.io/bbolt"}
	for _, dep := range list("-deps", "../proto/...", "../panel/...") {
		for _, f := range forbidden {
			if strings.Contains(dep, f) {
				t.Errorf("panel/ or proto/ depends on %s", dep)
			}
		}
	}
	// Direct imports: who may import the Graph SDK and bbolt.
	lines := list("-f", `{{.ImportPath}}:{{join .Imports ","}}`, "../...")
	for _, line := range lines {
		pkg, imports, _ := strings.Cut(line, ":")
		for _, imp := range strings.Split(imports, ",") {
			graph := strings.Contains(imp, "msgraph-sdk-go") || strings.Contains(imp, "azidentity")
			if graph && pkg != "github.com/lintelhq/lintel/server/calendar/graph" {
				t.Errorf("%s imports %s: only server/calendar/graph may", pkg, imp)
			}
			if imp == "go.etcd.io/bbolt" && pkg != "github.com/lintelhq/lintel/server/store" {
				t.Errorf("%s imports bbolt: only server/store may", pkg)
			}
		}
	}
}
