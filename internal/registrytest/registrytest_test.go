package registrytest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synapsestub"
)

// TestMain lets this test binary act as the entrypoint and the registry too.
func TestMain(m *testing.M) { Main(m) }

func TestRandomLayer(t *testing.T) {
	t.Parallel()
	const size = 1<<20 + 512
	l, err := NewRandomLayer(size, 7)
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := l.Compressed()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != size {
		t.Fatalf("layer is %d bytes, want %d", len(b), size)
	}
	if d, _ := l.Digest(); d.Hex != fmt.Sprintf("%x", sha256.Sum256(b)) {
		t.Errorf("digest %v is not the sha256 of the bytes", d)
	}
	// Reading again gives the same bytes; another seed, others.
	rc, _ = l.Uncompressed()
	again, _ := io.ReadAll(rc)
	if !bytes.Equal(b, again) {
		t.Error("a second read differs")
	}
	other, _ := NewRandomLayer(size, 8)
	if d1, _ := l.Digest(); func() bool { d2, _ := other.Digest(); return d1 == d2 }() {
		t.Error("two seeds, one digest")
	}
	// A valid tar of one file of the rest of the size.
	tr := tar.NewReader(bytes.NewReader(b))
	h, err := tr.Next()
	if err != nil || h.Size != size-tarOverhead {
		t.Fatalf("tar entry: %+v %v", h, err)
	}
	content, _ := io.ReadAll(tr)
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("more than one entry: %v", err)
	}
	// Incompressible.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(content)
	zw.Close()
	if gz.Len() < len(content) {
		t.Errorf("the content compresses from %d to %d bytes", len(content), gz.Len())
	}
	if mt, _ := l.MediaType(); mt != types.DockerUncompressedLayer {
		t.Errorf("media type %s", mt)
	}
	for _, bad := range []int64{1000, 1024, 1<<20 + 1} {
		if _, err := NewRandomLayer(bad, 1); err == nil {
			t.Errorf("size %d accepted", bad)
		}
	}
}

func TestCommand(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	c := &Command{Log: &log}
	var order []int
	dir := c.TempDir()
	c.Cleanup(func() { order = append(order, 1) })
	c.Cleanup(func() { order = append(order, 2) })
	if err := c.Run(func() { c.Logf("hello %d", 1) }); err != nil || c.Failed() {
		t.Fatalf("Run without Fatal: %v, failed %v", err, c.Failed())
	}
	err := c.Run(func() {
		c.Fatalf("broken: %d", 42)
		t.Error("Fatalf returned")
	})
	if err == nil || err.Error() != "broken: 42" || !c.Failed() {
		t.Errorf("Run with Fatalf: %v, failed %v", err, c.Failed())
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("temporary directory gone before Close: %v", err)
	}
	c.Close()
	if len(order) != 2 || order[0] != 2 || order[1] != 1 {
		t.Errorf("cleanups ran in order %v, want last registered first", order)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("temporary directory left after Close: %v", err)
	}
	if log.String() != "hello 1\n" {
		t.Errorf("log %q", log.String())
	}
}

// A layer above the multipart-copy threshold (128 MiB), which the registry
// moves into place with UploadPartCopy, pushed and pulled through the
// registry with the deployed configuration, on an S3 stand-in over HTTPS.
func TestLayerAboveMultipartCopyThreshold(t *testing.T) {
	if testing.Short() {
		t.Skip("pushes 160 MiB")
	}
	t.Parallel()
	sy := StartSynapse(t)
	s3 := StartS3With(t, S3Options{TLS: true})
	reg := StartRegistry(t, Options{Synapse: sy, S3: s3})
	tr := reg.Transport()

	size := int64(registryconfig.S3MultipartCopyThresholdSize + registryconfig.S3ChunkSize)
	layer, err := NewRandomLayer(size, 1)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(reg.Host + "/syn1/large:v1")
	if err != nil {
		t.Fatal(err)
	}
	opts := RemoteOptions(synapsestub.DevUser, tr, remote.WithRetryStatusCodes())
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatalf("push: %v", err)
	}

	// The registry signs with a key of its own, so that a benchmark can
	// tell its requests from other registries' on the same S3.
	if reg.S3AccessKey == "" || reg.S3AccessKey == "registrytest" {
		t.Errorf("registry's S3 access key %q is not its own", reg.S3AccessKey)
	}
	pushReqs := s3.Requests()
	pushed := len(pushReqs)
	for _, r := range pushReqs {
		if r.AccessKey != reg.S3AccessKey {
			t.Errorf("%s %s?%s signed by %q, not the registry's %q", r.Method, r.Path, r.RawQuery, r.AccessKey, reg.S3AccessKey)
		}
	}

	// The upload was moved with ranged UploadPartCopy requests of the
	// configured copy chunk size.
	var ranges []string
	for _, r := range s3.Requests() {
		if r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "" && strings.Contains(r.RawQuery, "partNumber") {
			ranges = append(ranges, r.Header.Get("X-Amz-Copy-Source-Range"))
		}
	}
	want := []string{
		fmt.Sprintf("bytes=0-%d", registryconfig.S3MultipartCopyChunkSize-1),
		fmt.Sprintf("bytes=%d-%d", registryconfig.S3MultipartCopyChunkSize, size-1),
	}
	if len(ranges) != len(want) || !(ranges[0] == want[0] && ranges[1] == want[1] || ranges[0] == want[1] && ranges[1] == want[0]) {
		t.Errorf("UploadPartCopy ranges %q, want %q", ranges, want)
	}

	// Pulled back by redirect to S3 (HTTPS), every byte verified.
	pulled, err := remote.Image(ref, opts...)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := pulled.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("pulled layers: %v %v", layers, err)
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	if err == nil {
		err = rc.Close()
	}
	if err != nil || n != size {
		t.Fatalf("pulled %d bytes of %d: %v", n, size, err)
	}
	// The client fetched the layer from S3 with the URL the registry
	// pre-signed, so the request is the registry's too.
	presigned := 0
	for _, r := range s3.Requests()[pushed:] {
		if strings.Contains(r.RawQuery, "X-Amz-Credential") {
			presigned++
			if r.AccessKey != reg.S3AccessKey {
				t.Errorf("pre-signed GET %s signed by %q, not the registry's %q", r.Path, r.AccessKey, reg.S3AccessKey)
			}
		}
	}
	if presigned == 0 {
		t.Error("the pull fetched nothing from S3 by a pre-signed URL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, _ := img.Digest()
	if _, err := sy.Notifications.WaitForCommit(ctx, "syn1/large", d.String()); err != nil {
		t.Error(err)
	}
}
