package bench

import (
	"crypto/sha256"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
)

// VerifyResult is the one large push checked by digest.
type VerifyResult struct {
	Size    int64
	Seconds float64
	// S3 counts the S3 requests the push made, by operation.
	S3 S3Ops
	// Err is why the push or the check failed; nil if the bytes S3 stores
	// have the layer's digest.
	Err error
}

// oneLayerImage is an image of one random layer of size bytes.
func (b *bench) oneLayerImage(size int64, seed uint64) (v1.Image, *registrytest.RandomLayer, []v1.Hash) {
	l, err := registrytest.NewRandomLayer(size/512*512, seed)
	b.check(err, "making the single layer")
	img, err := mutate.AppendLayers(empty.Image, l)
	b.check(err, "single-layer image")
	cd, err := img.ConfigName()
	b.check(err, "single-layer config digest")
	ld, _ := l.Digest()
	return img, l, []v1.Hash{cd, ld}
}

// singlePhase: one client pushes an image of one SingleLayer-sized layer,
// straight to S3 (multipart, S3Parts in flight) and through one registry
// process: what one large layer gets, whatever the rest of the task does.
func (b *bench) singlePhase() *PushResult {
	img, layer, blobs := b.oneLayerImage(b.cfg.SingleLayer, 1001)
	config, err := img.RawConfigFile()
	b.check(err, "single-layer config")
	manifest, err := img.RawManifest()
	b.check(err, "single-layer manifest")
	size, _ := layer.Size()
	pr := &PushResult{Uploads: 1}
	reg := b.startRegistry(registrytest.Options{})
	defer reg.Kill()
	started := b.idleMemory(reg)
	for i := range b.cfg.SingleRuns {
		var d, r Sample
		direct := func() {
			prefix := fmt.Sprintf("bench/single/r%d", i)
			var keys []string
			d = b.timedBytes(size, nil, func() error {
				var err error
				keys, err = b.uploadImageDirect(prefix, []func() (io.ReadCloser, error){
					func() (io.ReadCloser, error) { return io.NopCloser(bytesReader(config)), nil }, layer.Compressed,
				}, manifest)
				return err
			})
			b.deleteKeys(keys)
		}
		registry := func() {
			b.deleteKeys([]string{blobKey(blobs[0]), blobKey(blobs[1])})
			b.check(ResetPeakMemory(reg.PID()), "registry memory")
			seen := len(b.s3.Requests())
			r = b.timedBytes(size, reg, func() error {
				tr := clientTransport(reg.Transport())
				defer tr.CloseIdleConnections()
				return writeImage(reg.Host+fmt.Sprintf("/syn1/bench-single-%d:v1", i), img, tr, b.cfg.Jobs)
			})
			after, err := ReadMemory(reg.PID())
			b.check(err, "registry memory")
			r.Memory = Memory{RSS: started.RSS, Peak: after.Peak}
			pr.S3 = b.logS3Sequence("single-layer push", b.s3RequestsSince(seen))
		}
		inTurn(i, direct, registry)
		b.logf("single %s layer, run %d/%d: direct %s, registry %s (CPU %.2f s, peak %s)", FormatSize(size), i+1, b.cfg.SingleRuns,
			mibps(d), mibps(r), r.CPU, FormatSize(r.Memory.Peak))
		pr.Direct = append(pr.Direct, d)
		pr.Registry = append(pr.Registry, r)
	}
	b.deleteKeys([]string{blobKey(blobs[0]), blobKey(blobs[1])})
	return pr
}

// verifyPhase pushes one VerifyLayer-sized layer through the registry once
// and checks that the bytes S3 stores under its digest have that digest.
func (b *bench) verifyPhase() *VerifyResult {
	img, layer, blobs := b.oneLayerImage(b.cfg.VerifyLayer, 2002)
	size, _ := layer.Size()
	reg := b.startRegistry(registrytest.Options{})
	defer reg.Kill()
	res := &VerifyResult{Size: size}
	seen := len(b.s3.Requests())
	start := time.Now()
	tr := clientTransport(reg.Transport())
	defer tr.CloseIdleConnections()
	res.Err = writeImage(reg.Host+"/syn1/bench-verify:v1", img, tr, b.cfg.Jobs)
	res.Seconds = time.Since(start).Seconds()
	res.S3 = countS3Ops(b.s3RequestsSince(seen))
	if res.Err == nil {
		res.Err = b.storedDigestIs(blobs[1])
	}
	b.logf("verified push of one %s layer in %.0f s: %v; S3 requests: %s", FormatSize(size), res.Seconds, res.Err, res.S3)
	b.deleteKeys([]string{blobKey(blobs[0]), blobKey(blobs[1])})
	return res
}

func (b *bench) storedDigestIs(d v1.Hash) error {
	rc, err := b.s3.ObjectReader(blobKey(d))
	if err != nil {
		return fmt.Errorf("reading %s from S3: %w", blobKey(d), err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := drain(teeWriter(rc, h)); err != nil {
		return err
	}
	if got := fmt.Sprintf("%x", h.Sum(nil)); got != d.Hex {
		return fmt.Errorf("S3 stores %s with digest sha256:%s", blobKey(d), got)
	}
	return nil
}
