package image_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synapsestub"
)

const repo = "syn12345/app"

func randomImage(t *testing.T, layerSize int64, layers int) v1.Image {
	t.Helper()
	img, err := random.Image(layerSize, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digestOf(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// noRetry makes go-containerregistry fail on the first error instead of
// retrying, so a flaky step cannot hide behind a retry.
func noRetry() []remote.Option {
	return []remote.Option{remote.WithRetryStatusCodes(), remote.WithRetryBackoff(remote.Backoff{Steps: 1})}
}

func push(t *testing.T, ref string, img v1.Image, user synapsestub.User, tr http.RoundTripper, more ...remote.Option) error {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	// Bounded, so a stalled stream (seen once under load: the round-robin proxy's HTTP/2 stream
	// to an instance that answered an upload error early never closed) fails this push instead
	// of hanging the whole test binary until its timeout.
	ctx, cancel := context.WithTimeout(context.Background(), pushTimeout)
	defer cancel()
	opts := append(noRetry(), append(more, remote.WithContext(ctx))...)
	return remote.Write(r, img, registrytest.RemoteOptions(user, tr, opts...)...)
}

// pushTimeout bounds one test push of a few small layers; a healthy one takes well under a second.
const pushTimeout = 2 * time.Minute

// pull fetches ref and reads and verifies every blob.
func pull(t *testing.T, ref string, user synapsestub.User, tr http.RoundTripper) (v1.Hash, error) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, registrytest.RemoteOptions(user, tr, noRetry()...)...)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := validate.Image(img); err != nil {
		return v1.Hash{}, fmt.Errorf("validating the pulled image: %w", err)
	}
	return img.Digest()
}

func waitContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Push and pull by tag and by digest as an authorized user, through S3 with
// redirects; through the relay, Synapse receives exactly the tagged manifest
// pushes, with the right Authorization and the fields it reads.
func TestPushPullAndNotifications(t *testing.T) {
	t.Parallel()
	sy := registrytest.StartSynapse(t)
	s3 := registrytest.StartS3(t, "")
	reg := registrytest.StartRegistry(t, registrytest.Options{Synapse: sy, S3: s3, Queue: registrytest.StartQueue(t, 5)})
	sy.Notifications.SetHosts(reg.Host)
	tr := reg.Transport()

	// One layer above the 32 MiB part size, so the upload has two parts.
	big := randomImage(t, registryconfig.S3ChunkSize+8<<20, 1)
	img := randomImage(t, 64<<10, 3)
	img, err := mutate.Append(img, mutate.Addendum{Layer: mustLayers(t, big)[0]})
	if err != nil {
		t.Fatal(err)
	}
	if mt, _ := img.MediaType(); mt != types.DockerManifestSchema2 {
		t.Fatalf("test image has media type %s", mt)
	}
	digest := digestOf(t, img)
	if err := push(t, reg.Host+"/"+repo+":v1", img, synapsestub.DevUser, tr); err != nil {
		t.Fatalf("push by tag: %v", err)
	}
	byDigest := randomImage(t, 32<<10, 2)
	if err := push(t, reg.Host+"/"+repo+"@"+digestOf(t, byDigest).String(), byDigest, synapsestub.DevUser, tr); err != nil {
		t.Fatalf("push by digest: %v", err)
	}

	for _, c := range []struct {
		ref  string
		user synapsestub.User
		want v1.Hash
	}{
		{reg.Host + "/" + repo + ":v1", synapsestub.DevUser, digest},
		{reg.Host + "/" + repo + "@" + digest.String(), synapsestub.DevUser, digest},
		{reg.Host + "/" + repo + "@" + digestOf(t, byDigest).String(), synapsestub.ReaderUser, digestOf(t, byDigest)},
		{reg.Host + "/" + repo + ":v1", synapsestub.ReaderUser, digest},
	} {
		got, err := pull(t, c.ref, c.user, tr)
		if err != nil || got != c.want {
			t.Errorf("pull %s as %s: %v, %v", c.ref, c.user.Name, got, err)
		}
	}

	// A last push is the barrier: the registry sends events in order and the
	// relay enqueues them in order, so by the time the barrier is recorded any
	// pull or blob event would have been handled.
	barrier := randomImage(t, 1024, 1)
	if err := push(t, reg.Host+"/"+repo+":barrier", barrier, synapsestub.DevUser, tr); err != nil {
		t.Fatal(err)
	}
	ctx := waitContext(t, 30*time.Second)
	if _, err := sy.Notifications.WaitForCommit(ctx, repo, digestOf(t, barrier).String()); err != nil {
		t.Fatal(err)
	}

	commits := sy.Notifications.Commits()
	want := []synapsestub.Commit{
		{ProjectID: "syn12345", Repository: repo, Tag: "v1", Digest: digest.String(), UserID: synapsestub.DevUser.ID, Host: reg.Host},
		{ProjectID: "syn12345", Repository: repo, Tag: "barrier", Digest: digestOf(t, barrier).String(), UserID: synapsestub.DevUser.ID, Host: reg.Host},
	}
	if !slices.Equal(commits, want) {
		t.Errorf("Synapse would record\n%+v\nwant\n%+v", commits, want)
	}
	for _, d := range sy.Notifications.Deliveries() {
		if d.Authorization != "Basic "+sy.NotificationAuth {
			t.Errorf("notification with Authorization %q", d.Authorization)
		}
		if d.ContentType != "application/vnd.docker.distribution.events.v2+json" {
			t.Errorf("notification content type %q", d.ContentType)
		}
		for _, e := range d.Events {
			if e.Action != "push" || e.Target.MediaType != synapsestub.DockerManifestMediaType {
				t.Errorf("Synapse was sent an event it does not use: %s %s %s", e.Action, e.Target.MediaType, e.Target.Repository)
			}
		}
	}
	if refused := sy.Notifications.Refused(); len(refused) > 0 {
		t.Errorf("Synapse would have refused %d deliveries: %+v", len(refused), refused)
	}

	// Storage: the registry 2 key layout (an adopted bucket's images stay
	// visible), server-side encryption, and the configured part size.
	keys := s3.Keys(t)
	if len(keys) == 0 {
		t.Fatal("nothing was stored in S3")
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "docker/registry/v2/") {
			t.Errorf("S3 key %q is outside docker/registry/v2/", k)
		}
	}
	var parts []int64
	for _, r := range s3.Requests() {
		creates := r.Method == http.MethodPut && !strings.Contains(r.RawQuery, "partNumber") ||
			r.Method == http.MethodPost && strings.Contains(r.RawQuery, "uploads")
		if creates && r.Header.Get("X-Amz-Server-Side-Encryption") != "AES256" {
			t.Errorf("%s %s?%s without server-side encryption", r.Method, r.Path, r.RawQuery)
		}
		if r.Method == http.MethodPut && strings.Contains(r.RawQuery, "partNumber") {
			n, _ := strconv.ParseInt(r.Header.Get("Content-Length"), 10, 64)
			parts = append(parts, n)
		}
	}
	// Round trips the driver saves in the registry as it calls it: each final
	// PUT's Stats of the upload it has just committed are answered from the
	// commit (distribution's request ID reaches the driver), and a new
	// blob's absence is one HeadObject, no listing (image/s3concurrent).
	for _, r := range s3.Requests() {
		if r.Method == http.MethodHead && strings.Contains(r.Path, "/_uploads/") {
			t.Errorf("HeadObject %s: the registry asked S3 for the size of an upload its request had just committed", r.Path)
		}
		if r.Method == http.MethodGet && strings.Contains(r.RawQuery, "list-type") && strings.Contains(r.RawQuery, "blobs%2F") {
			t.Errorf("ListObjects ?%s: a Stat of a blob's data listed it as a directory", r.RawQuery)
		}
	}
	if !slices.Contains(parts, int64(registryconfig.S3ChunkSize)) {
		t.Errorf("no upload part of %d bytes (the configured chunk size) among %v", registryconfig.S3ChunkSize, parts)
	}

	// The image bucket's lifecycle expires deleted objects over S3UploadDataMinBytes under
	// S3RepositoriesPrefix after a day, as upload data (infra/storage.go): uploads are written
	// there, and after the pushes nothing that large is left there, only under blobs/.
	uploadsUnderPrefix := false
	for _, r := range s3.Requests() {
		key := strings.TrimPrefix(r.Path, "/"+s3.Bucket+"/")
		if r.Method == http.MethodPut && strings.Contains(r.RawQuery, "partNumber") {
			uploadsUnderPrefix = uploadsUnderPrefix || strings.HasPrefix(key, registryconfig.S3RepositoriesPrefix+repo+"/_uploads/")
		}
	}
	if !uploadsUnderPrefix {
		t.Errorf("no upload part was written under %s%s/_uploads/, where the lifecycle rule for deleted upload data looks", registryconfig.S3RepositoriesPrefix, repo)
	}
	for _, o := range s3.Objects(t) {
		if strings.HasPrefix(o.Key, registryconfig.S3RepositoriesPrefix) && o.Size > registryconfig.S3UploadDataMinBytes {
			t.Errorf("%s (%d bytes) is kept under %s: the lifecycle would expire its old versions after a day as upload data", o.Key, o.Size, registryconfig.S3RepositoriesPrefix)
		}
	}

	// Blob downloads are redirected to a pre-signed S3 URL (path style).
	layers := mustLayers(t, img)
	ld, _ := layers[0].Digest()
	resp := rawRequest(t, tr, http.MethodGet, reg.URL+"/v2/"+repo+"/blobs/"+ld.String(), sy.Token(t, "dev", "repository:"+repo+":pull"))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(loc, s3.URL+"/"+s3.Bucket+"/docker/registry/v2/blobs/") || !strings.Contains(loc, "X-Amz-Signature=") {
		t.Errorf("blob GET: %d Location %q; want 307 to a pre-signed path-style S3 URL", resp.StatusCode, loc)
	}
}

