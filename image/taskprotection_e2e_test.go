package image_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/image/taskprotection"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/ecsagenttest"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synapsestub"
)

// gatedLayer is a layer whose upload stream stops halfway until open is closed: a push that
// holds a blob stream open, as a long layer upload does.
type gatedLayer struct {
	data   []byte
	digest v1.Hash
	open   chan struct{}
}

func newGatedLayer(size int) *gatedLayer {
	data := bytes.Repeat([]byte("synapse-layer-"), size/14+1)[:size]
	sum := sha256.Sum256(data)
	return &gatedLayer{data: data, digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}, open: make(chan struct{})}
}

type gatedReader struct {
	gate <-chan struct{}
	rest io.Reader
}

func (r *gatedReader) Read(p []byte) (int, error) {
	<-r.gate
	return r.rest.Read(p)
}

func (l *gatedLayer) reader() io.ReadCloser {
	half := len(l.data) / 2
	return io.NopCloser(io.MultiReader(bytes.NewReader(l.data[:half]), &gatedReader{gate: l.open, rest: bytes.NewReader(l.data[half:])}))
}
func (l *gatedLayer) Digest() (v1.Hash, error)             { return l.digest, nil }
func (l *gatedLayer) DiffID() (v1.Hash, error)             { return l.digest, nil }
func (l *gatedLayer) Compressed() (io.ReadCloser, error)   { return l.reader(), nil }
func (l *gatedLayer) Uncompressed() (io.ReadCloser, error) { return l.reader(), nil }
func (l *gatedLayer) Size() (int64, error)                 { return int64(len(l.data)), nil }
func (l *gatedLayer) MediaType() (types.MediaType, error)  { return types.DockerUncompressedLayer, nil }

// With ECS_AGENT_URI set (as ECS sets it), the real registry protects its task through the
// agent's endpoint while a push holds a blob stream open, for longer than the guard's
// UnprotectDelay (so it is the open stream that holds it, not a request just finished), and
// removes the protection after the push completes.
func TestPushInFlightProtectsTheTask(t *testing.T) {
	t.Parallel()
	agent := ecsagenttest.Start(t)
	sy := registrytest.StartSynapse(t)
	reg := registrytest.StartRegistry(t, registrytest.Options{Synapse: sy, S3: registrytest.StartS3(t, ""),
		Env: map[string]string{registryconfig.EnvECSAgentURI: agent.URI}})
	if agent.Protected() {
		t.Fatal("protected before any upload")
	}

	layer := newGatedLayer(registryconfig.S3ChunkSize + 1<<20)
	img, err := mutate.AppendLayers(randomImage(t, 1024, 1), layer)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- push(t, reg.Host+"/"+repo+":protected", img, synapsestub.DevUser, reg.Transport()) }()

	if !agent.WaitProtected(true, 30*time.Second) {
		t.Fatalf("the task is not protected while a push streams a layer; agent requests: %+v", agent.Requests())
	}
	time.Sleep(taskprotection.DefaultPolicy.UnprotectDelay + 2*time.Second)
	if !agent.Protected() {
		t.Fatalf("protection removed while the layer's stream is still open; agent requests: %+v", agent.Requests())
	}
	select {
	case err := <-done:
		t.Fatalf("the push ended while its layer was held: %v", err)
	default:
	}
	close(layer.open)
	if err := <-done; err != nil {
		t.Fatalf("push: %v", err)
	}
	if !agent.WaitProtected(false, taskprotection.DefaultPolicy.UnprotectDelay+20*time.Second) {
		t.Fatalf("still protected after the push completed; agent requests: %+v", agent.Requests())
	}
	for _, r := range agent.Requests() {
		if r.ProtectionEnabled && (r.ExpiresInMinutes == nil || *r.ExpiresInMinutes != taskprotection.DefaultPolicy.LeaseMinutes) {
			t.Errorf("protect request %+v, want ExpiresInMinutes %d", r, taskprotection.DefaultPolicy.LeaseMinutes)
		}
	}
	// The registry logs the removal once the agent has confirmed it.
	for _, want := range []string{`"taskprotection":"on, through ` + agent.URI, "task scale-in protection: on", "task scale-in protection: off"} {
		if !waitForLog(reg, want, 10*time.Second) {
			t.Errorf("the registry's log lacks %q", want)
		}
	}
}

// The agent unreachable (stopped) must not fail or slow a push: uploads go on, the failure is
// logged.
func TestPushSucceedsWhenTheAgentIsDown(t *testing.T) {
	t.Parallel()
	agent := ecsagenttest.Start(t)
	uri := agent.URI
	agent.Close()
	sy := registrytest.StartSynapse(t)
	reg := registrytest.StartRegistry(t, registrytest.Options{Synapse: sy, Env: map[string]string{registryconfig.EnvECSAgentURI: uri}})
	if err := push(t, reg.Host+"/"+repo+":agent-down", randomImage(t, 64<<10, 2), synapsestub.DevUser, reg.Transport()); err != nil {
		t.Fatalf("push with the agent down: %v", err)
	}
	if !waitForLog(reg, "uploads continue, but until this succeeds", 20*time.Second) {
		t.Error("the agent's failure is not logged with what it means")
	}
}

func waitForLog(reg *registrytest.Registry, text string, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); ; time.Sleep(50 * time.Millisecond) {
		if strings.Contains(strings.Join(reg.Logs(), "\n"), text) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}
