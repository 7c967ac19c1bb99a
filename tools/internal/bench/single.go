package bench

import (
	"crypto/sha256"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

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

// singlePhase: one client pushes an image of one SingleLayer-sized layer,
// straight to S3 (multipart, S3Parts in flight) and through one registry
// process: what one large layer gets, whatever the rest of the task does.
// Every run pushes the layer with a config of its own (newBenchImage), and
// its blobs are deleted after each run, so that each run's push is a new
// image's.
func (b *bench) singlePhase() *PushResult {
	layers, err := makeLayers(1, b.cfg.SingleLayer/512*512, 1001)
	b.check(err, "making the single layer")
	size, _ := layers[0].Size()
	pr := &PushResult{Uploads: 1}
	reg := b.startRegistry(registrytest.Options{})
	defer reg.Kill()
	started := b.idleMemory(reg)
	for i := range b.cfg.SingleRuns {
		im, err := newBenchImage(layers, fmt.Sprintf("single-r%d", i))
		b.check(err, "single-layer image")
		var d, r Sample
		direct := func() {
			var keys []string
			d = b.timedBytes(size, nil, func() error {
				var err error
				keys, err = b.pushDirect(fmt.Sprintf("bench/single/r%d", i), im)
				return err
			})
			b.deleteKeys(keys)
		}
		registry := func() {
			b.check(ResetPeakMemory(reg.PID()), "registry memory")
			seen := len(b.s3.Requests())
			r = b.timedBytes(size, reg, func() error {
				return b.pushRegistry(reg, fmt.Sprintf("syn1/bench-single-%d", i), im)
			})
			after, err := ReadMemory(reg.PID())
			b.check(err, "registry memory")
			r.Memory = Memory{RSS: started.RSS, Peak: after.Peak}
			pr.S3 = b.logS3Sequence("single-layer push", b.s3RequestsOf(reg, seen))
			b.deleteKeys(im.blobKeys())
		}
		inTurn(i, direct, registry)
		b.logf("single %s layer, run %d/%d: direct %s, registry %s (CPU %.2f s, peak %s)", FormatSize(size), i+1, b.cfg.SingleRuns,
			mibps(d), mibps(r), r.CPU, FormatSize(r.Memory.Peak))
		pr.Direct = append(pr.Direct, d)
		pr.Registry = append(pr.Registry, r)
	}
	return pr
}

// verifyPhase pushes one VerifyLayer-sized layer through the registry once
// and checks that the bytes S3 stores under its digest have that digest.
func (b *bench) verifyPhase() *VerifyResult {
	layers, err := makeLayers(1, b.cfg.VerifyLayer/512*512, 2002)
	b.check(err, "making the verified layer")
	im, err := newBenchImage(layers, "")
	b.check(err, "verified image")
	size, _ := layers[0].Size()
	reg := b.startRegistry(registrytest.Options{})
	defer reg.Kill()
	res := &VerifyResult{Size: size}
	seen := len(b.s3.Requests())
	start := time.Now()
	res.Err = b.pushRegistry(reg, "syn1/bench-verify", im)
	res.Seconds = time.Since(start).Seconds()
	res.S3 = countS3Ops(b.s3RequestsOf(reg, seen))
	if res.Err == nil {
		res.Err = b.storedDigestIs(im.blobs[1])
	}
	b.logf("verified push of one %s layer in %.0f s: %v; S3 requests: %s", FormatSize(size), res.Seconds, res.Err, res.S3)
	b.deleteKeys(im.blobKeys())
	return res
}

func (b *bench) storedDigestIs(d v1.Hash) error {
	rc, err := b.s3.ObjectReader(blobKey(d))
	if err != nil {
		return fmt.Errorf("reading %s from S3: %w", blobKey(d), err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := drain(io.TeeReader(rc, h)); err != nil {
		return err
	}
	if got := fmt.Sprintf("%x", h.Sum(nil)); got != d.Hex {
		return fmt.Errorf("S3 stores %s with digest sha256:%s", blobKey(d), got)
	}
	return nil
}
