package bench

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/request"
	"github.com/aws/aws-sdk-go/service/s3"
)

// The S3 model's two figures (-s3-latency, -s3-conn-rate) come from AWS's
// documentation; Probe measures them from where it runs, so that the team can
// set them from a host in the image bucket's Region instead
// (tools/cmd/s3probe, docs/performance.md "Measuring the S3 model").

// ProbeConfig is what Probe measures.
type ProbeConfig struct {
	// S3 is the client; its HTTP client must keep one connection (Probe
	// measures one connection, as the model caps each).
	S3     *s3.S3
	Bucket string
	// Prefix is where Probe writes, under a random name of its own, and it
	// deletes everything it wrote. It may not be under the registry's data.
	Prefix string
	// Requests is how many small requests of each kind it times.
	Requests int
	// Size is the bytes of the one upload and download it times.
	Size int64
}

// probeObjectSize is the small objects' size: the registry's own files
// (startedat, hash states, links) are tens to hundreds of bytes.
const probeObjectSize = 1 * KiB

// ProbeResult is what one connection to S3 did.
type ProbeResult struct {
	// Latency lists each small request kind's times, sorted.
	Latency map[string][]time.Duration
	// Small is the median of every small request: the model's latency.
	Small time.Duration
	// Upload and Download are bytes per second on one connection, Small
	// taken out of their time (the model adds it before a request).
	Upload, Download float64
}

// ConnRate is the slower direction's rate: the model caps both at one rate.
func (r *ProbeResult) ConnRate() float64 { return min(r.Upload, r.Download) }

// BenchFlags are the benchmark's model flags at these figures.
func (r *ProbeResult) BenchFlags() string {
	return fmt.Sprintf("-s3-latency %v -s3-conn-rate %.3g", r.Small.Round(time.Millisecond), r.ConnRate())
}

// Probe times, on one connection to S3, Requests small requests of each kind
// the registry makes around a blob (PutObject, GetObject, HeadObject,
// ListObjectsV2 and DeleteObject of 1 KiB objects) and one upload and one
// download of Size bytes. The first request, which opens the connection, is
// not timed: the model's latency is a request's on a connection in use.
func Probe(cfg ProbeConfig) (res *ProbeResult, err error) {
	if cfg.Requests < 1 || cfg.Size < 1 {
		return nil, fmt.Errorf("probe: want at least 1 request of each kind and 1 byte to move, not %d and %d", cfg.Requests, cfg.Size)
	}
	if p := strings.TrimPrefix(cfg.Prefix, "/"); p == "docker" || strings.HasPrefix(p, "docker/") {
		return nil, fmt.Errorf("probe: prefix %q is under the registry's data (docker/); give a prefix of its own, e.g. s3-probe", cfg.Prefix)
	}
	var name [8]byte
	_, _ = rand.Read(name[:])
	dir := strings.Trim(cfg.Prefix, "/") + "/" + hex.EncodeToString(name[:]) + "/"
	written := map[string]bool{} // the keys to delete at the end
	defer func() {
		for k := range written {
			if _, derr := cfg.S3.DeleteObject(&s3.DeleteObjectInput{Bucket: aws.String(cfg.Bucket), Key: aws.String(k)}); derr != nil {
				err = errors.Join(err, fmt.Errorf("probe: deleting s3://%s/%s: %w; delete it by hand", cfg.Bucket, k, derr))
			}
		}
	}()
	// put writes body, whose SHA-256 is sum, at key.
	put := func(key string, body []byte, sum string) error {
		written[key] = true
		_, err := cfg.S3.PutObjectWithContext(aws.BackgroundContext(), &s3.PutObjectInput{
			Bucket: aws.String(cfg.Bucket), Key: aws.String(key), Body: bytes.NewReader(body),
			ServerSideEncryption: aws.String(s3.ServerSideEncryptionAes256),
		}, payloadHash(sum))
		return err
	}
	small := make([]byte, probeObjectSize)
	smallSum := sha256Hex(small)
	if err := put(dir+"open", small, smallSum); err != nil {
		return nil, fmt.Errorf("probe: writing s3://%s/%sopen: %w", cfg.Bucket, dir, err)
	}
	res = &ProbeResult{Latency: map[string][]time.Duration{}}
	for i := range cfg.Requests {
		key := fmt.Sprintf("%ssmall-%d", dir, i)
		for _, op := range []struct {
			name string
			do   func() error
		}{
			{"PutObject", func() error { return put(key, small, smallSum) }},
			{"GetObject", func() error { return getAll(cfg.S3, cfg.Bucket, key) }},
			{"HeadObject", func() error {
				_, err := cfg.S3.HeadObject(&s3.HeadObjectInput{Bucket: aws.String(cfg.Bucket), Key: aws.String(key)})
				return err
			}},
			{"ListObjectsV2", func() error {
				_, err := cfg.S3.ListObjectsV2(&s3.ListObjectsV2Input{Bucket: aws.String(cfg.Bucket), Prefix: aws.String(dir), MaxKeys: aws.Int64(10)})
				return err
			}},
			{"DeleteObject", func() error {
				_, err := cfg.S3.DeleteObject(&s3.DeleteObjectInput{Bucket: aws.String(cfg.Bucket), Key: aws.String(key)})
				if err == nil {
					delete(written, key)
				}
				return err
			}},
		} {
			start := time.Now()
			if err := op.do(); err != nil {
				return nil, fmt.Errorf("probe: %s s3://%s/%s: %w", op.name, cfg.Bucket, key, err)
			}
			res.Latency[op.name] = append(res.Latency[op.name], time.Since(start))
		}
	}
	var all []time.Duration
	for op := range res.Latency {
		slices.Sort(res.Latency[op])
		all = append(all, res.Latency[op]...)
	}
	slices.Sort(all)
	res.Small = all[len(all)/2]

	big := make([]byte, cfg.Size)
	_, _ = rand.Read(big)
	bigSum := sha256Hex(big) // before the clock starts
	key := dir + "large"
	start := time.Now()
	if err := put(key, big, bigSum); err != nil {
		return nil, fmt.Errorf("probe: uploading %s: %w", FormatSize(cfg.Size), err)
	}
	res.Upload = rate(cfg.Size, time.Since(start)-res.Small)
	start = time.Now()
	if err := getAll(cfg.S3, cfg.Bucket, key); err != nil {
		return nil, fmt.Errorf("probe: downloading %s: %w", FormatSize(cfg.Size), err)
	}
	res.Download = rate(cfg.Size, time.Since(start)-res.Small)
	return res, nil
}

