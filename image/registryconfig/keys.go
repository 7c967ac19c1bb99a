package registryconfig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// LibtrustKeyID returns the libtrust-style key id that Synapse puts in the `kid`
// header of its tokens (and that registry 2 derived from `rootcertbundle`): SHA-256
// over the DER SubjectPublicKeyInfo, the first 30 bytes, base32 (standard alphabet,
// no padding, 48 characters), with a ':' after every 4 characters.
func LibtrustKeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("libtrust key id: %w", err)
	}
	sum := sha256.Sum256(der)
	b32 := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:30])
	var b strings.Builder
	for i := 0; i < len(b32); i += 4 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(b32[i:min(i+4, len(b32))])
	}
	return b.String(), nil
}

// JWKThumbprint returns the RFC 7638 SHA-256 thumbprint (base64url, no padding) of
// an ECDSA public key, with the coordinates at the curve's full length as RFC 7518
// requires.
func JWKThumbprint(pub crypto.PublicKey) (string, error) {
	jwk, err := ecJWK(pub)
	if err != nil {
		return "", err
	}
	// Members in lexicographic order, no white space (RFC 7638 section 3.2).
	canonical := fmt.Sprintf(`{"crv":%q,"kty":"EC","x":%q,"y":%q}`, jwk.Crv, jwk.X, jwk.Y)
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// JWK is a public EC key in JSON Web Key form (RFC 7517/7518).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

func ecJWK(pub crypto.PublicKey) (JWK, error) {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return JWK{}, fmt.Errorf("key is %T, not an ECDSA public key", pub)
	}
	// Bytes gives the uncompressed point 0x04 || X || Y with fixed-size coordinates.
	point, err := k.Bytes()
	if err != nil {
		return JWK{}, err
	}
	size := (len(point) - 1) / 2
	return JWK{
		Kty: "EC",
		Crv: k.Curve.Params().Name,
		X:   base64.RawURLEncoding.EncodeToString(point[1 : 1+size]),
		Y:   base64.RawURLEncoding.EncodeToString(point[1+size:]),
	}, nil
}

// TokenKeyIDs returns, for each certificate, the ids under which the registry
// must trust its key: the libtrust-style id Synapse signs with and the RFC 7638
// thumbprint.
func TokenKeyIDs(cert *x509.Certificate) (libtrust, thumbprint string, err error) {
	if libtrust, err = LibtrustKeyID(cert.PublicKey); err != nil {
		return "", "", err
	}
	if thumbprint, err = JWKThumbprint(cert.PublicKey); err != nil {
		return "", "", err
	}
	return libtrust, thumbprint, nil
}

// BuildJWKS returns the JWKS for the token-signing certificates: every key twice,
// once under its libtrust-style id (which registry 3 does not derive from
// `rootcertbundle`, so Synapse's tokens would be rejected without it) and once
// under its RFC 7638 thumbprint.
func BuildJWKS(certs []*x509.Certificate) ([]byte, error) {
	var set JWKS
	for i, cert := range certs {
		jwk, err := ecJWK(cert.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", i+1, err)
		}
		libtrust, thumbprint, err := TokenKeyIDs(cert)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", i+1, err)
		}
		jwk.Use, jwk.Alg = "sig", "ES256"
		for _, kid := range []string{libtrust, thumbprint} {
			k := jwk
			k.Kid = kid
			set.Keys = append(set.Keys, k)
		}
	}
	return json.MarshalIndent(set, "", "  ")
}
