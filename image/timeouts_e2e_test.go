package image_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registrymain"
	"github.com/Sage-Bionetworks/synapse-docker-registry/image/s3concurrent"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synapsestub"
)

// Five connections that complete TLS but never finish their request headers
// (slow loris) are closed by the registry after registrymain.ReadHeaderTimeout,
// while a push on the same instance works.
func TestSlowHeadersAreCut(t *testing.T) {
	t.Parallel()
	sy := registrytest.StartSynapse(t)
	reg := registrytest.StartRegistry(t, registrytest.Options{Synapse: sy})
	limit := registrymain.ReadHeaderTimeout + 10*time.Second
	type result struct {
		err     error
		elapsed time.Duration
	}
	results := make(chan result, 5)
	for range 5 {
		go func() {
			start := time.Now()
			conn, err := tls.Dial("tcp", reg.Host, &tls.Config{ServerName: "localhost", RootCAs: reg.Transport().TLSClientConfig.RootCAs})
			if err != nil {
				results <- result{err: err}
				return
			}
			defer conn.Close()
			if _, err := conn.Write([]byte("GET /v2/ HTTP/1.1\r\nHost: " + reg.Host + "\r\nX-Slow: ")); err != nil {
				results <- result{err: err}
				return
			}
			_ = conn.SetReadDeadline(start.Add(limit))
			_, err = conn.Read(make([]byte, 1))
			results <- result{err: err, elapsed: time.Since(start)}
		}()
	}
	// Meanwhile the registry serves a normal push.
	if err := push(t, reg.Host+"/"+repo+":during-slow-loris", randomImage(t, 4096, 2), synapsestub.DevUser, reg.Transport()); err != nil {
		t.Fatalf("push while slow connections are open: %v", err)
	}
	for range 5 {
		r := <-results
		var ne net.Error
		switch {
		case errors.As(r.err, &ne) && ne.Timeout() || errors.Is(r.err, os.ErrDeadlineExceeded):
			t.Errorf("a connection that never finished its headers was still open after %v", limit)
		case r.err == nil:
			t.Errorf("the registry answered a request whose headers never ended")
		case r.elapsed < registrymain.ReadHeaderTimeout-time.Second:
			t.Errorf("slow connection closed after %v, before the %v header timeout (%v)", r.elapsed, registrymain.ReadHeaderTimeout, r.err)
		default:
			t.Logf("slow connection closed after %v: %v", r.elapsed.Round(time.Millisecond), r.err)
		}
	}
}

// A blob upload whose S3 stalls (the stand-in takes every request and never
// answers) ends with an error from the registry within the S3 timeout's
// bound, instead of holding the client's PUT open; once S3 answers again,
// a push works.
func TestBlobPutAgainstHungS3Fails(t *testing.T) {
	t.Parallel()
	sy := registrytest.StartSynapse(t)
	s3 := registrytest.StartS3(t, "")
	reg := registrytest.StartRegistry(t, registrytest.Options{Synapse: sy, S3: s3})
	token := sy.Token(t, "dev", "repository:"+repo+":pull,push")
	do := func(method, url string, body []byte, timeout time.Duration) (*http.Response, error) {
		req, err := http.NewRequest(method, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := (&http.Client{Transport: reg.Transport(), Timeout: timeout}).Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	location := func(resp *http.Response) string {
		u, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		return reg.URL + u.RequestURI()
	}
	resp, err := do(http.MethodPost, reg.URL+"/v2/"+repo+"/blobs/uploads/", nil, 30*time.Second)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("starting an upload: %v %v", resp, err)
	}
	data := bytes.Repeat([]byte("hung s3 "), 1<<17) // 1 MiB
	resp, err = do(http.MethodPatch, location(resp), data, 30*time.Second)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("sending the layer: %v %v", resp, err)
	}
	put := location(resp)
	sep := "?"
	if strings.Contains(put, "?") {
		sep = "&"
	}
	put += sep + "digest=sha256:" + fmt.Sprintf("%x", sha256.Sum256(data))

	s3.SetHanging(true)
	// Per S3 call the SDK's first try and 3 retries, each cut after the
	// timeout; at most two calls in a row fail before the registry gives up
	// (a Stat: HeadObject, then ListObjectsV2).
	bound := 2*4*s3concurrent.ResponseHeaderTimeout + 15*time.Second
	start := time.Now()
	resp, err = do(http.MethodPut, put, nil, bound+30*time.Second)
	elapsed := time.Since(start)
	s3.SetHanging(false)
	switch {
	case err != nil:
		t.Fatalf("the blob PUT got no answer while S3 hung (%v after %v)", err, elapsed.Round(time.Second))
	case resp.StatusCode < 500:
		t.Errorf("the blob PUT against a hung S3 answered %d, want an error", resp.StatusCode)
	case elapsed > bound:
		t.Errorf("the blob PUT answered %d after %v, beyond the bound %v", resp.StatusCode, elapsed.Round(time.Second), bound)
	default:
		t.Logf("blob PUT against a hung S3 answered %d after %v", resp.StatusCode, elapsed.Round(time.Second))
	}
	if err := push(t, reg.Host+"/"+repo+":after-s3-hang", randomImage(t, 4096, 2), synapsestub.DevUser, reg.Transport()); err != nil {
		t.Errorf("push once S3 answers again: %v", err)
	}
}
