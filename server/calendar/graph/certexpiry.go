package graph

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// CertificateExpires returns when the certificate in file (PEM or PFX, as
// Config.CertificateFile takes it) stops being valid, so the server can
// alert 30 days ahead. password opens an encrypted PFX or key.
func CertificateExpires(file, password string) (time.Time, error) {
	f, err := os.Open(file)
	if err != nil {
		return time.Time{}, fmt.Errorf("graph: certificate: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return time.Time{}, fmt.Errorf("graph: certificate %s: %w", file, err)
	}
	var pw []byte
	if password != "" {
		pw = []byte(password)
	}
	certs, _, err := azidentity.ParseCertificates(data, pw)
	if err != nil || len(certs) == 0 {
		return time.Time{}, errors.New("graph: the certificate file " + file + " holds no certificate Lintel can read")
	}
	// The first is the one sent to Entra ID; a chain's CA certificates
	// outlive it.
	return certs[0].NotAfter, nil
}
