// Package synapsestub stands in for the two parts of Synapse the registry talks
// to: the bearer-token service (tokens exactly as docs/synapse.md ("The bearer token")
// describes them: ES256, libtrust-style kid, the same claims) and the
// registry-event listener (which records what Synapse would do with each
// notification, or prints it). Tests use it, and so does `make local`.
package synapsestub

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
)

// Token lifetime as Synapse issues it: nbf = now - 120 s, exp = now + 120 s.
const TokenSkew = 120 * time.Second

// DefaultIssuer is Synapse's `iss`.
const DefaultIssuer = "www.synapse.org"

// SigningKey is a token-signing key with its certificate, like Synapse's.
type SigningKey struct {
	Private     *ecdsa.PrivateKey
	Certificate *x509.Certificate
	// CertificatePEM is what SYNAPSE_REGISTRY_TOKEN_CERTIFICATES carries.
	CertificatePEM []byte
	// KeyID is the libtrust-style key id Synapse puts in the kid header.
	KeyID string
}

// NewSigningKey makes a fresh P-256 key and a self-signed certificate for it.
func NewSigningKey() (*SigningKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: DefaultIssuer, Organization: []string{"Synapse stand-in"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(100 * 365 * 24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	kid, err := registryconfig.LibtrustKeyID(cert.PublicKey)
	if err != nil {
		return nil, err
	}
	return &SigningKey{
		Private:        priv,
		Certificate:    cert,
		CertificatePEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyID:          kid,
	}, nil
}

// Access is one entry of the `access` claim.
type Access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// Claims are the claims of a Synapse token, in Synapse's field names.
type Claims struct {
	Issuer     string   `json:"iss"`
	Audience   string   `json:"aud"`
	Subject    string   `json:"sub"`
	IssuedAt   int64    `json:"iat"`
	NotBefore  int64    `json:"nbf"`
	Expiration int64    `json:"exp"`
	JWTID      string   `json:"jti"`
	Access     []Access `json:"access"`
}

// Header is the JOSE header of a Synapse token: no x5c, no jwk.
type Header struct {
	Type      string `json:"typ"`
	KeyID     string `json:"kid"`
	Algorithm string `json:"alg"`
}

// Mint signs claims exactly as Synapse does: header
// {"typ":"JWT","kid":<libtrust kid>,"alg":"ES256"}, ES256 signature as raw r||s.
func (k *SigningKey) Mint(c Claims) (string, error) {
	return k.MintWithHeader(Header{Type: "JWT", KeyID: k.KeyID, Algorithm: "ES256"}, c)
}

// MintWithHeader signs claims with k under an arbitrary header (for tokens the
// registry must refuse: an unknown kid, another algorithm).
func (k *SigningKey) MintWithHeader(h Header, c Claims) (string, error) {
	hb, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signingInput := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	sum := sha256.Sum256([]byte(signingInput))
	r, s, err := ecdsa.Sign(rand.Reader, k.Private, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// User is a Synapse account of the stand-in.
type User struct {
	// Name and Password are what `docker login` sends.
	Name     string
	Password string
	// PersonalAccessToken, if set, is accepted as the password with any user
	// name, as Synapse accepts personal access tokens.
	PersonalAccessToken string
	// ID is the numeric Synapse user id: the token's sub and the notification's
	// actor.name.
	ID string
	// Projects maps a project id ("syn12345", or "*" for every project) to the
	// actions the user has on its repositories ("pull", "push").
	Projects map[string][]string
}

// The documented development users of `make local` and the tests.
var (
	// DevUser may pull and push every syn<digits>/... repository.
	DevUser = User{
		Name: "dev", Password: "dev-password", PersonalAccessToken: "dev-personal-access-token",
		ID: "3350396", Projects: map[string][]string{"*": {"pull", "push"}},
	}
	// ReaderUser may only pull, from every project.
	ReaderUser = User{
		Name: "reader", Password: "reader-password",
		ID: "3350397", Projects: map[string][]string{"*": {"pull"}},
	}
)

// TokenPath is where Synapse serves tokens, relative to its repository host.
const TokenPath = "/docker/v1/bearerToken"

// TokenService issues tokens like Synapse's /docker/v1/bearerToken.
type TokenService struct {
	Key    *SigningKey
	Issuer string
	// Services are the service names (token aud) it issues tokens for; empty
	// accepts any.
	Services []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu     sync.Mutex
	users  []User
	issued int
}

// NewTokenService returns a token service signing with key for the users.
func NewTokenService(key *SigningKey, users ...User) *TokenService {
	return &TokenService{Key: key, Issuer: DefaultIssuer, users: users}
}

// AddUser adds or replaces a user.
func (s *TokenService) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = slices.DeleteFunc(s.users, func(x User) bool { return x.Name == u.Name })
	s.users = append(s.users, u)
}

// Issued counts the tokens issued over HTTP.
func (s *TokenService) Issued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

func (s *TokenService) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Authenticate returns the user for HTTP Basic credentials: name and password,
// or any name and a personal access token.
func (s *TokenService) Authenticate(name, password string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.Name == name && u.Password == password {
			return u, true
		}
	}
	for _, u := range s.users {
		if u.PersonalAccessToken != "" && u.PersonalAccessToken == password {
			return u, true
		}
	}
	return User{}, false
}

// ClaimsFor builds the claims Synapse would issue to u for service and the
// requested scopes ("repository:syn123/name:pull,push"): each repository scope
// becomes an access entry with the requested actions the user has (sorted,
// possibly none).
func (s *TokenService) ClaimsFor(u User, service string, scopes ...string) Claims {
	now := s.now()
	c := Claims{
		Issuer:     s.Issuer,
		Audience:   service,
		Subject:    u.ID,
		IssuedAt:   now.Unix(),
		NotBefore:  now.Add(-TokenSkew).Unix(),
		Expiration: now.Add(TokenSkew).Unix(),
		JWTID:      newUUID(),
		Access:     []Access{},
	}
	for _, scope := range scopes {
		for _, a := range parseScope(scope) {
			c.Access = append(c.Access, Access{Type: a.Type, Name: a.Name, Actions: grant(u, a)})
		}
	}
	return c
}

// TokenFor mints a token for the named user, as the HTTP endpoint would.
func (s *TokenService) TokenFor(userName, service string, scopes ...string) (string, error) {
	s.mu.Lock()
	var user *User
	for i := range s.users {
		if s.users[i].Name == userName {
			u := s.users[i]
			user = &u
		}
	}
	s.mu.Unlock()
	if user == nil {
		return "", fmt.Errorf("no user %q", userName)
	}
	return s.Key.Mint(s.ClaimsFor(*user, service, scopes...))
}

// parseScope parses "repository:name:action,action" (the name may contain ':'
// only before a port in a host, which Synapse repository names never have).
func parseScope(scope string) []Access {
	var out []Access
	for _, one := range strings.Fields(scope) {
		typ, rest, ok := strings.Cut(one, ":")
		if !ok {
			continue
		}
		i := strings.LastIndex(rest, ":")
		if i < 0 {
			continue
		}
		name, actions := rest[:i], rest[i+1:]
		if typ != "repository" {
			continue // Synapse grants nothing but repository access
		}
		out = append(out, Access{Type: typ, Name: name, Actions: strings.Split(actions, ",")})
	}
	return out
}

func grant(u User, requested Access) []string {
	project, _, _ := strings.Cut(requested.Name, "/")
	allowed, ok := u.Projects[project]
	if !ok && isSynapseProject(project) {
		allowed = u.Projects["*"]
	}
	got := []string{}
	for _, a := range requested.Actions {
		if slices.Contains(allowed, a) && !slices.Contains(got, a) {
			got = append(got, a)
		}
	}
	slices.Sort(got)
	return got
}

func isSynapseProject(p string) bool {
	if !strings.HasPrefix(p, "syn") || len(p) == 3 {
		return false
	}
	for _, r := range p[3:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// ServeHTTP implements GET /docker/v1/bearerToken?service=...&scope=... with
// HTTP Basic credentials, answering {"token": "<JWT>"}.
func (s *TokenService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != TokenPath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, password, ok := r.BasicAuth()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="Synapse"`)
		http.Error(w, "credentials required", http.StatusUnauthorized)
		return
	}
	u, ok := s.Authenticate(name, password)
	if !ok {
		http.Error(w, "invalid user name or password", http.StatusUnauthorized)
		return
	}
	service := r.URL.Query().Get("service")
	if len(s.Services) > 0 && !slices.Contains(s.Services, service) {
		http.Error(w, fmt.Sprintf("unknown service %q", service), http.StatusBadRequest)
		return
	}
	token, err := s.Key.Mint(s.ClaimsFor(u, service, r.URL.Query()["scope"]...))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	s.issued++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"token": token})
}

func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(errors.New("crypto/rand failed"))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