// expectedGoMemLimit is what the entrypoint adds to the registry's environment on this
// machine, from its container memory limit if it has one, and logs about it.
func expectedGoMemLimit() ([]string, string) {
	limit, source := registryconfig.MemoryLimit("/")
	return registryconfig.WithGoMemLimit(nil, limit, source)
}

func mustLayers(t *testing.T, img v1.Image) []v1.Layer {
	t.Helper()
	l, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func rawRequest(t *testing.T, tr http.RoundTripper, method, url, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// With every event sent (the benchmark's knob), pulls and blob pushes do
// reach the listener: the filter, not chance, keeps them from Synapse.
func TestNotificationFilterIsWhatKeepsOtherEventsAway(t *testing.T) {
	t.Parallel()
	sy := registrytest.StartSynapse(t)
	reg := registrytest.StartRegistry(t, registrytest.Options{Synapse: sy, NotifyAll: true})
	tr := reg.Transport()
	img := randomImage(t, 1024, 1)
	if err := push(t, reg.Host+"/"+repo+":all", img, synapsestub.DevUser, tr); err != nil {
		t.Fatal(err)
	}
	if _, err := pull(t, reg.Host+"/"+repo+":all", synapsestub.DevUser, tr); err != nil {
		t.Fatal(err)
	}
	ctx := waitContext(t, 30*time.Second)
	_, err := sy.Notifications.WaitFor(ctx, func(events []synapsestub.Event) bool {
		var pulls, blobPushes bool
		for _, e := range events {
			pulls = pulls || e.Action == "pull"
			blobPushes = blobPushes || e.Action == "push" && e.Target.MediaType == registryconfig.OctetStreamMediaType
		}
		return pulls && blobPushes
	})
	if err != nil {
		t.Errorf("with %s=all, pulls and blob pushes were not sent: %v", registryconfig.EnvNotificationEvents, err)
	}
}

// Every way a request can lack authority is refused with 401 or 403, never a
// 5xx; the same requests with a proper token succeed.
func TestRefusals(t *testing.T) {
	t.Parallel()
	sy := registrytest.StartSynapse(t)
	reg := registrytest.StartRegistry(t, registrytest.Options{Synapse: sy})
	tr := reg.Transport()
	if err := push(t, reg.Host+"/"+repo+":v1", randomImage(t, 1024, 1), synapsestub.DevUser, tr); err != nil {
		t.Fatal(err)
	}
	manifestURL := reg.URL + "/v2/" + repo + "/manifests/v1"
	uploadURL := reg.URL + "/v2/" + repo + "/blobs/uploads/"

	mint := func(mutate func(*synapsestub.Claims, *synapsestub.Header), key *synapsestub.SigningKey) string {
		c := sy.Tokens.ClaimsFor(synapsestub.DevUser, sy.Service, "repository:"+repo+":pull,push")
		h := synapsestub.Header{Type: "JWT", KeyID: sy.Key.KeyID, Algorithm: "ES256"}
		if mutate != nil {
			mutate(&c, &h)
		}
		if key == nil {
			key = sy.Key
		}
		tok, err := key.MintWithHeader(h, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	valid := mint(nil, nil)
	other, err := synapsestub.NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tamper := func(tok string) string {
		i := strings.LastIndex(tok, ".") + 10
		b := []byte(tok)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}

	// Controls: the requests are otherwise fine.
	if r := rawRequest(t, tr, http.MethodGet, manifestURL, valid); r.StatusCode != http.StatusOK {
		t.Fatalf("control GET manifest: %d", r.StatusCode)
	}
	if r := rawRequest(t, tr, http.MethodPost, uploadURL, valid); r.StatusCode != http.StatusAccepted {
		t.Fatalf("control POST upload: %d", r.StatusCode)
	}

	cases := []struct {
		name  string
		token string
	}{
		{"no token", ""},
		{"expired", mint(func(c *synapsestub.Claims, _ *synapsestub.Header) {
			c.IssuedAt, c.NotBefore, c.Expiration = now.Add(-10*time.Minute).Unix(), now.Add(-12*time.Minute).Unix(), now.Add(-8*time.Minute).Unix()
		}, nil)},
		{"not yet valid", mint(func(c *synapsestub.Claims, _ *synapsestub.Header) {
			c.NotBefore, c.Expiration = now.Add(10*time.Minute).Unix(), now.Add(14*time.Minute).Unix()
		}, nil)},
		{"wrong audience", mint(func(c *synapsestub.Claims, _ *synapsestub.Header) { c.Audience = "docker.other.org" }, nil)},
		{"wrong issuer", mint(func(c *synapsestub.Claims, _ *synapsestub.Header) { c.Issuer = "evil.example.org" }, nil)},
		{"unknown kid", mint(func(_ *synapsestub.Claims, h *synapsestub.Header) { h.KeyID = other.KeyID }, nil)},
		{"signed by another key under the trusted kid", mint(nil, other)},
		{"bad signature", tamper(valid)},
		{"algorithm not ES256", mint(func(_ *synapsestub.Claims, h *synapsestub.Header) { h.Algorithm = "HS256" }, nil)},
		{"token for another repository", mint(func(c *synapsestub.Claims, _ *synapsestub.Header) {
			c.Access = []synapsestub.Access{{Type: "repository", Name: "syn12345/other", Actions: []string{"pull", "push"}}}
		}, nil)},
		{"token with no actions", mint(func(c *synapsestub.Claims, _ *synapsestub.Header) {
			c.Access = []synapsestub.Access{{Type: "repository", Name: repo, Actions: []string{}}}
		}, nil)},
	}
	for _, c := range cases {
		for _, req := range []struct{ method, url string }{{http.MethodGet, manifestURL}, {http.MethodPost, uploadURL}} {
			r := rawRequest(t, tr, req.method, req.url, c.token)
			if r.StatusCode != http.StatusUnauthorized && r.StatusCode != http.StatusForbidden {
				t.Errorf("%s: %s %s answered %d, want 401 or 403", c.name, req.method, req.url, r.StatusCode)
			}
			if c.token == "" && !strings.Contains(r.Header.Get("WWW-Authenticate"), `Bearer realm="`+sy.Realm+`",service="`+sy.Service+`"`) {
				t.Errorf("challenge %q does not send clients to Synapse", r.Header.Get("WWW-Authenticate"))
			}
		}
	}

	// A pull-only token pushing: refused at the upload and at the manifest.
	pullOnly := mint(func(c *synapsestub.Claims, _ *synapsestub.Header) {
		c.Access = []synapsestub.Access{{Type: "repository", Name: repo, Actions: []string{"pull"}}}
	}, nil)
	if r := rawRequest(t, tr, http.MethodGet, manifestURL, pullOnly); r.StatusCode != http.StatusOK {
		t.Errorf("pull-only token pulling: %d", r.StatusCode)
	}
	for _, m := range []struct{ method, url string }{{http.MethodPost, uploadURL}, {http.MethodPut, manifestURL}} {
		if r := rawRequest(t, tr, m.method, m.url, pullOnly); r.StatusCode != http.StatusUnauthorized && r.StatusCode != http.StatusForbidden {
			t.Errorf("pull-only token: %s answered %d, want 401 or 403", m.method, r.StatusCode)
		}
	}
	// The same through a registry client, as a user Synapse grants pull only.
	err = push(t, reg.Host+"/"+repo+":reader", randomImage(t, 1024, 1), synapsestub.ReaderUser, tr)
	var terr *transport.Error
	if !errors.As(err, &terr) || (terr.StatusCode != http.StatusUnauthorized && terr.StatusCode != http.StatusForbidden) {
		t.Errorf("push by a pull-only user: %v, want a 401 or 403", err)
	}
	// Wrong password at Synapse: the client never gets a token.
	bad := synapsestub.DevUser
	bad.Password = "wrong"
	if _, err := pull(t, reg.Host+"/"+repo+":v1", bad, tr); err == nil {
		t.Error("pull with a wrong password succeeded")
	}
}

// Two instances on shared storage behind a round-robin proxy: uploads hop
// between them and multi-layer pushes succeed every time, because both sign
// upload state with the shared http.secret. With different secrets the same
// pushes fail, so the test depends on the secret, not on luck.
func TestTwoInstancesBehindRoundRobin(t *testing.T) {
	t.Parallel()
	pushAll := func(t *testing.T, secretB string) (*registrytest.RoundRobin, *registrytest.Synapse, []error, []v1.Hash) {
		sy := registrytest.StartSynapse(t)
		s3 := registrytest.StartS3(t, "")
		a := registrytest.StartRegistry(t, registrytest.Options{Synapse: sy, S3: s3})
		b := registrytest.StartRegistry(t, registrytest.Options{Synapse: sy, S3: s3, HTTPSecret: secretB})
		proxy := registrytest.StartRoundRobin(t, a, b)
		sy.Notifications.SetHosts(proxy.Host)
		tr := proxy.Transport(sy)
		var errs []error
		var digests []v1.Hash
		for i := range 4 {
			img := randomImage(t, 16<<10, 3+i%2)
			jobs := []remote.Option{remote.WithJobs(1)} // strict alternation: every upload hops
			if i%2 == 1 {
				jobs = nil // concurrent uploads
			}
			errs = append(errs, push(t, fmt.Sprintf("%s/%s:rr%d", proxy.Host, repo, i), img, synapsestub.DevUser, tr, jobs...))
			digests = append(digests, digestOf(t, img))
		}
		return proxy, sy, errs, digests
	}

	t.Run("shared secret", func(t *testing.T) {
		t.Parallel()
		proxy, sy, errs, digests := pushAll(t, "")
		for i, err := range errs {
			if err != nil {
				t.Errorf("push %d through the round-robin proxy: %v", i, err)
			}
		}
		tr := proxy.Transport(sy)
		for i, d := range digests {
			if got, err := pull(t, fmt.Sprintf("%s/%s:rr%d", proxy.Host, repo, i), synapsestub.DevUser, tr); err != nil || got != d {
				t.Errorf("pull rr%d: %v %v", i, got, err)
			}
		}
		// Uploads did hop: some upload session was served by both instances.
		sessions := map[string]map[int]bool{}
		for _, r := range proxy.Requests() {
			if r.Status >= 500 {
				t.Errorf("%s %s answered %d", r.Method, r.Path, r.Status)
			}
			if i := strings.Index(r.Path, "/blobs/uploads/"); i >= 0 && len(r.Path) > i+len("/blobs/uploads/") {
				id := r.Path[i+len("/blobs/uploads/"):]
				if sessions[id] == nil {
					sessions[id] = map[int]bool{}
				}
				sessions[id][r.Backend] = true
			}
		}
		hopped := 0
		for _, backends := range sessions {
			if len(backends) == 2 {
				hopped++
			}
		}
		if hopped == 0 {
			t.Errorf("no upload hopped between the instances (%d sessions); the test proves nothing", len(sessions))
		}
		ctx := waitContext(t, 30*time.Second)
		for _, d := range digests {
			if _, err := sy.Notifications.WaitForCommit(ctx, repo, d.String()); err != nil {
				t.Error(err)
			}
		}
	})

	t.Run("different secrets break hopping uploads", func(t *testing.T) {
		t.Parallel()
		_, _, errs, _ := pushAll(t, "a-different-http-secret-for-instance-b-0123456789")
		if errs[0] == nil || errs[2] == nil {
			t.Errorf("pushes whose uploads hop between instances with different secrets succeeded: %v", errs)
		}
	})
}

// The health and metrics server is a port of its own, reflects the storage
// driver, and serves nothing else; the API port does not serve it.
func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	sy := registrytest.StartSynapse(t)
	s3 := registrytest.StartS3(t, "")
	reg := registrytest.StartRegistry(t, registrytest.Options{Synapse: sy, S3: s3})
	tr := reg.Transport()
	get := func(url string) (int, string) {
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(reg.HealthURL + "/debug/health"); code != http.StatusOK || strings.TrimSpace(body) != "{}" {
		t.Errorf("health: %d %q", code, body)
	}
	if code, body := get(reg.HealthURL + "/metrics"); code != http.StatusOK || !strings.Contains(body, "registry_") {
		t.Errorf("metrics: %d, %d bytes", code, len(body))
	}
	if code, _ := get(reg.HealthURL + "/v2/"); code != http.StatusNotFound {
		t.Errorf("the health port serves the registry API: %d", code)
	}
	if code, _ := get(reg.URL + "/debug/health"); code == http.StatusOK {
		t.Errorf("the API port serves the health endpoint")
	}

	s3.SetFailing(true)
	deadline := time.Now().Add(90 * time.Second)
	var code int
	var body string
	for time.Now().Before(deadline) {
		if code, body = get(reg.HealthURL + "/debug/health"); code == http.StatusServiceUnavailable {
			break
		}
		time.Sleep(time.Second)
	}
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "storagedriver_s3") {
		t.Fatalf("health with S3 failing: %d %q, want 503 naming the storage driver", code, body)
	}
	if code, _ := get(reg.URL + "/v2/"); code != http.StatusServiceUnavailable {
		t.Errorf("API while unhealthy: %d, want 503", code)
	}
	s3.SetFailing(false)
	deadline = time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if code, _ = get(reg.HealthURL + "/debug/health"); code == http.StatusOK {
			break
		}
		time.Sleep(time.Second)
	}
	if code != http.StatusOK {
		t.Errorf("health did not recover after S3 did: %d", code)
	}
}

// The process: the entrypoint execs the registry in place (same pid) without
// the secrets in its environment, logs only JSON, never logs the secrets, and
// trusts every certificate of a rotation bundle, reporting their key ids.
func TestEntrypointProcess(t *testing.T) {
	t.Parallel()
	sy := registrytest.StartSynapse(t)
	dev, err := os.ReadFile(filepath.Join("registryconfig", "testdata", "token-signing-dev.pem"))
	if err != nil {
		t.Fatal(err)
	}
	prod, err := os.ReadFile(filepath.Join("registryconfig", "testdata", "token-signing-prod.pem"))
	if err != nil {
		t.Fatal(err)
	}
	bundle := string(dev) + string(sy.Key.CertificatePEM) + string(prod)
	reg := registrytest.StartRegistry(t, registrytest.Options{Synapse: sy, Env: map[string]string{
		registryconfig.EnvTokenCertificates: bundle,
		"REGISTRY_HTTP_SECRET":              "an override the entrypoint must drop",
	}})
	tr := reg.Transport()
	img := randomImage(t, 1024, 2)
	if err := push(t, reg.Host+"/"+repo+":rotation", img, synapsestub.DevUser, tr); err != nil {
		t.Fatalf("push with the stand-in's key second in a bundle of three: %v", err)
	}
	if _, err := pull(t, reg.Host+"/"+repo+":rotation", synapsestub.DevUser, tr); err != nil {
		t.Fatal(err)
	}

	secrets := []string{sy.NotificationAuth, registrytest.SharedHTTPSecret}
	if runtime.GOOS == "linux" {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", reg.PID()))
		if err != nil {
			t.Fatal(err)
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if len(args) != 3 || args[1] != "serve" || args[2] != filepath.Join(reg.ScratchDir, registryconfig.ConfigFile) {
			t.Errorf("process %d runs %q, want the registry exec'd in place with serve <config>", reg.PID(), args)
		}
		environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", reg.PID()))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range append(secrets, registryconfig.Prefix, "REGISTRY_HTTP_SECRET") {
			if strings.Contains(string(environ), s) {
				t.Errorf("the registry's environment contains %q", s)
			}
		}
		// The Go runtime is told the container's memory limit (when this machine sets one).
		want, _ := expectedGoMemLimit()
		for _, kv := range want {
			if !slices.Contains(strings.Split(string(environ), "\x00"), kv) {
				t.Errorf("the registry's environment lacks %s", kv)
			}
		}
	}

	logs := reg.Logs()
	var started, redacted, listening bool
	for _, line := range logs {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		if _, ok := entry["level"]; !ok {
			t.Errorf("log line without level: %q", line)
		}
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Errorf("log line reveals a secret: %q", line)
			}
		}
		msg, _ := entry["msg"].(string)
		if msg == "starting the registry" {
			started = true
			if _, want := expectedGoMemLimit(); entry["go.memlimit"] != want {
				t.Errorf("start log go.memlimit %q, want %q", entry["go.memlimit"], want)
			}
			b, _ := json.Marshal(entry["token.keys"])
			for _, kid := range []string{"CC4F:YEUW:NYJE:6XDF:XG7U:DBOB:4P6E:PFZU:UXFA:JCPC:7EVP:IAMY", "2MTZ:QH2X:J57H:MV5O:62AZ:QNI3:OMW3:FZVO:KDD6:CQMC:TO6H:64SW", sy.Key.KeyID} {
				if !strings.Contains(string(b), kid) {
					t.Errorf("start log does not list key id %s: %s", kid, b)
				}
			}
		}
		redacted = redacted || strings.Contains(msg, "configuring endpoint") && strings.Contains(msg, registryconfig.Redacted)
		listening = listening || strings.Contains(msg, "listening on")
	}
	if !started || !redacted || !listening {
		t.Errorf("missing log lines: start %v, redacted endpoint %v, listening %v", started, redacted, listening)
	}
	if !slices.ContainsFunc(logs, func(l string) bool {
		return strings.Contains(l, "REGISTRY_HTTP_SECRET") && strings.Contains(l, "ignoring")
	}) {
		t.Error("the dropped REGISTRY_* override was not reported")
	}
}

