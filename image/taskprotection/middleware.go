package taskprotection

import (
	"context"
	"fmt"
	"sync"

	"github.com/distribution/distribution/v3"
	repositorymiddleware "github.com/distribution/distribution/v3/registry/middleware/repository"
	"github.com/sirupsen/logrus"
)

// Name is the repository middleware's name in the registry configuration
// (middleware: repository: - name: taskprotection).
const Name = "taskprotection"

// OptionAgentURI is the middleware option holding $ECS_AGENT_URI.
const OptionAgentURI = "agenturi"

func init() {
	if err := repositorymiddleware.Register(Name, newRepository); err != nil {
		logrus.Errorf("registering the %s repository middleware: %v", Name, err)
	}
}

// The registry applies repository middleware to every request that names a repository, so the
// guard of an agent URI is made once and shared.
var (
	guardsMu sync.Mutex
	guards   = map[string]*Guard{}
)

func guardFor(options map[string]any) (*Guard, error) {
	uri, _ := options[OptionAgentURI].(string)
	guardsMu.Lock()
	defer guardsMu.Unlock()
	if g, ok := guards[uri]; ok {
		return g, nil
	}
	client, err := newAgentClient(uri)
	if err != nil {
		return nil, fmt.Errorf("%s middleware: option %s: %w", Name, OptionAgentURI, err)
	}
	g := newGuard(client, DefaultPolicy, logrus.WithField("component", "taskprotection"))
	go g.run(context.Background())
	guards[uri] = g
	return g, nil
}

func newRepository(_ context.Context, repo distribution.Repository, options map[string]any) (distribution.Repository, error) {
	g, err := guardFor(options)
	if err != nil {
		return nil, err
	}
	return &repository{Repository: repo, guard: g}, nil
}

type repository struct {
	distribution.Repository
	guard *Guard
}

func (r *repository) Blobs(ctx context.Context) distribution.BlobStore {
	return &blobStore{BlobStore: r.Repository.Blobs(ctx), guard: r.guard}
}

type blobStore struct {
	distribution.BlobStore
	guard *Guard
}

// Create starts an upload (POST): in flight until its writer is closed.
func (b *blobStore) Create(ctx context.Context, options ...distribution.BlobCreateOption) (distribution.BlobWriter, error) {
	release := b.guard.Acquire()
	w, err := b.BlobStore.Create(ctx, options...)
	if err != nil {
		release()
		return nil, err
	}
	return &blobWriter{BlobWriter: w, release: release}, nil
}

// Resume continues an upload (PATCH, PUT, DELETE): in flight until its writer is closed.
func (b *blobStore) Resume(ctx context.Context, id string) (distribution.BlobWriter, error) {
	release := b.guard.Acquire()
	w, err := b.BlobStore.Resume(ctx, id)
	if err != nil {
		release()
		return nil, err
	}
	return &blobWriter{BlobWriter: w, release: release}, nil
}

// blobWriter ends its upload's time in flight at Close, Commit or Cancel, whichever is first
// (the handlers call Close after each request, also after Commit and Cancel).
type blobWriter struct {
	distribution.BlobWriter
	release func()
}

func (w *blobWriter) Commit(ctx context.Context, provisional distribution.Descriptor) (distribution.Descriptor, error) {
	defer w.release()
	return w.BlobWriter.Commit(ctx, provisional)
}

func (w *blobWriter) Cancel(ctx context.Context) error {
	defer w.release()
	return w.BlobWriter.Cancel(ctx)
}

func (w *blobWriter) Close() error {
	defer w.release()
	return w.BlobWriter.Close()
}
