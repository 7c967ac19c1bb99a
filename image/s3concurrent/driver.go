// Package s3concurrent is the registry's S3 storage driver with concurrent
// part uploads, registered as "s3-concurrent". It is distribution's s3-aws
// driver (imported as a library, unchanged) for everything but the blob
// writer and Move (move.go): registry 3.1's writer uploads each part
// synchronously inside the client's PATCH stream, one at a time on one connection, so a layer moves at
// one S3 connection's rate (about 85-90 MB/s) whatever the task. This
// writer keeps up to PartsInFlight parts uploading at once, each on its own
// connection, in fixed part buffers: an upload holds at most
// (PartsInFlight + 1) x chunksize of memory.
//
// It keeps what the s3-aws writer guarantees, in the same S3 layout (an
// upload in progress is an S3 multipart upload at the path's key, so
// uploads started by either driver resume with the other): resuming an
// upload in another request or task from its listed parts (paginated past
// 1,000), the final commit (CompleteMultipartUpload), and up to 10,000 parts
// (312 GiB at 32 MiB parts, for 100 GB layers).
//
// Around each blob the registry waits for a couple of dozen S3 round trips
// one after the other; the driver saves those it can without a guarantee
// less: resuming an upload it remembers skips ListMultipartUploads, a new
// upload is created while the registry writes its hash state, the final
// PUT's three Stats of the upload it has just committed are answered from
// the commit (request.go), a blob's absence is one HeadObject without a
// listing, and Move deletes its source without listing it
// (docs/performance.md, "Round trips per blob").
package s3concurrent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/base"
	"github.com/distribution/distribution/v3/registry/storage/driver/factory"
	s3aws "github.com/distribution/distribution/v3/registry/storage/driver/s3-aws"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/s3"
)

// DriverName is the storage section's key: storage: s3-concurrent: {...}.
const DriverName = "s3-concurrent"

// PartsInFlightParameter is this driver's one parameter beyond s3-aws's: how
// many parts one upload sends at once (DefaultPartsInFlight).
const PartsInFlightParameter = "partsinflight"

// DefaultPartsInFlight: 5 parts in flight, the AWS SDKs' upload managers'
// default, move a layer at about five S3 connections' rate
// (docs/performance.md) for 6 chunks of memory per upload.
const DefaultPartsInFlight = 5

// S3's multipart rules (Amazon S3 User Guide, "Amazon S3 multipart upload
// limits"): every part but the last at least 5 MiB, at most 5 GiB a part and
// 10,000 parts.
const (
	minPartSize  = 5 << 20
	maxPartSize  = 5 << 30
	maxPartCount = 10000
)

func init() { factory.Register(DriverName, driverFactory{}) }

type driverFactory struct{}

func (driverFactory) Create(ctx context.Context, parameters map[string]any) (storagedriver.StorageDriver, error) {
	return FromParameters(ctx, parameters)
}

// Driver is the s3-concurrent storage driver.
type Driver struct{ base.Base }

// driver is s3-aws's driver with this package's Writer.
type driver struct {
	*s3aws.Driver
	client        *s3.S3
	bucket        string
	chunkSize     int
	partsInFlight int
	// copyThreshold, copyChunk and copyInFlight are s3-aws's multipartcopy*
	// parameters, which Move follows as s3-aws's copy does.
	copyThreshold, copyChunk, copyInFlight int64
	create                                 s3.CreateMultipartUploadInput // the options every new upload gets
	buffers                                *partBuffers                  // of chunkSize
	// uploads remembers, by key, the upload ID of each upload this process
	// has started or resumed and not completed or aborted, so that
	// resuming it (the registry's PATCH and PUT) lists its parts without
	// first listing the bucket's uploads to find it: one round trip less
	// each. ListParts proves the ID still in
	// progress; an upload another task completed or aborted meanwhile
	// answers NoSuchUpload and is looked up afresh (findUpload).
	uploads    sync.Map     // key -> upload ID
	remembered atomic.Int64 // keys added to uploads since it was last cleared
	// memo answers a request's questions about its own writes (request.go).
	memo requestMemo
}

// unsupported are s3-aws parameters this driver's own S3 client does not
// honour; it refuses them rather than silently writing differently.
var unsupported = []string{"usedualstack", "accelerate", "usefips", "loglevel", "useragent"}

