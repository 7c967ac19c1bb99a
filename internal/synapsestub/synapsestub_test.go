package synapsestub_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synapsestub"
)

func decodePart(t *testing.T, part string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatalf("token part is not unpadded base64url: %v", err)
	}
	return b
}

// Tokens are exactly as docs/synapse.md ("The bearer token") describes Synapse's.
func TestTokenLooksLikeSynapses(t *testing.T) {
	key, err := synapsestub.NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := registryconfig.LibtrustKeyID(key.Certificate.PublicKey)
	if key.KeyID != kid || !regexp.MustCompile(`^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$`).MatchString(kid) {
		t.Fatalf("kid %q is not the certificate's libtrust key id %q", key.KeyID, kid)
	}
	now := time.Unix(1_700_000_000, 0)
	svc := synapsestub.NewTokenService(key, synapsestub.DevUser, synapsestub.ReaderUser)
	svc.Now = func() time.Time { return now }
	srv := httptest.NewServer(svc)
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL+synapsestub.TokenPath+"?service=docker.synapse.org&scope=repository:syn123/app:push,pull&scope=repository:syn9/x:pull", nil)
	req.SetBasicAuth("reader", "reader-password")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("token endpoint: %d %v", resp.StatusCode, err)
	}
	parts := strings.Split(body["token"], ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	if got := string(decodePart(t, parts[0])); got != `{"typ":"JWT","kid":"`+kid+`","alg":"ES256"}` {
		t.Errorf("header %s", got)
	}
	var claims map[string]any
	if err := json.Unmarshal(decodePart(t, parts[1]), &claims); err != nil {
		t.Fatal(err)
	}
	if len(claims) != 8 {
		t.Errorf("claims %v, want exactly iss aud sub iat nbf exp jti access", claims)
	}
	want := map[string]any{
		"iss": "www.synapse.org", "aud": "docker.synapse.org", "sub": synapsestub.ReaderUser.ID,
		"iat": float64(now.Unix()), "nbf": float64(now.Unix() - 120), "exp": float64(now.Unix() + 120),
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(claims["jti"].(string)) {
		t.Errorf("jti %v is not a random UUID", claims["jti"])
	}
	access, _ := json.Marshal(claims["access"])
	// The reader asked for push and pull: granted pull only, actions sorted.
	if string(access) != `[{"actions":["pull"],"name":"syn123/app","type":"repository"},{"actions":["pull"],"name":"syn9/x","type":"repository"}]` {
		t.Errorf("access %s", access)
	}
	sig := decodePart(t, parts[2])
	if len(sig) != 64 {
		t.Fatalf("signature is %d bytes, want raw r||s of 64", len(sig))
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(key.Certificate.PublicKey.(*ecdsa.PublicKey), sum[:], r, s) {
		t.Error("signature does not verify with the certificate's key")
	}
}

func TestTokenServiceAuthentication(t *testing.T) {
	key, _ := synapsestub.NewSigningKey()
	svc := synapsestub.NewTokenService(key, synapsestub.DevUser)
	svc.Services = []string{"docker.synapse.org"}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	get := func(user, pass, service string) int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+synapsestub.TokenPath+"?service="+service+"&scope=repository:syn1/a:pull", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		user, pass, service string
		want                int
	}{
		{"dev", "dev-password", "docker.synapse.org", 200},
		{"anyone", synapsestub.DevUser.PersonalAccessToken, "docker.synapse.org", 200},
		{"dev", "wrong", "docker.synapse.org", 401},
		{"", "", "docker.synapse.org", 401},
		{"dev", "dev-password", "other.registry", 400},
	} {
		if got := get(c.user, c.pass, c.service); got != c.want {
			t.Errorf("%s/%s for %s: %d, want %d", c.user, c.pass, c.service, got, c.want)
		}
	}
	// Non-Synapse repositories and other resource types get nothing.
	c := svc.ClaimsFor(synapsestub.DevUser, "docker.synapse.org", "repository:library/alpine:pull", "registry:catalog:*")
	if len(c.Access) != 1 || len(c.Access[0].Actions) != 0 {
		t.Errorf("access %+v", c.Access)
	}
}

func TestReceiverJudgesLikeSynapse(t *testing.T) {
	var out bytes.Buffer
	r := synapsestub.NewReceiver("dXNlcjpwYXNz")
	r.Out = &out
	r.SetHosts("docker.synapse.org")
	srv := httptest.NewServer(r)
	defer srv.Close()
	post := func(auth string, events ...map[string]any) int {
		return postJSON(t, srv.URL, auth, map[string]any{"events": events})
	}
	event := func(action, mediaType, host string) map[string]any {
		return map[string]any{
			"action":  action,
			"target":  map[string]any{"mediaType": mediaType, "repository": "syn123/app", "tag": "v1", "digest": "sha256:aa"},
			"request": map[string]any{"host": host},
			"actor":   map[string]any{"name": "3350396"},
		}
	}
	ok := "Basic dXNlcjpwYXNz"
	if got := post(ok, event("push", synapsestub.DockerManifestMediaType, "docker.synapse.org")); got != 200 {
		t.Errorf("manifest push: %d", got)
	}
	if got := post(ok, event("push", "application/octet-stream", "docker.synapse.org"), event("pull", synapsestub.DockerManifestMediaType, "docker.synapse.org"), event("mount", "", "docker.synapse.org")); got != 200 {
		t.Errorf("blob push, pull, mount: %d", got)
	}
	if got := post(ok, event("push", synapsestub.DockerManifestMediaType, "elsewhere.org")); got != 200 {
		t.Errorf("push via another host: %d", got)
	}
	if got := post(ok, event("delete", "", "docker.synapse.org")); got != 400 {
		t.Errorf("delete: %d, want Synapse's error", got)
	}
	if got := post("Basic wrong", event("push", synapsestub.DockerManifestMediaType, "docker.synapse.org")); got != 401 {
		t.Errorf("wrong Authorization: %d", got)
	}
	commits := r.Commits()
	if len(commits) != 1 || commits[0] != (synapsestub.Commit{ProjectID: "syn123", Repository: "syn123/app", Tag: "v1", Digest: "sha256:aa", UserID: "3350396", Host: "docker.synapse.org"}) {
		t.Errorf("commits %+v", commits)
	}
	if n := len(r.Refused()); n != 2 {
		t.Errorf("%d refused deliveries, want 2", n)
	}
	if !strings.Contains(out.String(), "recorded as a commit") || !strings.Contains(out.String(), "refused") {
		t.Errorf("printed:\n%s", out.String())
	}
}

// Each listener rule of docs/synapse.md, one event per request: recorded,
// skipped (200, nothing recorded) or refused (an error for the request).
func TestReceiverListenerRules(t *testing.T) {
	const (
		recorded = "recorded"
		skipped  = "skipped"
		refused  = "refused"
	)
	base := func() synapsestub.Event {
		var e synapsestub.Event
		e.ID = "ev"
		e.Action = "push"
		e.Target.MediaType = synapsestub.DockerManifestMediaType
		e.Target.Repository = "syn123/app"
		e.Target.Tag = "v1"
		e.Target.Digest = "sha256:aa"
		e.Request.Host = "docker.synapse.org"
		e.Actor.Name = "3350396"
		return e
	}
	for _, c := range []struct {
		name   string
		change func(*synapsestub.Event)
		want   string
	}{
		{"docker manifest push under a tag", func(*synapsestub.Event) {}, recorded},
		{"OCI image manifest", func(e *synapsestub.Event) { e.Target.MediaType = "application/vnd.oci.image.manifest.v1+json" }, skipped},
		{"OCI image index", func(e *synapsestub.Event) { e.Target.MediaType = "application/vnd.oci.image.index.v1+json" }, skipped},
		{"docker manifest list", func(e *synapsestub.Event) {
			e.Target.MediaType = "application/vnd.docker.distribution.manifest.list.v2+json"
		}, skipped},
		{"blob push", func(e *synapsestub.Event) { e.Target.MediaType = "application/octet-stream"; e.Target.Tag = "" }, skipped},
		{"another host", func(e *synapsestub.Event) { e.Request.Host = "registry-123.us-east-1.elb.amazonaws.com" }, skipped},
		{"another host, no tag", func(e *synapsestub.Event) { e.Request.Host = "elsewhere.org"; e.Target.Tag = "" }, skipped},
		{"manifest without tag", func(e *synapsestub.Event) { e.Target.Tag = "" }, refused},
		{"actor not numeric", func(e *synapsestub.Event) { e.Actor.Name = "dev" }, refused},
		{"no actor", func(e *synapsestub.Event) { e.Actor.Name = "" }, refused},
		{"repository not under a project", func(e *synapsestub.Event) { e.Target.Repository = "library/alpine" }, refused},
		{"pull", func(e *synapsestub.Event) { e.Action = "pull" }, skipped},
		{"mount", func(e *synapsestub.Event) { e.Action = "mount"; e.Target.Tag = "" }, skipped},
		{"delete", func(e *synapsestub.Event) { e.Action = "delete" }, refused},
		{"unknown action", func(e *synapsestub.Event) { e.Action = "frobnicate" }, refused},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := synapsestub.NewReceiver("dXNlcjpwYXNz")
			r.SetHosts("docker.synapse.org")
			srv := httptest.NewServer(r)
			defer srv.Close()
			e := base()
			c.change(&e)
			status := postEvents(t, srv.URL, "Basic dXNlcjpwYXNz", e)
			got := skipped
			switch {
			case status != http.StatusOK:
				got = refused
			case len(r.Commits()) == 1:
				got = recorded
			}
			if got != c.want {
				t.Errorf("%s (status %d, commits %+v), want %s", got, status, r.Commits(), c.want)
			}
			if got == refused && len(r.Commits()) != 0 {
				t.Errorf("a refused request recorded %+v", r.Commits())
			}
			if len(r.Events()) != 1 {
				t.Errorf("received %d events, want the 1 sent, whatever was recorded", len(r.Events()))
			}
		})
	}
}

