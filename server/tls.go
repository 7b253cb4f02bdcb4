package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	gosync "sync"
	"time"
)

// certReloader serves a certificate from files and reloads it when they
// change (checked at most once a second, on handshakes), so a renewed
// certificate is picked up without a restart.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      gosync.Mutex
	cert    *tls.Certificate
	modTime time.Time
	checked time.Time
}

func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *certReloader) load() error {
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate %s and key %s: %w", r.certFile, r.keyFile, err)
	}
	fi, err := os.Stat(r.certFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate: %w", err)
	}
	r.cert, r.modTime = &cert, fi.ModTime()
	return nil
}

func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.checked) > time.Second {
		r.checked = time.Now()
		ck, errC := os.Stat(r.certFile)
		kk, errK := os.Stat(r.keyFile)
		if errC == nil && errK == nil && (ck.ModTime().After(r.modTime) || kk.ModTime().After(r.modTime)) {
			if err := r.load(); err != nil {
				r.log.Error("keeping the old TLS certificate: the new one does not load", "err", err)
			} else {
				r.log.Info("reloaded the TLS certificate", "file", r.certFile)
			}
		}
	}
	return r.cert, nil
}

// devCertificate makes (once) and loads a self-signed certificate in the
// data directory for trials, and returns its SHA-256 fingerprint, which a
// panel can pin (--pin-sha256) instead of trusting a CA.
func devCertificate(dataDir string, hosts []string) (tls.Certificate, string, error) {
	certFile, keyFile := filepath.Join(dataDir, "dev-cert.pem"), filepath.Join(dataDir, "dev-key.pem")
	if _, err := os.Stat(certFile); os.IsNotExist(err) {
		if err := writeDevCertificate(certFile, keyFile, hosts); err != nil {
			return tls.Certificate{}, "", err
		}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("load the development certificate: %w", err)
	}
	sum := sha256.Sum256(cert.Certificate[0])
	return cert, hex.EncodeToString(sum[:]), nil
}

func writeDevCertificate(certFile, keyFile string, hosts []string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("development certificate: %w", err)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Lintel development server"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(2, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range append(hosts, "localhost", "127.0.0.1") {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("development certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("development certificate: %w", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return fmt.Errorf("development certificate: %w", err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("development certificate: %w", err)
	}
	return nil
}