// FromParameters builds the driver from the storage section's parameters:
// those of s3-aws, plus partsinflight.
func FromParameters(ctx context.Context, parameters map[string]any) (*Driver, error) {
	params := map[string]any{}
	for k, v := range parameters {
		params[k] = v
	}
	inFlight, err := intParam(params, PartsInFlightParameter, DefaultPartsInFlight)
	if err != nil {
		return nil, err
	}
	delete(params, PartsInFlightParameter)
	if inFlight < 1 || inFlight > 64 {
		return nil, fmt.Errorf("%s: %s must be between 1 and 64, not %d", DriverName, PartsInFlightParameter, inFlight)
	}
	var problems []string
	for _, k := range unsupported {
		if v, ok := params[k]; ok && v != nil && v != "" && v != false && v != "false" {
			problems = append(problems, k)
		}
	}
	if v4, err := boolParam(params, "v4auth", true); err != nil || !v4 {
		problems = append(problems, "v4auth other than true")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s does not support %s: remove them or use the s3 driver", DriverName, strings.Join(problems, ", "))
	}
	inner, err := s3aws.FromParameters(ctx, params)
	if err != nil {
		return nil, err
	}
	d := &driver{Driver: inner, partsInFlight: inFlight}
	if err := d.configure(params); err != nil {
		return nil, err
	}
	d.buffers = newPartBuffers(d.chunkSize, defaultBufferIdle, bufferBudget(runtimeMemoryLimit(), d.chunkSize, inFlight+1))
	return &Driver{base.Base{StorageDriver: d}}, nil
}

// configure reads what the writer needs (s3-aws has validated the values)
// and builds its S3 client as s3-aws builds its own.
func (d *driver) configure(p map[string]any) error {
	str := func(k string) string {
		if v, ok := p[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
		return ""
	}
	var err error
	d.bucket = str("bucket")
	if d.chunkSize, err = intParam(p, "chunksize", 10<<20); err != nil {
		return err
	}
	// s3-aws's defaults (registry/storage/driver/s3-aws/s3.go,
	// defaultMultipartCopy*).
	for _, c := range []struct {
		name string
		to   *int64
		def  int
	}{{"multipartcopythresholdsize", &d.copyThreshold, 32 << 20}, {"multipartcopychunksize", &d.copyChunk, 32 << 20}, {"multipartcopymaxconcurrency", &d.copyInFlight, 100}} {
		v, err := intParam(p, c.name, c.def)
		if err != nil {
			return err
		}
		*c.to = int64(v)
	}
	secure, err := boolParam(p, "secure", true)
	if err != nil {
		return err
	}
	skipVerify, err := boolParam(p, "skipverify", false)
	if err != nil {
		return err
	}
	pathStyle, err := boolParam(p, "forcepathstyle", false)
	if err != nil {
		return err
	}
	encrypt, err := boolParam(p, "encrypt", false)
	if err != nil {
		return err
	}
	// Every part's SHA-256 is signed (SigV4's payload hash), and S3 refuses a
	// part whose bytes do not match it; the SDK would also hash each part
	// with MD5 for Content-MD5, a second check of the same bytes that costs
	// more CPU than any other step of a push (docs/performance.md, "CPU per
	// GiB pushed"). The flag drops only the MD5: the signer then computes the
	// payload hash itself (TestPartsCarryTheirSignedHashAndNoMD5).
	cfg := aws.NewConfig().WithRegion(str("region")).WithS3ForcePathStyle(pathStyle).WithDisableSSL(!secure).
		WithS3DisableContentMD5Validation(true)
	if e := str("regionendpoint"); e != "" {
		cfg.WithEndpoint(e)
	}
	if ak, sk := str("accesskey"), str("secretkey"); ak != "" && sk != "" {
		cfg.WithCredentials(credentials.NewStaticCredentials(ak, sk, str("sessiontoken")))
	}
	client := httpClient(skipVerify)
	cfg.WithHTTPClient(client)
	if err := useClient(d.Driver, client); err != nil {
		return err
	}
	sess, err := session.NewSession(cfg)
	if err != nil {
		return fmt.Errorf("%s: AWS session: %w", DriverName, err)
	}
	d.client = s3.New(sess)

	d.create = s3.CreateMultipartUploadInput{Bucket: aws.String(d.bucket), ContentType: aws.String("application/octet-stream")}
	if encrypt {
		if key := str("keyid"); key != "" {
			d.create.ServerSideEncryption, d.create.SSEKMSKeyId = aws.String(s3.ServerSideEncryptionAwsKms), aws.String(key)
		} else {
			d.create.ServerSideEncryption = aws.String(s3.ServerSideEncryptionAes256)
		}
	}
	acl := str("objectacl")
	if acl == "" {
		acl = s3.ObjectCannedACLPrivate
	}
	d.create.ACL = aws.String(acl)
	switch sc := str("storageclass"); sc {
	case "":
		d.create.StorageClass = aws.String(s3.StorageClassStandard)
	case "NONE", "none":
	default:
		d.create.StorageClass = aws.String(sc)
	}
	return nil
}

func (d *driver) Name() string { return DriverName }

// blobData matches the registry's blob data paths (distribution's
// registry/storage/paths.go: blobs/<algorithm>/<first two hex>/<hex>/data):
// files, under which nothing is ever stored.
var blobData = regexp.MustCompile(`^/docker/registry/v2/blobs/[a-z0-9]+/[0-9a-f]{2}/[0-9a-f]+/data$`)

// Stat is s3-aws's, but for an upload this request committed (request.go)
// and for a blob's data. s3-aws answers a HeadObject that finds nothing with
// a listing of the path as a directory; a blob's data is never one, so its
// HeadObject is the answer: one round trip less before every new blob is
// moved into place (the registry first checks that it is not there).
func (d *driver) Stat(ctx context.Context, path string) (storagedriver.FileInfo, error) {
	key := d.S3BucketKey(path)
	if fi, ok := d.memo.stat(ctx, path, key); ok {
		return fi, nil
	}
	if blobData.MatchString(path) {
		out, err := d.client.HeadObjectWithContext(ctx, &s3.HeadObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(key)})
		if err == nil {
			return storagedriver.FileInfoInternal{FileInfoFields: storagedriver.FileInfoFields{
				Path: path, Size: aws.Int64Value(out.ContentLength), ModTime: aws.TimeValue(out.LastModified),
			}}, nil
		}
		var failure awserr.RequestFailure
		if errors.As(err, &failure) && failure.StatusCode() == http.StatusNotFound {
			return nil, storagedriver.PathNotFoundError{Path: path, DriverName: DriverName}
		}
		// Anything else (a throttle, a permission) as s3-aws would.
	}
	return d.Driver.Stat(ctx, path)
}

