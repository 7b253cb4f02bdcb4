package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, path, secret string
	}{
		{"new file in a new directory", filepath.Join(dir, "a", "b", "secret"), "s3cret"},
		{"replaces an existing file", filepath.Join(dir, "existing"), "second"},
	}
	if err := os.WriteFile(filepath.Join(dir, "existing"), []byte("first, longer than the second\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := WriteSecret(tt.path, tt.secret); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(tt.path)
			if err != nil || string(got) != tt.secret+"\n" {
				t.Fatalf("read back %q, %v; want %q", got, err, tt.secret+"\n")
			}
			fi, err := os.Stat(tt.path)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("mode %v, %v; want 0600", fi.Mode().Perm(), err)
			}
			left, _ := filepath.Glob(filepath.Join(filepath.Dir(tt.path), ".*.tmp-*"))
			if len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

func TestWriteFailsWithContext(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A path under a regular file cannot be created.
	err := Write(filepath.Join(file, "x"), strings.NewReader("v"))
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("err = %v; want one naming %s", err, file)
	}
}
