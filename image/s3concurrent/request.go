package s3concurrent

import (
	"context"
	"strings"
	"sync"
	"time"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
)

// Within one registry request the registry asks S3 a question that request
// has just answered itself, and waits a round trip for each: the final PUT
// of an upload commits it, then stats the upload's object twice (validating
// its size, then before moving it) and Move stats it a third time for the
// copy's size. The memo answers those from the commit: a committed upload's
// object has the size the writer committed for as long as it exists (its
// key holds the upload's random ID and is never written again; another task
// can only delete it, an upload cancelled or purged, after which the move's
// copy fails as the Stat would have).
//
// Nothing learned in one request answers another (distribution gives every
// request an ID in its context), so what another task did between two
// requests is always seen; a call without a request ID (the storage-driver
// suite, tools) asks S3 every time. Whatever this driver deletes, moves or
// writes at a key is forgotten by every request first, and a memo lasts
// memoTTL at most.
//
// Content put is not remembered, although each PATCH stores the same hash
// state twice: skipping the second write would leave the object's
// modification time at the first, and the storage-driver contract (its
// suite's TestStatCall) wants every write to renew it.
type requestMemo struct {
	mu      sync.Mutex
	entries map[memoKey]memoEntry
}

type memoKey struct{ request, key string }

// memoEntry: the request committed an upload of size bytes at the key.
type memoEntry struct {
	at   time.Time
	size int64
}

// requestIDKey is the context key distribution's handlers set to each HTTP
// request's ID (its internal/dcontext, "http.request.id").
const requestIDKey = "http.request.id"

const (
	// memoTTL bounds how long an entry answers, so that the entries of
	// requests that failed before their move do not pile up: the move
	// follows the commit within seconds (later only when the digest must be
	// recomputed from S3, and then S3 is asked again).
	memoTTL = time.Minute
	// memoSweepAt: past this many entries, expired ones are dropped.
	memoSweepAt = 1000
)

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func (m *requestMemo) lookup(ctx context.Context, key string) (memoEntry, bool) {
	req := requestID(ctx)
	if req == "" {
		return memoEntry{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[memoKey{req, key}]
	if !ok || time.Since(e.at) > memoTTL {
		return memoEntry{}, false
	}
	return e, true
}

func (m *requestMemo) store(ctx context.Context, key string, e memoEntry) {
	req := requestID(ctx)
	if req == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = map[memoKey]memoEntry{}
	}
	if len(m.entries) >= memoSweepAt {
		for k, old := range m.entries {
			if time.Since(old.at) > memoTTL {
				delete(m.entries, k)
			}
		}
	}
	e.at = time.Now()
	m.entries[memoKey{req, key}] = e
}

// committed records that this request committed an upload of size bytes at
// key.
func (m *requestMemo) committed(ctx context.Context, key string, size int64) {
	m.store(ctx, key, memoEntry{size: size})
}

// stat is what the request knows of the object at key, if it committed it.
func (m *requestMemo) stat(ctx context.Context, path, key string) (storagedriver.FileInfo, bool) {
	e, ok := m.lookup(ctx, key)
	if !ok {
		return nil, false
	}
	return storagedriver.FileInfoInternal{FileInfoFields: storagedriver.FileInfoFields{Path: path, Size: e.size, ModTime: e.at}}, true
}

// forget drops what any request knows of key, and with tree of everything
// under it (key as a directory): it is being deleted, moved or rewritten.
func (m *requestMemo) forget(key string, tree bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir := strings.TrimSuffix(key, "/") + "/"
	for k := range m.entries {
		if k.key == key || tree && strings.HasPrefix(k.key, dir) {
			delete(m.entries, k)
		}
	}
}