// PutContent is s3-aws's; what any request knows of path is forgotten
// first.
func (d *driver) PutContent(ctx context.Context, path string, content []byte) error {
	d.memo.forget(d.S3BucketKey(path), false)
	return d.Driver.PutContent(ctx, path, content)
}

// Delete is s3-aws's; what any request knows of path is forgotten first.
func (d *driver) Delete(ctx context.Context, path string) error {
	d.memo.forget(d.S3BucketKey(path), true)
	return d.Driver.Delete(ctx, path)
}

// Writer returns a FileWriter for path: a new multipart upload, or with
// appendMode the upload in progress there, resumed from its listed parts.
func (d *driver) Writer(ctx context.Context, path string, appendMode bool) (storagedriver.FileWriter, error) {
	key := d.S3BucketKey(path)
	d.memo.forget(key, false)
	if !appendMode {
		return d.newUpload(ctx, key)
	}
	if id, ok := d.uploads.Load(key); ok {
		parts, err := d.listParts(ctx, key, id.(string))
		if err == nil {
			return d.resume(ctx, key, id.(string), parts), nil
		}
		// Completed or aborted by another task (or a failed listing):
		// find the upload in progress as if nothing were remembered.
		d.uploads.CompareAndDelete(key, id)
	}
	id, parts, err := d.findUpload(ctx, key)
	if err != nil {
		return nil, parseError(path, err)
	}
	if id == "" {
		// As s3-aws: no upload in progress is a new one if nothing (or
		// nothing but an empty object) is at path.
		fi, err := d.Stat(ctx, path)
		if err != nil {
			return nil, err
		}
		if fi.Size() != 0 {
			return nil, storagedriver.Error{DriverName: DriverName, Detail: fmt.Errorf("append to non-empty committed path %s unsupported", path)}
		}
		return d.newUpload(ctx, key)
	}
	d.remember(key, id)
	return d.resume(ctx, key, id, parts), nil
}

