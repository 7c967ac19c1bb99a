package registrytest

import (
	"archive/tar"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// RandomLayer is an uncompressed image layer of a given size that is never
// held in memory: a valid tar archive holding one file of pseudo-random
// (incompressible) bytes, generated afresh, identically, each time it is read.
// The same seed and size give the same bytes and digest.
type RandomLayer struct {
	size   int64
	seed   uint64
	header []byte // tar header of the file
	digest v1.Hash
}

var _ v1.Layer = (*RandomLayer)(nil)

// tarOverhead is what the archive adds to the file: one 512-byte header
// and the two 512-byte zero blocks that end an archive.
const tarOverhead = 3 * 512

// NewRandomLayer returns a layer of exactly size bytes (a multiple of 512, at
// least 1536) whose content derives from seed. It reads the layer once to
// compute its digest.
func NewRandomLayer(size int64, seed uint64) (*RandomLayer, error) {
	if size < tarOverhead || size%512 != 0 {
		return nil, fmt.Errorf("random layer size %d: want a multiple of 512 of at least %d", size, tarOverhead)
	}
	var hdr bytes.Buffer
	tw := tar.NewWriter(&hdr)
	err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg,
		Name:     fmt.Sprintf("random-%016x.bin", seed),
		Size:     size - tarOverhead,
		Mode:     0o644,
		ModTime:  time.Unix(0, 0),
		Format:   tar.FormatGNU, // one 512-byte header for any size (USTAR stops at 8 GiB)
	})
	if err != nil {
		return nil, err
	}
	if hdr.Len() != 512 {
		return nil, fmt.Errorf("random layer: tar header is %d bytes, want 512", hdr.Len())
	}
	l := &RandomLayer{size: size, seed: seed, header: hdr.Bytes()}
	h := sha256.New()
	if _, err := io.Copy(h, l.reader()); err != nil {
		return nil, err
	}
	l.digest = v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
	return l, nil
}

func (l *RandomLayer) reader() io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], l.seed)
	copy(key[8:], "registrytest random layer")
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // a 32-byte key is always valid
	}
	// The AES-CTR key stream: pseudo-random, and generated at several GB/s
	// (AES instructions), so that making the bytes costs the benchmark's
	// clients as little as reading a file would.
	content := &keyStream{ctr: cipher.NewCTR(block, make([]byte, aes.BlockSize)), left: l.size - tarOverhead}
	return io.MultiReader(bytes.NewReader(l.header), content, bytes.NewReader(make([]byte, 1024)))
}

// keyStream reads left bytes of a cipher's key stream.
type keyStream struct {
	ctr  cipher.Stream
	left int64
}

func (k *keyStream) Read(p []byte) (int, error) {
	if k.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > k.left {
		p = p[:k.left]
	}
	clear(p)
	k.ctr.XORKeyStream(p, p)
	k.left -= int64(len(p))
	return len(p), nil
}

// Digest is the sha256 of the layer (it is not compressed).
func (l *RandomLayer) Digest() (v1.Hash, error) { return l.digest, nil }

// DiffID equals Digest, the layer being uncompressed.
func (l *RandomLayer) DiffID() (v1.Hash, error) { return l.digest, nil }

// Compressed streams the layer (uncompressed: random bytes do not compress).
func (l *RandomLayer) Compressed() (io.ReadCloser, error) { return io.NopCloser(l.reader()), nil }

// Uncompressed streams the layer.
func (l *RandomLayer) Uncompressed() (io.ReadCloser, error) { return io.NopCloser(l.reader()), nil }

// Size is the layer's size in bytes.
func (l *RandomLayer) Size() (int64, error) { return l.size, nil }

// MediaType is the Docker uncompressed layer type.
func (l *RandomLayer) MediaType() (types.MediaType, error) { return types.DockerUncompressedLayer, nil }