func sha256Hex(p []byte) string {
	sum := sha256.Sum256(p)
	return hex.EncodeToString(sum[:])
}

func rate(n int64, d time.Duration) float64 {
	return float64(n) / max(d, time.Millisecond).Seconds()
}

// payloadHash gives the signer the body's SHA-256, computed before the clock
// starts, so that the time is S3's and the network's, not the signer's pass
// over the body.
func payloadHash(sum string) request.Option {
	return func(r *request.Request) { r.HTTPRequest.Header.Set("X-Amz-Content-Sha256", sum) }
}

func getAll(c *s3.S3, bucket, key string) error {
	out, err := c.GetObject(&s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return err
	}
	defer out.Body.Close()
	_, err = drain(out.Body)
	return err
}

// OneConnection is an HTTP client that keeps one connection to S3, so that
// every timed request is on the connection the first one opened.
func OneConnection(tr *http.Transport) *http.Client {
	tr.MaxConnsPerHost = 1
	tr.MaxIdleConnsPerHost = 1
	tr.ForceAttemptHTTP2 = false
	return &http.Client{Transport: tr}
}

// WriteProbe prints res as a table and the benchmark flags it gives.
func WriteProbe(w io.Writer, where string, cfg ProbeConfig, res *ProbeResult) {
	fmt.Fprintf(w, "S3 from %s, one connection, %d requests of each kind (%s objects):\n\n", where, cfg.Requests, FormatSize(probeObjectSize))
	fmt.Fprintf(w, "| Request | median | 90th percentile |\n|---|---|---|\n")
	for _, op := range slices.Sorted(maps.Keys(res.Latency)) {
		l := res.Latency[op]
		fmt.Fprintf(w, "| %s | %v | %v |\n", op, l[len(l)/2].Round(time.Millisecond), l[len(l)*9/10].Round(time.Millisecond))
	}
	fmt.Fprintf(w, "| every small request | %v | |\n\n", res.Small.Round(time.Millisecond))
	fmt.Fprintf(w, "One connection, %s, the median small request taken out: upload %.3g MB/s, download %.3g MB/s.\n\n",
		FormatSize(cfg.Size), res.Upload/1e6, res.Download/1e6)
	fmt.Fprintf(w, "The benchmark's S3 model at these figures:\n\n    make bench BENCH_FLAGS='%s'\n", res.BenchFlags())
}