// newUpload returns the writer of a new upload at once and creates the
// upload in the background: the registry's POST writes the upload's hash
// state while S3 creates it, one round trip less before the client can send
// the blob. Whatever needs the upload (a part, Close, Commit, Cancel) waits
// for it, and fails with the creation's error.
func (d *driver) newUpload(ctx context.Context, key string) (storagedriver.FileWriter, error) {
	w := d.resume(ctx, key, "", nil)
	w.created = make(chan struct{})
	go func() {
		defer close(w.created)
		w.uploadID, w.createErr = d.createUpload(ctx, key)
	}()
	return w, nil
}

func (d *driver) createUpload(ctx context.Context, key string) (string, error) {
	in := d.create
	in.Key = aws.String(key)
	out, err := d.client.CreateMultipartUploadWithContext(ctx, &in)
	if err != nil {
		return "", err
	}
	id := aws.StringValue(out.UploadId)
	d.remember(key, id)
	return id, nil
}

// maxRemembered bounds the uploads remembered: uploads that clients abandon
// are never completed or aborted by this process (the registry's purge
// deletes their directories), so without a bound they would pile up.
// Forgetting costs one ListMultipartUploads on the next resume.
const maxRemembered = 10000

func (d *driver) remember(key, id string) {
	if _, loaded := d.uploads.Swap(key, id); !loaded && d.remembered.Add(1) > maxRemembered {
		d.uploads.Clear()
		d.remembered.Store(0)
	}
}

// findUpload finds the multipart upload in progress at key and lists all its
// parts, following both listings' pagination (1,000 uploads and 1,000 parts
// a page); "" if there is none.
func (d *driver) findUpload(ctx context.Context, key string) (string, []*s3.Part, error) {
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(d.bucket), Prefix: aws.String(key)}
	var id string
	err := d.client.ListMultipartUploadsPagesWithContext(ctx, in, func(page *s3.ListMultipartUploadsOutput, last bool) bool {
		for _, u := range page.Uploads {
			if aws.StringValue(u.Key) == key {
				id = aws.StringValue(u.UploadId)
				return false
			}
		}
		return true
	})
	if err != nil || id == "" {
		return "", nil, err
	}
	parts, err := d.listParts(ctx, key, id)
	return id, parts, err
}

// listParts lists every part of upload id at key, following the pagination
// (1,000 parts a page).
func (d *driver) listParts(ctx context.Context, key, id string) ([]*s3.Part, error) {
	var parts []*s3.Part
	err := d.client.ListPartsPagesWithContext(ctx, &s3.ListPartsInput{Bucket: aws.String(d.bucket), Key: aws.String(key), UploadId: aws.String(id)},
		func(page *s3.ListPartsOutput, last bool) bool {
			parts = append(parts, page.Parts...)
			return true
		})
	return parts, err
}

// parseError turns S3's "no such upload/key" into the driver's not found.
func parseError(path string, err error) error {
	if err == nil {
		return nil
	}
	if strings.Contains(err.Error(), s3.ErrCodeNoSuchUpload) || strings.Contains(err.Error(), s3.ErrCodeNoSuchKey) {
		return storagedriver.PathNotFoundError{Path: path, DriverName: DriverName}
	}
	return err
}

func intParam(p map[string]any, name string, def int) (int, error) {
	v, ok := p[name]
	if !ok || v == nil || v == "" {
		return def, nil
	}
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case uint64:
		return int(x), nil
	case float64:
		return int(x), nil
	default:
		n, err := strconv.Atoi(fmt.Sprint(v))
		if err != nil {
			return 0, fmt.Errorf("%s: %s must be an integer, not %q", DriverName, name, fmt.Sprint(v))
		}
		return n, nil
	}
}

func boolParam(p map[string]any, name string, def bool) (bool, error) {
	v, ok := p[name]
	if !ok || v == nil || v == "" {
		return def, nil
	}
	if b, ok := v.(bool); ok {
		return b, nil
	}
	b, err := strconv.ParseBool(fmt.Sprint(v))
	if err != nil {
		return false, fmt.Errorf("%s: %s must be true or false, not %q", DriverName, name, fmt.Sprint(v))
	}
	return b, nil
}
