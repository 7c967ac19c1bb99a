package bench

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/s3"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

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

// pushRegistry pushes the image to repo through reg, as one client (one
// host: its own connections).
func (b *bench) pushRegistry(reg *registrytest.Registry, repo string) error {
	tr := clientTransport(reg.Transport())
	defer tr.CloseIdleConnections()
	return writeImage(reg.Host+"/"+repo+":v1", b.img, tr, b.cfg.Jobs)
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

// pullDirect fetches the same blobs (config, then the layers, Jobs at a time)
// straight from the S3 stand-in with plain GETs, verifying each digest like
// the registry client does.
func (b *bench) pullDirect() error {
	tr := clientTransport(registrytest.Transport(b.s3.Certificate))
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	get := func(d v1.Hash) error {
		resp, err := client.Get(b.s3.ObjectURL(blobKey(d)))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", blobKey(d), resp.Status)
		}
		h := sha256.New()
		if _, err := drain(io.TeeReader(resp.Body, h)); err != nil {
			return err
		}
		if got := fmt.Sprintf("%x", h.Sum(nil)); got != d.Hex {
			return fmt.Errorf("GET %s: content has digest %s", blobKey(d), got)
		}
		return nil
	}
	if err := get(b.blobs[0]); err != nil {
		return err
	}
	return forEach(len(b.blobs)-1, b.cfg.Jobs, func(i int) error { return get(b.blobs[i+1]) })
}

// pushDirect uploads the config and every layer (Jobs at a time) under
// prefix with S3 multipart uploads of the registry's part size, parts one
// after the other, as the registry's S3 driver writes them; it returns the
// keys written.
func (b *bench) pushDirect(prefix string) ([]string, error) {
	keys := make([]string, len(b.blobs))
	for i, d := range b.blobs {
		keys[i] = prefix + "/" + d.Hex
	}
	if err := b.uploadDirect(keys[0], bytes.NewReader(b.config)); err != nil {
		return keys, err
	}
	err := forEach(len(b.layers), b.cfg.Jobs, func(i int) error {
		rc, err := b.layers[i].Compressed()
		if err != nil {
			return err
		}
		defer rc.Close()
		return b.uploadDirect(keys[i+1], rc)
	})
	return keys, err
}

// partBuffers recycles the direct uploads' part buffers.
var partBuffers = sync.Pool{New: func() any { b := make([]byte, registryconfig.S3ChunkSize); return &b }}

func (b *bench) uploadDirect(key string, r io.Reader) error {
	bucket := aws.String(b.s3.Bucket)
	created, err := b.s3api.CreateMultipartUpload(&s3.CreateMultipartUploadInput{
		Bucket: bucket, Key: aws.String(key), ServerSideEncryption: aws.String(s3.ServerSideEncryptionAes256),
	})
	if err != nil {
		return err
	}
	buf := partBuffers.Get().(*[]byte)
	defer partBuffers.Put(buf)
	var parts []*s3.CompletedPart
	for n := int64(1); ; n++ {
		k, rerr := io.ReadFull(r, *buf)
		if k > 0 {
			out, err := b.s3api.UploadPart(&s3.UploadPartInput{
				Bucket: bucket, Key: aws.String(key), UploadId: created.UploadId, PartNumber: aws.Int64(n),
				Body: bytes.NewReader((*buf)[:k]),
			})
			if err != nil {
				return err
			}
			parts = append(parts, &s3.CompletedPart{ETag: out.ETag, PartNumber: aws.Int64(n)})
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	_, err = b.s3api.CompleteMultipartUpload(&s3.CompleteMultipartUploadInput{
		Bucket: bucket, Key: aws.String(key), UploadId: created.UploadId,
		MultipartUpload: &s3.CompletedMultipartUpload{Parts: parts},
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