// Missing or malformed variables stop the entrypoint with exit code 2 and a
// JSON line naming each problem; nothing is started.
func TestEntrypointRefusesToStart(t *testing.T) {
	t.Parallel()
	scratch := t.TempDir()
	env := append(registrytest.ChildBaseEnv(),
		registryconfig.EnvTokenRealm+"=http://not-https.example.org/token",
		registryconfig.EnvHTTPSecret+"=too-short-secret",
		registryconfig.EnvScratchDir+"="+scratch,
		registryconfig.EnvBinary+"=/nonexistent/registry",
	)
	code, out := registrytest.RunEntrypoint(t, env, 30*time.Second)
	if code != registryconfig.ExitConfig {
		t.Fatalf("exit code %d, want %d; output:\n%s", code, registryconfig.ExitConfig, out)
	}
	var entry struct {
		Level    string   `json:"level"`
		Problems []string `json:"problems"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &entry); err != nil {
		t.Fatalf("output is not one JSON line: %v\n%s", err, out)
	}
	want := []string{
		registryconfig.EnvTokenRealm + ": ", registryconfig.EnvTokenService + ": is required",
		registryconfig.EnvTokenIssuer + ": is required", registryconfig.EnvTokenCertificates + ": is required",
		registryconfig.EnvNotificationURL + ": is required", registryconfig.EnvNotificationAuth + ": is required",
		registryconfig.EnvHTTPSecret + ": is 16 characters", registryconfig.EnvS3Bucket + ": is required",
		registryconfig.EnvS3Region + ": is required", registryconfig.EnvBinary + ": ",
	}
	for _, w := range want {
		if !slices.ContainsFunc(entry.Problems, func(p string) bool { return strings.HasPrefix(p, w) }) {
			t.Errorf("no problem starting with %q in %q", w, entry.Problems)
		}
	}
	if strings.Contains(out, "too-short-secret") {
		t.Error("the output reveals the secret")
	}
	if entries, _ := os.ReadDir(scratch); len(entries) != 0 {
		t.Errorf("the refused start wrote %d files", len(entries))
	}
}

// Filesystem storage (make local) with redirects on: blobs are served by the
// registry itself, since the filesystem driver has no redirect URLs.
func TestFilesystemStorage(t *testing.T) {
	t.Parallel()
	sy := registrytest.StartSynapse(t)
	root := t.TempDir()
	reg := registrytest.StartRegistry(t, registrytest.Options{Synapse: sy, FilesystemRoot: root})
	tr := reg.Transport()
	img := randomImage(t, 4096, 2)
	if err := push(t, reg.Host+"/"+repo+":fs", img, synapsestub.DevUser, tr); err != nil {
		t.Fatal(err)
	}
	if got, err := pull(t, reg.Host+"/"+repo+"@"+digestOf(t, img).String(), synapsestub.DevUser, tr); err != nil || got != digestOf(t, img) {
		t.Fatalf("pull: %v %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(root, "docker", "registry", "v2", "repositories", "syn12345", "app")); err != nil {
		t.Errorf("repository not under the filesystem root: %v", err)
	}
}

// With redirects off, the registry streams blobs from S3 itself.
func TestRedirectOff(t *testing.T) {
	t.Parallel()
	sy := registrytest.StartSynapse(t)
	s3 := registrytest.StartS3(t, "")
	reg := registrytest.StartRegistry(t, registrytest.Options{Synapse: sy, S3: s3, DisableRedirect: true})
	tr := reg.Transport()
	img := randomImage(t, 4096, 1)
	if err := push(t, reg.Host+"/"+repo+":noredirect", img, synapsestub.DevUser, tr); err != nil {
		t.Fatal(err)
	}
	layer := mustLayers(t, img)[0]
	ld, _ := layer.Digest()
	req, _ := http.NewRequest(http.MethodGet, reg.URL+"/v2/"+repo+"/blobs/"+ld.String(), nil)
	req.Header.Set("Authorization", "Bearer "+sy.Token(t, "dev", "repository:"+repo+":pull"))
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sum := sha256.Sum256(body)
	if resp.StatusCode != http.StatusOK || "sha256:"+fmt.Sprintf("%x", sum) != ld.String() {
		t.Errorf("blob GET with redirects off: %d, %d bytes", resp.StatusCode, len(body))
	}
}

// tags/list names every tag once, in name order, in one listing and page by
// page at every page size, also tags whose names begin with another's.
// Registry 3.1.1's s3-aws Walk skipped every key that began with a skipped
// directory's path, so after "v1" it dropped "v10" and "v1_x" (and "0.1.20"
// after "0.1.2") in every listing; 3.1.2 fixed it. 3.1.2 still pages in S3's
// key order, where "1.0/" comes before "1/" ('.' sorts below '/'), against a
// page marker that puts "1" first: without the taglist middleware a page
// boundary between the two repeats one or drops one (image/README.md, "Tag
// listings").
func TestTagListsNameEveryTagOnceInOrder(t *testing.T) {
	t.Parallel()
	sy := registrytest.StartSynapse(t)
	// The stand-in lists keys in S3's order (bytewise), which is what puts "1.0/" before "1/".
	reg := registrytest.StartRegistry(t, registrytest.Options{Synapse: sy, S3: registrytest.StartS3(t, "")})
	tr := reg.Transport()
	img := randomImage(t, 1024, 1)
	tags := []string{"0.1.2", "0.1.20", "1", "1.0", "10", "v1", "v1-rc", "v1.2", "v10", "v1_x"}
	for i, tag := range tags {
		ref := reg.Host + "/" + repo + ":" + tag
		if i == 0 {
			if err := push(t, ref, img, synapsestub.DevUser, tr); err != nil {
				t.Fatal(err)
			}
			continue
		}
		tagRef, err := name.NewTag(ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Tag(tagRef, img, registrytest.RemoteOptions(synapsestub.DevUser, tr, noRetry()...)...); err != nil {
			t.Fatalf("tag %s: %v", ref, err)
		}
	}
	r, err := name.NewRepository(reg.Host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	got, err := remote.List(r, registrytest.RemoteOptions(synapsestub.ReaderUser, tr, noRetry()...)...)
	if err != nil {
		t.Fatalf("tags/list of %s: %v", repo, err)
	}
	if !slices.Equal(got, tags) {
		t.Errorf("tags/list of %s as a reader: %v, want %v", repo, got, tags)
	}

	// Page by page, following the registry's Link headers (go-containerregistry
	// refuses them here: the test transport's https is not localhost's http).
	token := sy.Token(t, "reader", "repository:"+repo+":pull")
	client := &http.Client{Transport: tr}
	for n := 1; n <= len(tags); n++ {
		paged := tagPages(t, client, token, reg.URL+"/v2/"+repo+"/tags/list?n="+strconv.Itoa(n), len(tags))
		if !slices.Equal(paged, tags) {
			t.Errorf("tags/list of %s %d at a time: %v, want %v", repo, n, paged, tags)
		}
	}
}

// tagPages GETs a tags/list URL and every page its Link headers lead to, and returns
// their tags in order; more than maxPages pages fail the test.
func tagPages(t *testing.T, client *http.Client, token, next string, maxPages int) []string {
	t.Helper()
	var tags []string
	for pages := 0; next != ""; pages++ {
		if pages > maxPages {
			t.Fatalf("%s still links a next page after %d pages: %v", next, pages, tags)
		}
		req, _ := http.NewRequest(http.MethodGet, next, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct{ Tags []string }
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("GET %s: %d, %v", next, resp.StatusCode, err)
		}
		tags = append(tags, page.Tags...)
		next = ""
		if link := resp.Header.Get("Link"); link != "" {
			start, end := strings.Index(link, "<"), strings.Index(link, ">")
			if start < 0 || end < start || !strings.Contains(link, `rel="next"`) {
				t.Fatalf("Link header %q is not <url>; rel=\"next\"", link)
			}
			u, err := resp.Request.URL.Parse(link[start+1 : end])
			if err != nil {
				t.Fatalf("Link header %q: %v", link, err)
			}
			next = u.String()
		}
	}
	return tags
}
