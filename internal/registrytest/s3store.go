package registrytest

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
)

// store is the S3 stand-in's storage: a gofakes3 Backend and MultipartBackend
// that keeps object data in memory as lists of immutable byte slices, so that
// completing a multipart upload, copying an object and copying a part
// (UploadPartCopy) share the bytes instead of copying them. gofakes3's own
// in-memory backend (s3mem) and multipart uploader hold every upload two or
// three times over (parts, the reassembled object, then the copy the registry
// makes to move an upload into place), which a benchmark pushing several GiB
// at once cannot afford. Upload data is read exactly once, into slices of the
// part's size.
//
// Part ETags are unique tokens, not the MD5 of the part: S3 only promises
// that an ETag identifies the part, and hashing every byte would put the
// stand-in's CPU into the registry's measurements. Objects written with a
// single PUT have the MD5 ETag, as gofakes3 reports it.
type store struct {
	mu      sync.RWMutex
	buckets map[string]*storeBucket
	uploads map[gofakes3.UploadID]*storeUpload
	nextID  uint64
	seq     uint64 // for unique ETags
	now     func() time.Time
}

type storeBucket struct {
	created time.Time
	objects map[string]*storeObject
	keys    []string // sorted
}

type storeObject struct {
	data     blob
	hash     []byte // the ETag's bytes
	meta     map[string]string
	modified time.Time
}

type storeUpload struct {
	id        gofakes3.UploadID
	bucket    string
	key       string
	meta      map[string]string
	initiated time.Time
	parts     map[int]*storePart
}

type storePart struct {
	data     blob
	etag     string // quoted
	modified time.Time
}

var (
	_ gofakes3.Backend          = (*store)(nil)
	_ gofakes3.MultipartBackend = (*store)(nil)
)

func newStore() *store {
	return &store{
		buckets: map[string]*storeBucket{},
		uploads: map[gofakes3.UploadID]*storeUpload{},
		now:     time.Now,
	}
}

// blob is object or part data: slices that are never written after they are
// stored, so objects, parts and copies can share them.
type blob [][]byte

func (b blob) size() int64 {
	var n int64
	for _, s := range b {
		n += int64(len(s))
	}
	return n
}

// slice returns the n bytes at off, sharing memory with b.
func (b blob) slice(off, n int64) blob {
	var out blob
	for _, s := range b {
		if n <= 0 {
			break
		}
		l := int64(len(s))
		if off >= l {
			off -= l
			continue
		}
		end := min(l, off+n)
		out = append(out, s[off:end])
		n -= end - off
		off = 0
	}
	return out
}

// blobReader reads a blob; WriteTo hands each slice to the writer whole.
type blobReader struct {
	b   blob
	off int // offset in b[0]
}

func (r *blobReader) Read(p []byte) (int, error) {
	for len(r.b) > 0 && r.off == len(r.b[0]) {
		r.b, r.off = r.b[1:], 0
	}
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b[0][r.off:])
	r.off += n
	return n, nil
}

func (r *blobReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for len(r.b) > 0 {
		s := r.b[0][r.off:]
		n, err := w.Write(s)
		total += int64(n)
		r.off += n
		if err != nil {
			return total, err
		}
		r.b, r.off = r.b[1:], 0
	}
	return total, nil
}

func (r *blobReader) Close() error { return nil }

// readBlob reads exactly size bytes from r into one slice and fails if r has
// fewer or more.
func readBlob(r io.Reader, size int64) (blob, error) {
	if size < 0 {
		return nil, gofakes3.ErrMissingContentLength
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return nil, gofakes3.ErrIncompleteBody
		}
		return nil, err
	}
	var one [1]byte
	if n, _ := io.ReadFull(r, one[:]); n > 0 {
		return nil, gofakes3.ErrIncompleteBody
	}
	if size == 0 {
		return nil, nil
	}
	return blob{buf}, nil
}

