package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/s3"
	"github.com/aws/aws-sdk-go/service/s3/s3manager"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synapsestub"
)

// clientTransport adapts a harness transport for the benchmark's clients:
// HTTP/1.1, as the load balancer speaks to the registry (target group
// protocol version HTTP1) and S3 to everyone, and idle connections kept for
// every layer in flight.
func clientTransport(tr *http.Transport) *http.Transport {
	tr.ForceAttemptHTTP2 = false
	tr.MaxIdleConnsPerHost = 64
	return tr
}

// remoteOptions log in as the stand-in's dev user and fail on the first
// error: a silent retry would hide in the timings.
func remoteOptions(tr http.RoundTripper, jobs int) []remote.Option {
	return registrytest.RemoteOptions(synapsestub.DevUser, tr,
		remote.WithRetryStatusCodes(), remote.WithRetryBackoff(remote.Backoff{Steps: 1}), remote.WithJobs(jobs))
}

func writeImage(ref string, img v1.Image, tr http.RoundTripper, jobs int) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return err
	}
	return remote.Write(r, img, remoteOptions(tr, jobs)...)
}

// pushRegistry pushes im to repo through reg, as one client (one host: its
// own connections).
func (b *bench) pushRegistry(reg *registrytest.Registry, repo string, im *benchImage) error {
	tr := clientTransport(reg.Transport())
	defer tr.CloseIdleConnections()
	return writeImage(reg.Host+"/"+repo+":v1", im.img, tr, b.cfg.Jobs)
}

// pullRegistry pulls repo through reg as one client: manifest, config, then
// every layer, Jobs at a time, each read to the end and verified against its
// digest (go-containerregistry does).
func (b *bench) pullRegistry(reg *registrytest.Registry, repo string) error {
	tr := clientTransport(reg.Transport())
	defer tr.CloseIdleConnections()
	ref, err := name.ParseReference(reg.Host + "/" + repo + ":v1")
	if err != nil {
		return err
	}
	img, err := remote.Image(ref, remoteOptions(tr, b.cfg.Jobs)...)
	if err != nil {
		return err
	}
	if _, err := img.RawConfigFile(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	return forEach(len(layers), b.cfg.Jobs, func(i int) error {
		size, err := layers[i].Size()
		if err != nil {
			return err
		}
		rc, err := layers[i].Compressed()
		if err != nil {
			return err
		}
		n, err := drain(rc)
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
		if err == nil && n != size {
			err = fmt.Errorf("layer %d: %d bytes of %d", i, n, size)
		}
		return err
	})
}

// pullRegistryRanged pulls repo through reg as a client that downloads each
// layer in ranges, as containerd's multipart layer fetch does and as
// pullDirect does straight from S3: the manifest and config through the
// registry, then each layer's GET, whose redirect it does not follow but
// fetches in RangeSize ranges, S3Parts at once. It fails if the registry
// answers a layer's GET with anything but a redirect: the ranges must go to
// S3.
func (b *bench) pullRegistryRanged(reg *registrytest.Registry, repo string) error {
	tr := clientTransport(reg.Transport())
	defer tr.CloseIdleConnections()
	ref, err := name.ParseReference(reg.Host + "/" + repo + ":v1")
	if err != nil {
		return err
	}
	img, err := remote.Image(ref, remoteOptions(tr, b.cfg.Jobs)...)
	if err != nil {
		return err
	}
	if _, err := img.RawConfigFile(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	auth := &authn.Basic{Username: synapsestub.DevUser.Name, Password: synapsestub.DevUser.Password}
	rt, err := transport.NewWithContext(context.Background(), ref.Context().Registry, auth, tr, []string{ref.Context().Scope(transport.PullScope)})
	if err != nil {
		return err
	}
	api := &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	s3client := &http.Client{Transport: tr}
	return forEach(len(m.Layers), b.cfg.Jobs, func(i int) error {
		l := m.Layers[i]
		u := fmt.Sprintf("https://%s/v2/%s/blobs/%s", reg.Host, ref.Context().RepositoryStr(), l.Digest)
		resp, err := api.Get(u)
		if err != nil {
			return err
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusTemporaryRedirect || loc == "" {
			return fmt.Errorf("GET %s: %s (Location %q), want a redirect to S3", u, resp.Status, loc)
		}
		return b.getRangedURL(s3client, loc, l.Digest, l.Size)
	})
}

// pullDirect fetches the same objects (the manifest, the config, then the
// layers, Jobs at a time) straight from the S3 stand-in, as a good S3 client
// does: each layer in ranged GETs, S3Parts at once (AWS's byte-range
// fetches), its digest verified in order like the registry client does. The
// manifest is read where the registry stored it (the image pushed to pull).
func (b *bench) pullDirect() error {
	tr := clientTransport(registrytest.Transport(b.s3.Certificate))
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	im := b.image
	if err := b.getRanged(client, im.manifestDigest, int64(len(im.manifest))); err != nil {
		return err
	}
	if err := b.getRanged(client, im.blobs[0], int64(len(im.config))); err != nil {
		return err
	}
	return forEach(len(im.layers), b.cfg.Jobs, func(i int) error {
		size, _ := im.layers[i].Size()
		return b.getRanged(client, im.blobs[i+1], size)
	})
}

// RangeSize is the direct pulls' byte range: AWS suggests 8 or 16 MiB.
const RangeSize = 16 * MiB

var rangeBuffers = sync.Pool{New: func() any { b := make([]byte, RangeSize); return &b }}

// getRanged GETs blob d (size bytes) in RangeSize ranges, S3Parts in flight,
// and checks the digest of the ranges in order; at most S3Parts ranges are
// held at once.
func (b *bench) getRanged(client *http.Client, d v1.Hash, size int64) error {
	return b.getRangedURL(client, b.s3.ObjectURL(blobKey(d)), d, size)
}

// getRangedURL is getRanged from url: S3's object, or where the registry
// redirects a blob's GET.
func (b *bench) getRangedURL(client *http.Client, url string, d v1.Hash, size int64) error {
	n := int((size + RangeSize - 1) / RangeSize)
	type result struct {
		buf *[]byte
		n   int
		err error
	}
	results := make([]chan result, n)
	for i := range results {
		results[i] = make(chan result, 1)
	}
	slots := make(chan struct{}, b.cfg.S3Parts)
	go func() {
		for i := range n {
			slots <- struct{}{}
			go func() {
				first := int64(i) * RangeSize
				last := min(first+RangeSize, size) - 1
				buf := rangeBuffers.Get().(*[]byte)
				k, err := getRange(client, url, first, last, (*buf)[:last-first+1])
				results[i] <- result{buf, k, err}
			}()
		}
	}()
	h := sha256.New()
	var errs []error
	for i := range n {
		r := <-results[i]
		if r.err != nil {
			errs = append(errs, r.err)
		} else {
			h.Write((*r.buf)[:r.n])
		}
		rangeBuffers.Put(r.buf)
		<-slots
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if got := fmt.Sprintf("%x", h.Sum(nil)); got != d.Hex {
		return fmt.Errorf("GET %s: content has digest %s, not %s", url, got, d.Hex)
	}
	return nil
}

// getRange reads bytes first..last of url into buf (len last-first+1).
func getRange(client *http.Client, url string, first, last int64, buf []byte) (int, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", first, last))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent && resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s bytes %d-%d: %s", url, first, last, resp.Status)
	}
	k, err := io.ReadFull(resp.Body, buf)
	if err != nil {
		return k, fmt.Errorf("GET %s bytes %d-%d: %w", url, first, last, err)
	}
	return k, nil
}

// pushDirect uploads im under prefix as a good S3 client does: the config
// and the layers, Jobs at a time, each a multipart upload in the registry's
// part size with S3Parts parts in flight (the AWS SDK's upload manager), then
// the manifest; it returns the keys written. The config goes first, where
// go-containerregistry's remote.Write sends it when a layer's slot frees:
// either way one blob waits for another's slot, and the config is one small
// upload, so the critical path is the same.
func (b *bench) pushDirect(prefix string, im *benchImage) ([]string, error) {
	blobs := []func() (io.ReadCloser, error){func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(im.config)), nil }}
	for _, l := range im.layers {
		blobs = append(blobs, l.Compressed)
	}
	return b.uploadImageDirect(prefix, blobs, im.manifest)
}

