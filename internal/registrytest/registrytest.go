// Package registrytest runs the image's entrypoint and registry on this machine,
// as the container runs them, for end-to-end tests and benchmarks: a stand-in
// Synapse (token service and event listener), an in-process S3 (gofakes3), any
// number of registry instances and a round-robin proxy in front of them.
//
// Each registry instance is a child process: the entrypoint (the same
// registryconfig.Main as image/entrypoint) reads the SYNAPSE_REGISTRY_*
// variables, writes its files and execs the registry (distribution v3 at the
// go.mod version, through image/registrymain) with `serve config.yml`. Both
// roles are played by the test binary itself, so nothing has to be built first:
// a package that uses StartRegistry must call Main from its TestMain (or
// RunChildIfRequested first thing in main).
package registrytest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registrymain"
	"github.com/Sage-Bionetworks/synapse-docker-registry/image/relay"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/sqstest"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synapsestub"
)

// childEnv marks a process started by this package (entrypoint, registry or
// log redactor).
const childEnv = "REGISTRYTEST_CHILD"

// Main runs the tests, or the child role this process was started for.
func Main(m *testing.M) {
	RunChildIfRequested()
	os.Exit(m.Run())
}

// RunChildIfRequested turns this process into the entrypoint, the registry or
// the log redactor when StartRegistry started it as one, and exits; otherwise
// it returns at once.
func RunChildIfRequested() {
	if os.Getenv(childEnv) == "" {
		return
	}
	args := os.Args[1:]
	if len(args) == 1 {
		if code, ok := relay.Main(args[0], os.Stdin, os.Stderr); ok {
			os.Exit(code)
		}
	}
	if len(args) > 0 && args[0] == "serve" {
		os.Exit(registrymain.Main(args))
	}
	os.Exit(registryconfig.Main(args, os.Environ(), os.Stderr))
}

// Defaults of the stand-ins.
const (
	// Service is the registry's service name (the token aud) in tests.
	Service = "docker.synapse.test"
	// SharedHTTPSecret is the http.secret of every instance unless overridden,
	// like the one secret all tasks of a stack share.
	SharedHTTPSecret = "registrytest-shared-http-secret-0123456789abcdef"
	// Bucket has dots, like the production bucket.
	Bucket = "test.docker.registry.sagebase.org"
)

// NotificationAuth is the stand-in notification credentials, base64("registry:notification-password").
var NotificationAuth = base64.StdEncoding.EncodeToString([]byte("registry:notification-password"))

// Synapse is a running stand-in Synapse.
type Synapse struct {
	Service string
	Key     *synapsestub.SigningKey
	Tokens  *synapsestub.TokenService
	// Realm is the token endpoint (https, host localhost).
	Realm       string
	TokenServer *synapsestub.Server
	// Notifications records what the registry sends and what Synapse would do.
	Notifications    *synapsestub.Receiver
	NotificationURL  string
	NotificationAuth string
}

// StartSynapse starts a token service (with DevUser and ReaderUser) and an
// event listener; both stop when the test ends.
func StartSynapse(t TB) *Synapse {
	t.Helper()
	key, err := synapsestub.NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	tokens := synapsestub.NewTokenService(key, synapsestub.DevUser, synapsestub.ReaderUser)
	tokens.Services = []string{Service}
	ts, err := synapsestub.ServeTLS("127.0.0.1:0", tokens)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	receiver := synapsestub.NewReceiver(NotificationAuth)
	ns, err := synapsestub.Serve("127.0.0.1:0", receiver)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return &Synapse{
		Service:          Service,
		Key:              key,
		Tokens:           tokens,
		Realm:            ts.URL + synapsestub.TokenPath,
		TokenServer:      ts,
		Notifications:    receiver,
		NotificationURL:  ns.URL + "/dockerRegistryListener/v1/events",
		NotificationAuth: NotificationAuth,
	}
}

