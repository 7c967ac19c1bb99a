package bench

import (
	"fmt"
	"runtime"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
)

// benchImage is an image the benchmark moves, with what the direct
// transfers move of it: the config and manifest bytes and the blobs'
// digests, which name them in the registry's layout.
type benchImage struct {
	layers   []*registrytest.RandomLayer
	img      v1.Image
	config   []byte
	manifest []byte
	// manifestDigest names the manifest in the registry's layout.
	manifestDigest v1.Hash
	blobs          []v1.Hash // config, then layers
}

// newBenchImage is an image of layers. A run label other than "" goes into
// the config's labels, so that the same layers make a config and a manifest
// of their own: the registry has not seen them, as with a new image. (Its
// blob descriptor cache remembers the blobs it has served, and a manifest
// whose data is in S3 already is not written again: pushing the same image
// again would skip that work.)
func newBenchImage(layers []*registrytest.RandomLayer, run string) (*benchImage, error) {
	var ls []v1.Layer
	for _, l := range layers {
		ls = append(ls, l)
	}
	img, err := mutate.AppendLayers(empty.Image, ls...)
	if err != nil {
		return nil, err
	}
	if run != "" {
		if img, err = mutate.Config(img, v1.Config{Labels: map[string]string{"bench-run": run}}); err != nil {
			return nil, err
		}
	}
	im := &benchImage{layers: layers, img: img}
	if im.config, err = img.RawConfigFile(); err != nil {
		return nil, err
	}
	if im.manifest, err = img.RawManifest(); err != nil {
		return nil, err
	}
	if im.manifestDigest, err = img.Digest(); err != nil {
		return nil, err
	}
	cd, err := img.ConfigName()
	if err != nil {
		return nil, err
	}
	im.blobs = []v1.Hash{cd}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		im.blobs = append(im.blobs, d)
	}
	return im, nil
}

// blobKeys are where the registry keeps the image's blobs in the bucket.
func (im *benchImage) blobKeys() []string {
	keys := make([]string, len(im.blobs))
	for i, d := range im.blobs {
		keys[i] = blobKey(d)
	}
	return keys
}

// makeLayers makes n random layers of size bytes, seeds firstSeed..
// firstSeed+n-1, each read once for its digest, on every core.
func makeLayers(n int, size int64, firstSeed uint64) ([]*registrytest.RandomLayer, error) {
	layers := make([]*registrytest.RandomLayer, n)
	errs := make([]error, n)
	sem := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	for i := range layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			layers[i], errs[i] = registrytest.NewRandomLayer(size, firstSeed+uint64(i))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
	}
	return layers, nil
}