// uploadImageDirect uploads blobs under prefix, Jobs at a time, then the
// manifest; it returns the keys written.
func (b *bench) uploadImageDirect(prefix string, blobs []func() (io.ReadCloser, error), manifest []byte) ([]string, error) {
	keys := make([]string, len(blobs)+1)
	for i := range blobs {
		keys[i] = fmt.Sprintf("%s/blob-%d", prefix, i)
	}
	keys[len(blobs)] = prefix + "/manifest"
	err := forEach(len(blobs), b.cfg.Jobs, func(i int) error {
		rc, err := blobs[i]()
		if err != nil {
			return err
		}
		defer rc.Close()
		return b.uploadDirect(keys[i], rc)
	})
	if err != nil {
		return keys, err
	}
	return keys, b.uploadDirect(keys[len(blobs)], bytes.NewReader(manifest))
}

func (b *bench) uploadDirect(key string, r io.Reader) error {
	up := s3manager.NewUploaderWithClient(b.s3api, func(u *s3manager.Uploader) {
		u.PartSize = registryconfig.S3ChunkSize
		u.Concurrency = b.cfg.S3Parts
		u.LeavePartsOnError = false
	})
	_, err := up.Upload(&s3manager.UploadInput{
		Bucket: aws.String(b.s3.Bucket), Key: aws.String(key), Body: r,
		ServerSideEncryption: aws.String(s3.ServerSideEncryptionAes256),
	})
	return err
}

// forEach calls f(0..n-1), at most jobs at once, and joins the errors.
func forEach(n, jobs int, f func(i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// readBuffers are drain's buffers: the same size for every client.
var readBuffers = sync.Pool{New: func() any { b := make([]byte, 256*KiB); return &b }}

// drain reads r to the end and discards it.
func drain(r io.Reader) (int64, error) {
	buf := readBuffers.Get().(*[]byte)
	defer readBuffers.Put(buf)
	// The wrapper hides io.Discard's ReaderFrom, which would use its own
	// small buffer.
	return io.CopyBuffer(struct{ io.Writer }{io.Discard}, r, *buf)
}