// One refused event fails the whole request: nothing of it is recorded.
func TestReceiverRefusesTheWholeRequest(t *testing.T) {
	r := synapsestub.NewReceiver("dXNlcjpwYXNz")
	srv := httptest.NewServer(r)
	defer srv.Close()
	var good, untagged synapsestub.Event
	for _, e := range []*synapsestub.Event{&good, &untagged} {
		e.Action = "push"
		e.Target.MediaType = synapsestub.DockerManifestMediaType
		e.Target.Repository = "syn1/a"
		e.Actor.Name = "1"
	}
	good.Target.Tag = "v1"
	if status := postEvents(t, srv.URL, "Basic dXNlcjpwYXNz", good, untagged); status != http.StatusBadRequest {
		t.Errorf("status %d, want 400", status)
	}
	if c := r.Commits(); len(c) != 0 {
		t.Errorf("recorded %+v from a refused request", c)
	}
	if len(r.Refused()) != 1 || !strings.Contains(r.Refused()[0].Reason, "without a tag") {
		t.Errorf("refused %+v", r.Refused())
	}
}

func postEvents(t *testing.T, url, auth string, events ...synapsestub.Event) int {
	t.Helper()
	return postJSON(t, url, auth, synapsestub.Envelope{Events: events})
}

// postJSON posts body as a notification request with the given Authorization header and
// returns the status.
func postJSON(t *testing.T, url, auth string, body any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
