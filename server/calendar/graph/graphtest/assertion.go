package graphtest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// verifyAssertion checks a certificate client assertion the way Entra ID
// does: the thumbprint names the registered certificate, the signature
// (PS256, or RS256 as ADFS-era clients send) verifies with its key, and the
// claims name the app and have not expired.
func verifyAssertion(assertion, clientID string, cert *x509.Certificate) error {
	if cert == nil {
		return errors.New("no certificate is registered on the application")
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return errors.New("the assertion is not a JWT")
	}
	var head struct {
		Alg     string `json:"alg"`
		X5t     string `json:"x5t"`
		X5tS256 string `json:"x5t#S256"`
	}
	var claims struct {
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Exp int64  `json:"exp"`
	}
	if err := decodePart(parts[0], &head); err != nil {
		return err
	}
	if err := decodePart(parts[1], &claims); err != nil {
		return err
	}
	sum256 := sha256.Sum256(cert.Raw)
	sum1 := sha1.Sum(cert.Raw)
	if head.X5tS256 != b64std(sum256[:]) && head.X5t != b64std(sum1[:]) && head.X5t != b64.EncodeToString(sum1[:]) {
		return errors.New("the certificate with the assertion's thumbprint is not registered on the application")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("only RSA certificates are supported")
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return errors.New("the signature is not base64url")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch head.Alg {
	case "PS256":
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	default:
		err = errors.New("unsupported alg " + head.Alg)
	}
	if err != nil {
		return errors.New("the signature does not verify")
	}
	if claims.Iss != clientID || claims.Sub != clientID {
		return errors.New("iss and sub must be the client ID")
	}
	if time.Now().Unix() > claims.Exp {
		return errors.New("the assertion has expired")
	}
	return nil
}

func decodePart(part string, v any) error {
	raw, err := b64.DecodeString(part)
	if err != nil {
		return errors.New("a JWT part is not base64url")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return errors.New("a JWT part is not JSON")
	}
	return nil
}

func b64std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