// uniqueETag is a quoted 32-hex-digit ETag no other part or object has.
func (s *store) uniqueETag() string {
	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	sum := md5.Sum(b[:])
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func (s *store) bucket(name string) (*storeBucket, error) {
	b := s.buckets[name]
	if b == nil {
		return nil, gofakes3.BucketNotFound(name)
	}
	return b, nil
}

// put stores o under key; the caller holds s.mu for writing.
func (b *storeBucket) put(key string, o *storeObject) {
	if _, ok := b.objects[key]; !ok {
		i, _ := slices.BinarySearch(b.keys, key)
		b.keys = slices.Insert(b.keys, i, key)
	}
	b.objects[key] = o
}

// remove deletes key; the caller holds s.mu for writing.
func (b *storeBucket) remove(key string) bool {
	if _, ok := b.objects[key]; !ok {
		return false
	}
	delete(b.objects, key)
	if i, found := slices.BinarySearch(b.keys, key); found {
		b.keys = slices.Delete(b.keys, i, i+1)
	}
	return true
}

func (o *storeObject) toObject(key string, rng *gofakes3.ObjectRangeRequest, withBody bool) (*gofakes3.Object, error) {
	size := o.data.size()
	obj := &gofakes3.Object{Name: key, Metadata: o.meta, Size: size, Hash: o.hash}
	if !withBody {
		obj.Contents = &blobReader{}
		return obj, nil
	}
	r, err := rng.Range(size)
	if err != nil {
		return nil, err
	}
	data := o.data
	if r != nil {
		data = data.slice(r.Start, r.Length)
	}
	obj.Range = r
	obj.Contents = &blobReader{b: data}
	return obj, nil
}

// Backend.

func (s *store) ListBuckets() ([]gofakes3.BucketInfo, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []gofakes3.BucketInfo
	for name, b := range s.buckets {
		out = append(out, gofakes3.BucketInfo{Name: name, CreationDate: gofakes3.NewContentTime(b.created)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *store) ListBucket(name string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	if prefix == nil {
		prefix = &gofakes3.Prefix{}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, err := s.bucket(name)
	if err != nil {
		return nil, err
	}
	out := gofakes3.NewObjectList()
	start := 0
	if prefix.HasPrefix {
		start, _ = slices.BinarySearch(b.keys, prefix.Prefix)
	}
	if page.Marker != "" {
		i, found := slices.BinarySearch(b.keys, page.Marker)
		if found {
			i++
		}
		start = max(start, i)
	}
	var match gofakes3.PrefixMatch
	var lastPrefix string
	var count int64
	for i := start; i < len(b.keys); i++ {
		key := b.keys[i]
		if prefix.HasPrefix && !strings.HasPrefix(key, prefix.Prefix) {
			break // sorted: nothing further can match
		}
		if !prefix.Match(key, &match) {
			continue
		}
		if match.CommonPrefix {
			if match.MatchedPart == lastPrefix {
				continue
			}
			out.AddPrefix(match.MatchedPart)
			lastPrefix = match.MatchedPart
		} else {
			o := b.objects[key]
			out.Add(&gofakes3.Content{
				Key:          key,
				LastModified: gofakes3.NewContentTime(o.modified),
				ETag:         gofakes3.FormatETag(o.hash),
				Size:         o.data.size(),
			})
		}
		count++
		if page.MaxKeys > 0 && count >= page.MaxKeys {
			out.NextMarker = key
			out.IsTruncated = i+1 < len(b.keys)
			break
		}
	}
	return out, nil
}

func (s *store) CreateBucket(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[name] != nil {
		return gofakes3.ResourceError(gofakes3.ErrBucketAlreadyExists, name)
	}
	s.buckets[name] = &storeBucket{created: s.now(), objects: map[string]*storeObject{}}
	return nil
}

func (s *store) BucketExists(name string) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.buckets[name] != nil, nil
}

func (s *store) DeleteBucket(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucket(name)
	if err != nil {
		return err
	}
	if len(b.objects) > 0 {
		return gofakes3.ResourceError(gofakes3.ErrBucketNotEmpty, name)
	}
	delete(s.buckets, name)
	return nil
}

func (s *store) ForceDeleteBucket(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.bucket(name); err != nil {
		return err
	}
	delete(s.buckets, name)
	return nil
}

func (s *store) GetObject(bucket, key string, rng *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, err := s.object(bucket, key)
	if err != nil {
		return nil, err
	}
	return o.toObject(key, rng, true)
}

func (s *store) HeadObject(bucket, key string) (*gofakes3.Object, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, err := s.object(bucket, key)
	if err != nil {
		return nil, err
	}
	return o.toObject(key, nil, false)
}

// object finds a stored object; the caller holds s.mu.
func (s *store) object(bucket, key string) (*storeObject, error) {
	b, err := s.bucket(bucket)
	if err != nil {
		return nil, err
	}
	o := b.objects[key]
	if o == nil {
		return nil, gofakes3.KeyNotFound(key)
	}
	return o, nil
}

func (s *store) DeleteObject(bucket, key string) (gofakes3.ObjectDeleteResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucket(bucket)
	if err != nil {
		return gofakes3.ObjectDeleteResult{}, err
	}
	b.remove(key) // deleting a missing key succeeds, as in S3
	return gofakes3.ObjectDeleteResult{}, nil
}

func (s *store) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, conditions *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	// Read before locking: the body may arrive slowly.
	data, err := readBlob(input, size)
	if err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	h := md5.New()
	for _, p := range data {
		h.Write(p)
	}
	o := &storeObject{data: data, hash: h.Sum(nil), meta: meta, modified: s.now()}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucket(bucket)
	if err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	if conditions != nil {
		info := &gofakes3.ConditionalObjectInfo{}
		if old := b.objects[key]; old != nil {
			info.Exists, info.Hash = true, old.hash
		}
		if err := gofakes3.CheckPutConditions(conditions, info); err != nil {
			return gofakes3.PutObjectResult{}, err
		}
	}
	b.put(key, o)
	return gofakes3.PutObjectResult{}, nil
}

func (s *store) DeleteMulti(bucket string, keys ...string) (gofakes3.MultiDeleteResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out gofakes3.MultiDeleteResult
	b, err := s.bucket(bucket)
	if err != nil {
		return out, err
	}
	for _, k := range keys {
		b.remove(k)
		out.Deleted = append(out.Deleted, gofakes3.ObjectID{Key: k})
	}
	return out, nil
}

func (s *store) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sb, err := s.bucket(srcBucket)
	if err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	src := sb.objects[srcKey]
	if src == nil {
		return gofakes3.CopyObjectResult{}, gofakes3.KeyNotFound(srcKey)
	}
	db, err := s.bucket(dstBucket)
	if err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	now := s.now()
	db.put(dstKey, &storeObject{data: src.data, hash: src.hash, meta: meta, modified: now})
	return gofakes3.CopyObjectResult{ETag: gofakes3.FormatETag(src.hash), LastModified: gofakes3.NewContentTime(now)}, nil
}

// MultipartBackend.

func (s *store) CreateMultipartUpload(bucket, key string, meta map[string]string) (gofakes3.UploadID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.bucket(bucket); err != nil {
		return "", err
	}
	s.nextID++
	id := gofakes3.UploadID(fmt.Sprintf("%d", s.nextID))
	s.uploads[id] = &storeUpload{id: id, bucket: bucket, key: key, meta: meta, initiated: s.now(), parts: map[int]*storePart{}}
	return id, nil
}

// upload returns the upload; the caller holds s.mu.
func (s *store) upload(bucket, key string, id gofakes3.UploadID) (*storeUpload, error) {
	u := s.uploads[id]
	if u == nil || u.bucket != bucket || u.key != key {
		return nil, gofakes3.ErrNoSuchUpload
	}
	return u, nil
}

func (s *store) UploadPart(bucket, key string, id gofakes3.UploadID, partNumber int, contentLength int64, input io.Reader) (string, error) {
	if partNumber < 1 || partNumber > gofakes3.MaxUploadPartNumber {
		return "", gofakes3.ErrInvalidPart
	}
	s.mu.RLock()
	_, err := s.upload(bucket, key, id)
	s.mu.RUnlock()
	if err != nil {
		return "", err
	}
	data, err := readBlob(input, contentLength)
	if err != nil {
		return "", err
	}
	return s.putPart(bucket, key, id, partNumber, data)
}

func (s *store) putPart(bucket, key string, id gofakes3.UploadID, partNumber int, data blob) (string, error) {
	etag := s.uniqueETag()
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.upload(bucket, key, id)
	if err != nil {
		return "", err
	}
	u.parts[partNumber] = &storePart{data: data, etag: etag, modified: s.now()}
	return etag, nil
}

// CopyPart is UploadPartCopy: part partNumber of the upload becomes the
// given byte range of the source object (all of it if rng is nil), sharing
// its memory.
func (s *store) CopyPart(bucket, key string, id gofakes3.UploadID, partNumber int, srcBucket, srcKey string, rng *gofakes3.ObjectRangeRequest) (etag string, modified time.Time, err error) {
	if partNumber < 1 || partNumber > gofakes3.MaxUploadPartNumber {
		return "", time.Time{}, gofakes3.ErrInvalidPart
	}
	s.mu.RLock()
	var data blob
	sb, err := s.bucket(srcBucket)
	if err == nil {
		src := sb.objects[srcKey]
		if src == nil {
			err = gofakes3.KeyNotFound(srcKey)
		} else {
			data = src.data
			var r *gofakes3.ObjectRange
			if r, err = rng.Range(data.size()); err == nil && r != nil {
				data = data.slice(r.Start, r.Length)
			}
		}
	}
	s.mu.RUnlock()
	if err != nil {
		return "", time.Time{}, err
	}
	etag, err = s.putPart(bucket, key, id, partNumber, data)
	return etag, s.now(), err
}

func (s *store) ListMultipartUploads(bucket string, marker *gofakes3.UploadListMarker, prefix gofakes3.Prefix, limit int64) (*gofakes3.ListMultipartUploadsResult, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, err := s.bucket(bucket); err != nil {
		return nil, err
	}
	var ups []*storeUpload
	for _, u := range s.uploads {
		if u.bucket == bucket && prefix.Match(u.key, nil) {
			ups = append(ups, u)
		}
	}
	sort.Slice(ups, func(i, j int) bool {
		if ups[i].key != ups[j].key {
			return ups[i].key < ups[j].key
		}
		return ups[i].initiated.Before(ups[j].initiated) || ups[i].initiated.Equal(ups[j].initiated) && ups[i].id < ups[j].id
	})
	out := &gofakes3.ListMultipartUploadsResult{
		Bucket: bucket, Prefix: prefix.Prefix, Delimiter: prefix.Delimiter, MaxUploads: limit,
	}
	if marker != nil {
		out.KeyMarker, out.UploadIDMarker = marker.Object, marker.UploadID
		i := 0
		for i < len(ups) && (ups[i].key < marker.Object || ups[i].key == marker.Object && (marker.UploadID == "" || ups[i].id != marker.UploadID)) {
			i++
		}
		if i < len(ups) && marker.UploadID != "" {
			i++ // after the marker upload
		}
		ups = ups[i:]
	}
	for i, u := range ups {
		if limit > 0 && int64(i) >= limit {
			out.IsTruncated = true
			out.NextKeyMarker, out.NextUploadIDMarker = ups[i-1].key, ups[i-1].id
			break
		}
		out.Uploads = append(out.Uploads, gofakes3.ListMultipartUploadItem{
			Key: u.key, UploadID: u.id, StorageClass: "STANDARD", Initiated: gofakes3.NewContentTime(u.initiated),
		})
	}
	return out, nil
}

func (s *store) ListParts(bucket, key string, id gofakes3.UploadID, marker int, limit int64) (*gofakes3.ListMultipartUploadPartsResult, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, err := s.upload(bucket, key, id)
	if err != nil {
		return nil, err
	}
	numbers := make([]int, 0, len(u.parts))
	for n := range u.parts {
		if n > marker {
			numbers = append(numbers, n)
		}
	}
	sort.Ints(numbers)
	out := &gofakes3.ListMultipartUploadPartsResult{
		Bucket: bucket, Key: key, UploadID: id, StorageClass: "STANDARD", PartNumberMarker: marker, MaxParts: limit,
	}
	for i, n := range numbers {
		if limit > 0 && int64(i) >= limit {
			out.IsTruncated = true
			out.NextPartNumberMarker = numbers[i-1]
			break
		}
		p := u.parts[n]
		out.Parts = append(out.Parts, gofakes3.ListMultipartUploadPartItem{
			PartNumber: n, ETag: p.etag, Size: p.data.size(), LastModified: gofakes3.NewContentTime(p.modified),
		})
	}
	return out, nil
}

func (s *store) AbortMultipartUpload(bucket, key string, id gofakes3.UploadID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.upload(bucket, key, id); err != nil {
		return err
	}
	delete(s.uploads, id)
	return nil
}

func (s *store) CompleteMultipartUpload(bucket, key string, id gofakes3.UploadID, input *gofakes3.CompleteMultipartUploadRequest) (gofakes3.VersionID, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.upload(bucket, key, id)
	if err != nil {
		return "", "", err
	}
	b, err := s.bucket(bucket)
	if err != nil {
		return "", "", err
	}
	if len(input.Parts) == 0 {
		return "", "", gofakes3.ErrorMessage(gofakes3.ErrMalformedXML, "no parts")
	}
	var data blob
	h := md5.New()
	prev := 0
	for i, in := range input.Parts {
		if in.PartNumber <= prev {
			return "", "", gofakes3.ErrInvalidPartOrder
		}
		prev = in.PartNumber
		p := u.parts[in.PartNumber]
		if p == nil || strings.Trim(in.ETag, `"`) != strings.Trim(p.etag, `"`) {
			return "", "", gofakes3.ErrorMessagef(gofakes3.ErrInvalidPart, "part %d is not the one uploaded", in.PartNumber)
		}
		if i < len(input.Parts)-1 && p.data.size() < 5<<20 {
			// S3 answers EntityTooSmall (400); gofakes3 has no such code.
			return "", "", gofakes3.ErrorMessagef(gofakes3.ErrInvalidPart, "EntityTooSmall: part %d is %d bytes; all parts but the last must be at least 5 MiB", in.PartNumber, p.data.size())
		}
		data = append(data, p.data...)
		raw, _ := hex.DecodeString(strings.Trim(p.etag, `"`))
		h.Write(raw)
	}
	sum := h.Sum(nil)
	b.put(key, &storeObject{data: data, hash: sum, meta: u.meta, modified: s.now()})
	delete(s.uploads, id)
	return "", fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(sum), len(input.Parts)), nil
}
