package graph

import (
	"path/filepath"
	"testing"
)

func TestCertificateExpires(t *testing.T) {
	for name, password := range map[string]string{"lintel-test.pem": "", "lintel-test.pfx": pfxPassword} {
		got, err := CertificateExpires(filepath.Join("testdata", name), password)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.IsZero() || got.Year() < 2026 {
			t.Errorf("%s expires %v", name, got)
		}
	}
	if _, err := CertificateExpires(filepath.Join("testdata", "nope.pem"), ""); err == nil {
		t.Error("a missing file has an expiry")
	}
	if _, err := CertificateExpires("certexpiry.go", ""); err == nil {
		t.Error("a Go file has an expiry")
	}
}
