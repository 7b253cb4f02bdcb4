package oidctest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestTokenEndpointChecksPKCEAndClient: a code is redeemed only with the
// client's secret and the verifier that hashes to its challenge, once.
func TestTokenEndpointChecksPKCEAndClient(t *testing.T) {
	p := New(Opts{ClientID: "app", ClientSecret: "secret", RedirectURL: "https://lintel.test/cb",
		Users: []User{{Username: "ada@contoso.test", OID: "1", Groups: []string{"g"}}}})
	defer p.Close()
	c := p.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	verifier := "a-verifier-of-enough-length-0123456789-abcdefghij"
	sum := sha256.Sum256([]byte(verifier))
	code := func() string {
		form := url.Values{"client_id": {"app"}, "redirect_uri": {"https://lintel.test/cb"}, "response_type": {"code"},
			"scope": {"openid profile"}, "state": {"st"}, "nonce": {"n"}, "user": {"ada@contoso.test"},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
		resp, err := c.PostForm(p.URL+"/11111111-2222-3333-4444-555555555555/oauth2/v2.0/authorize", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil || loc.Query().Get("state") != "st" {
			t.Fatalf("authorize: %d %v", resp.StatusCode, loc)
		}
		return loc.Query().Get("code")
	}
	redeem := func(code, secret, verifier string) (int, map[string]any) {
		resp, err := c.PostForm(p.URL+"/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token", url.Values{
			"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://lintel.test/cb"},
			"client_id": {"app"}, "client_secret": {secret}, "code_verifier": {verifier}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	if status, v := redeem(code(), "wrong", verifier); status != http.StatusUnauthorized || v["error"] != "invalid_client" {
		t.Errorf("wrong secret: %d %v", status, v)
	}
	if status, v := redeem(code(), "secret", "another-verifier-0123456789-0123456789-abcdef"); status != http.StatusBadRequest || !strings.Contains(v["error_description"].(string), "Code_Verifier") {
		t.Errorf("wrong verifier: %d %v", status, v)
	}
	good := code()
	status, v := redeem(good, "secret", verifier)
	if status != http.StatusOK || strings.Count(v["id_token"].(string), ".") != 2 {
		t.Fatalf("good: %d %v", status, v)
	}
	if status, _ := redeem(good, "secret", verifier); status != http.StatusBadRequest {
		t.Errorf("a code redeemed twice: %d", status)
	}
	// Authorization requests without PKCE are refused, as Lintel never sends one.
	resp, err := c.Get(p.URL + "/11111111-2222-3333-4444-555555555555/oauth2/v2.0/authorize?client_id=app&redirect_uri=https%3A%2F%2Flintel.test%2Fcb&response_type=code&scope=openid&state=s&nonce=n")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("authorize without PKCE: %d", resp.StatusCode)
	}
}