// Token mints a token for a user of the stand-in, as its endpoint would.
func (s *Synapse) Token(t TB, user string, scopes ...string) string {
	t.Helper()
	tok, err := s.Tokens.TokenFor(user, s.Service, scopes...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Queue is a notification queue and its dead-letter queue in an SQS stand-in.
type Queue struct {
	Server        *sqstest.Server
	Name          string
	URL           string
	DeadLetterURL string
}

// QueueVisibilityTimeout is the stand-in queue's: short, so that a message a
// stopped relay had received comes back within a test.
const QueueVisibilityTimeout = 2 * time.Second

// StartQueue starts an SQS stand-in with a notification queue and its
// dead-letter queue, which takes a message after maxReceiveCount failed
// receives; it stops when the test ends.
func StartQueue(t TB, maxReceiveCount int) *Queue {
	t.Helper()
	srv, err := sqstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	u, dlq := srv.CreateQueues("registry-notifications", QueueVisibilityTimeout, maxReceiveCount)
	return &Queue{Server: srv, Name: "registry-notifications", URL: u, DeadLetterURL: dlq}
}

// DeadLetters returns the bodies in the dead-letter queue.
func (q *Queue) DeadLetters() []string { return q.Server.Bodies(q.Name + "-dlq") }

// Options configure one registry instance.
type Options struct {
	// Synapse is the stand-in the instance trusts and notifies. Required.
	Synapse *Synapse
	// S3 is the storage; nil means filesystem storage in FilesystemRoot (a
	// temporary directory if empty).
	S3             *S3
	FilesystemRoot string
	// HTTPSecret defaults to SharedHTTPSecret.
	HTTPSecret string
	// DisableRedirect makes the registry stream blobs instead of redirecting
	// to pre-signed S3 URLs.
	DisableRedirect bool
	// NotifyAll sends every event instead of only what Synapse uses.
	NotifyAll bool
	// LogLevel defaults to "info".
	LogLevel string
	// Env adds or overrides variables of the entrypoint's environment; an
	// empty value removes the variable.
	Env map[string]string
	// Queue, if set, routes notifications through the relay and this SQS
	// stand-in, as the deployed task does.
	Queue *Queue
	// RegistryBinary, if set, is exec'd instead of this executable (e.g. a
	// built image/registry or an official registry binary).
	RegistryBinary string
}

// Registry is a running instance: the entrypoint's process, which became the
// registry.
type Registry struct {
	// Host is what clients use, "localhost:<port>".
	Host string
	// URL is "https://localhost:<port>".
	URL string
	// HealthURL is the debug server, "http://localhost:<port>".
	HealthURL string
	// Certificate is the instance's self-signed TLS certificate.
	Certificate *x509.Certificate
	ScratchDir  string
	// Env is the environment the entrypoint was started with.
	Env []string
	// S3AccessKey is the access key ID it signs its S3 requests with, its
	// own (S3Request.AccessKey); "" without S3.
	S3AccessKey string

	synapse *Synapse
	s3      *S3
	cmd     *exec.Cmd
	out     *lineBuffer
	done    chan struct{}
	waitErr error
	stop    sync.Once
}

// StartRegistry starts an instance and waits until it serves; it is stopped
// when the test ends (its output is logged if the test failed).
func StartRegistry(t TB, opts Options) *Registry {
	t.Helper()
	if opts.Synapse == nil {
		t.Fatal("registrytest: Options.Synapse is required")
	}
	scratch := t.TempDir()
	if opts.S3 == nil && opts.FilesystemRoot == "" {
		opts.FilesystemRoot = t.TempDir()
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		r, err := startRegistry(opts, filepath.Join(scratch, strconv.Itoa(attempt)))
		if err == nil {
			t.Cleanup(func() {
				r.Stop()
				if t.Failed() {
					logs := r.Logs()
					if len(logs) > 40 {
						logs = append([]string{fmt.Sprintf("... (%d earlier lines)", len(logs)-40)}, logs[len(logs)-40:]...)
					}
					t.Logf("last output of the registry at %s:\n%s", r.Host, strings.Join(logs, "\n"))
				}
			})
			return r
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	t.Fatalf("registrytest: starting a registry: %v", lastErr)
	return nil
}

var errPortTaken = errors.New("port taken")

// Environ returns the entrypoint's environment for opts, with the given ports
// and scratch directory.
func (opts Options) Environ(listenPort, healthPort int, scratch string) []string {
	env := map[string]string{
		registryconfig.EnvTokenRealm:        opts.Synapse.Realm,
		registryconfig.EnvTokenService:      opts.Synapse.Service,
		registryconfig.EnvTokenIssuer:       opts.Synapse.Tokens.Issuer,
		registryconfig.EnvTokenCertificates: string(opts.Synapse.Key.CertificatePEM),
		registryconfig.EnvNotificationURL:   opts.Synapse.NotificationURL,
		registryconfig.EnvNotificationAuth:  opts.Synapse.NotificationAuth,
		registryconfig.EnvHTTPSecret:        SharedHTTPSecret,
		registryconfig.EnvListenAddr:        "127.0.0.1:" + strconv.Itoa(listenPort),
		registryconfig.EnvHealthAddr:        "127.0.0.1:" + strconv.Itoa(healthPort),
		registryconfig.EnvScratchDir:        scratch,
		registryconfig.EnvLogLevel:          "info",
	}
	if opts.HTTPSecret != "" {
		env[registryconfig.EnvHTTPSecret] = opts.HTTPSecret
	}
	if opts.LogLevel != "" {
		env[registryconfig.EnvLogLevel] = opts.LogLevel
	}
	if opts.DisableRedirect {
		env[registryconfig.EnvRedirect] = "false"
	}
	if opts.NotifyAll {
		env[registryconfig.EnvNotificationEvents] = registryconfig.EventsAll
	}
	if opts.Queue != nil {
		env[registryconfig.EnvNotificationQueue] = opts.Queue.URL
		env[registryconfig.EnvNotificationDLQ] = opts.Queue.DeadLetterURL
		env[registryconfig.EnvSQSEndpoint] = opts.Queue.Server.URL
		env[registryconfig.EnvNotificationRetry] = "1s"
		if ports, err := freePorts(1, listenPort, healthPort); err == nil {
			env[registryconfig.EnvRelayAddr] = "127.0.0.1:" + strconv.Itoa(ports[0])
		}
	}
	if opts.S3 != nil {
		// A key of its own, so that the stand-in tells its requests from
		// other registries' (S3Request.AccessKey).
		env["AWS_ACCESS_KEY_ID"] = s3AccessKey(listenPort)
		env[registryconfig.EnvStorage] = registryconfig.StorageS3
		env[registryconfig.EnvS3Bucket] = opts.S3.Bucket
		env[registryconfig.EnvS3Region] = "us-east-1"
		env[registryconfig.EnvS3Endpoint] = opts.S3.URL
		if opts.S3.CertificateFile != "" {
			// Go's TLS clients (the S3 driver's among them) trust this file
			// instead of the system's roots.
			env["SSL_CERT_FILE"] = opts.S3.CertificateFile
		}
	} else {
		env[registryconfig.EnvStorage] = registryconfig.StorageFilesystem
		env[registryconfig.EnvFilesystemRoot] = opts.FilesystemRoot
	}
	self, _ := os.Executable()
	env[registryconfig.EnvBinary] = self
	if opts.RegistryBinary != "" {
		env[registryconfig.EnvBinary] = opts.RegistryBinary
	}
	for k, v := range opts.Env {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	var out []string
	for _, kv := range ChildBaseEnv() {
		if name, _, _ := strings.Cut(kv, "="); env[name] == "" {
			out = append(out, kv)
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// ChildBaseEnv is the environment every child starts from: this process's,
// without SYNAPSE_REGISTRY_*, REGISTRY_*, AWS_* and OTEL_* variables, plus the
// child marker and dummy AWS credentials (the registry's S3 driver uses the
// default credential chain; the fake S3 does not check them).
func ChildBaseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, registryconfig.Prefix) || strings.HasPrefix(name, "REGISTRY_") ||
			strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "OTEL_") || name == childEnv {
			continue
		}
		env = append(env, kv)
	}
	return append(env, childEnv+"=1",
		"AWS_ACCESS_KEY_ID=registrytest", "AWS_SECRET_ACCESS_KEY=registrytest", "AWS_EC2_METADATA_DISABLED=true")
}

// s3AccessKey is the access key ID of the registry serving on listenPort:
// ports are unique among the registries running, and so are their keys.
func s3AccessKey(listenPort int) string { return "registrytest-" + strconv.Itoa(listenPort) }

func startRegistry(opts Options, scratch string) (*Registry, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	listenPort, healthPort := ports[0], ports[1]
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	r := &Registry{
		Host:       "localhost:" + strconv.Itoa(listenPort),
		URL:        "https://localhost:" + strconv.Itoa(listenPort),
		HealthURL:  "http://localhost:" + strconv.Itoa(healthPort),
		ScratchDir: scratch,
		Env:        opts.Environ(listenPort, healthPort, scratch),
		synapse:    opts.Synapse,
		s3:         opts.S3,
		out:        newLineBuffer(),
		done:       make(chan struct{}),
	}
	if opts.S3 != nil {
		r.S3AccessKey = s3AccessKey(listenPort)
	}
	r.cmd = exec.Command(self)
	r.cmd.Env = r.Env
	r.cmd.Stdout = r.out
	r.cmd.Stderr = r.out
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		r.waitErr = r.cmd.Wait()
		close(r.done)
	}()
	if err := r.waitReady(30 * time.Second); err != nil {
		r.Stop()
		logs := strings.Join(r.Logs(), "\n")
		if strings.Contains(logs, "address already in use") {
			return nil, fmt.Errorf("%w: %v", errPortTaken, err)
		}
		return nil, fmt.Errorf("%v\n%s", err, logs)
	}
	return r, nil
}

func (r *Registry) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	certFile := filepath.Join(r.ScratchDir, registryconfig.TLSCertFile)
	for r.Certificate == nil {
		if b, err := os.ReadFile(certFile); err == nil {
			if block, _ := pem.Decode(b); block != nil {
				if c, err := x509.ParseCertificate(block.Bytes); err == nil {
					r.Certificate = c
				}
			}
		}
		if err := r.pause(deadline); err != nil {
			return err
		}
	}
	client := &http.Client{Transport: r.synapse.Transport(r.Certificate), Timeout: 2 * time.Second}
	// An open HTTP/2 connection would make a graceful stop wait for its GOAWAY.
	defer client.CloseIdleConnections()
	for _, u := range []string{r.URL + "/", r.HealthURL + "/debug/health"} {
		for {
			resp, err := client.Get(u)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if err := r.pause(deadline); err != nil {
				return fmt.Errorf("%s is not answering: %v", u, err)
			}
		}
	}
	return nil
}

func (r *Registry) pause(deadline time.Time) error {
	select {
	case <-r.done:
		return fmt.Errorf("the registry process exited: %v", r.waitErr)
	case <-time.After(20 * time.Millisecond):
	}
	if time.Now().After(deadline) {
		return errors.New("timed out")
	}
	return nil
}

// PID is the process id of the entrypoint, which exec'd into the registry.
func (r *Registry) PID() int { return r.cmd.Process.Pid }

// Logs returns the lines the instance wrote to stdout and stderr so far.
func (r *Registry) Logs() []string { return r.out.Lines() }

// Exited reports whether the process has ended, and how.
func (r *Registry) Exited() (bool, error) {
	select {
	case <-r.done:
		return true, r.waitErr
	default:
		return false, nil
	}
}

// Stop sends SIGTERM (the registry drains and exits) and kills the process if
// it has not exited after 10 s.
func (r *Registry) Stop() {
	r.stop.Do(func() {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
}

// Kill ends the instance at once (SIGKILL), without draining; for benchmarks
// that start and stop many instances.
func (r *Registry) Kill() {
	r.stop.Do(func() {
		_ = r.cmd.Process.Kill()
		<-r.done
	})
}

// Transport trusts the instance's certificate, the stand-in Synapse's and,
// if it serves HTTPS, the S3 stand-in's (pulls are redirected there).
func (r *Registry) Transport() *http.Transport {
	certs := []*x509.Certificate{r.Certificate}
	if r.s3 != nil {
		certs = append(certs, r.s3.Certificate)
	}
	return r.synapse.Transport(certs...)
}

// Transport returns an HTTP transport that trusts the stand-in token service
// and the given certificates (registry instances, proxies).
func (s *Synapse) Transport(certs ...*x509.Certificate) *http.Transport {
	return Transport(append(certs, s.TokenServer.Certificate)...)
}

// Transport returns an HTTP transport that trusts exactly the given certificates.
func Transport(certs ...*x509.Certificate) *http.Transport {
	pool := x509.NewCertPool()
	for _, c := range certs {
		if c != nil {
			pool.AddCert(c)
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return tr
}

// RemoteOptions are go-containerregistry options that log in as user through tr.
func RemoteOptions(user synapsestub.User, tr http.RoundTripper, more ...remote.Option) []remote.Option {
	return append([]remote.Option{
		remote.WithAuth(&authn.Basic{Username: user.Name, Password: user.Password}),
		remote.WithTransport(tr),
	}, more...)
}

// RunEntrypoint runs the entrypoint with exactly env (plus the child marker)
// and returns its exit code and output; for the ways it must refuse to start.
func RunEntrypoint(t TB, env []string, timeout time.Duration) (int, string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(append([]string{}, env...), childEnv+"=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String()
	default:
		t.Fatalf("running the entrypoint: %v", err)
		return -1, ""
	}
}

// freePorts returns n distinct free loopback ports, none of them in taken. It holds every
// listener open until all n are chosen: ports picked one after another, each released before
// the next, can come back equal (seen: the listen and health ports of one registry were the
// same, and the entrypoint refused to start).
func freePorts(n int, taken ...int) ([]int, error) {
	var ports []int
	for len(ports) < n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		if port := ln.Addr().(*net.TCPAddr).Port; !slices.Contains(taken, port) {
			ports = append(ports, port)
		}
	}
	return ports, nil
}

// lineBuffer collects a child's output as lines (and echoes it to stderr when
// REGISTRYTEST_VERBOSE is set).
type lineBuffer struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	echo    io.Writer
}

func newLineBuffer() *lineBuffer {
	b := &lineBuffer{}
	if os.Getenv("REGISTRYTEST_VERBOSE") != "" {
		b.echo = os.Stderr
	}
	return b
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.echo != nil {
		b.echo.Write(p)
	}
	b.partial = append(b.partial, p...)
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 {
			break
		}
		b.lines = append(b.lines, string(b.partial[:i]))
		b.partial = b.partial[i+1:]
	}
	b.partial = append([]byte(nil), b.partial...)
	return len(p), nil
}

func (b *lineBuffer) Lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := append([]string{}, b.lines...)
	if len(b.partial) > 0 {
		out = append(out, string(b.partial))
	}
	return out
}
