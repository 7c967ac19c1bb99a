package registrymain

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry"
	"github.com/docker/go-metrics"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
)

// Timeouts of the registry's HTTP servers (image/README.md, "Timeouts").
//
// Only the load balancer connects to the API port, and it sends a request's
// whole header block at once after it has read it from the client; the TLS
// handshake between them takes milliseconds inside the VPC. ReadHeaderTimeout
// (which in net/http also bounds the TLS handshake) can therefore be short; it
// never limits a body, so a 100 GB upload, which streams for as long as it
// needs, is untouched. There is deliberately no ReadTimeout or WriteTimeout:
// they bound the whole request, and a 100 GB layer at the load balancer's
// worst per-connection rate takes far longer than any fixed bound worth
// having.
//
// IdleTimeout is the load balancer's idle timeout (infra.IdleTimeoutSeconds,
// 3600 s) plus a minute: AWS asks targets to keep idle connections open longer
// than the load balancer does ("Application Load Balancers", connection idle
// timeout), or the load balancer may send a request on a connection the target
// is closing and answer 502.
const (
	ReadHeaderTimeout = 10 * time.Second
	IdleTimeout       = 3600*time.Second + time.Minute
)

// serveWithTimeouts replaces the body of distribution's `serve` command with
// one that sets the timeouts above. Registry 3.1's NewRegistry builds its
// http.Server with none and keeps it in an unexported field; rather than
// re-implement its handler chain, TLS and drain on SIGTERM (http.draintimeout),
// this sets the two fields on that server and then runs upstream's own
// ListenAndServe. If a release renames the field, the registry refuses to
// start (and TestSlowHeadersAreCut fails) instead of running without them.
func serveWithTimeouts(cmd *cobra.Command, args []string) {
	config, err := readConfiguration(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "configuration error: %v\n", err)
		_ = cmd.Usage()
		os.Exit(1)
	}
	reg, err := registry.NewRegistry(context.Background(), config)
	if err != nil {
		logrus.Fatalln(err)
	}
	srv, err := registryServer(reg)
	if err != nil {
		logrus.Fatalln(err)
	}
	srv.ReadHeaderTimeout, srv.IdleTimeout = ReadHeaderTimeout, IdleTimeout
	serveDebug(config)
	if err := reg.ListenAndServe(); err != nil {
		logrus.Fatalln(err)
	}
}

// registryServer is the *http.Server inside reg (its field "server").
func registryServer(reg *registry.Registry) (*http.Server, error) {
	f := reflect.ValueOf(reg).Elem().FieldByName("server")
	if !f.IsValid() || f.Type() != reflect.TypeOf((*http.Server)(nil)) || f.IsNil() {
		return nil, errors.New("registrymain: distribution's Registry no longer keeps its *http.Server in the field \"server\"; update registrymain/timeouts.go for this release")
	}
	return (*http.Server)(f.UnsafePointer()), nil
}

// readConfiguration is upstream's resolveConfiguration: the path argument,
// else REGISTRY_CONFIGURATION_PATH.
func readConfiguration(args []string) (*configuration.Configuration, error) {
	path := os.Getenv("REGISTRY_CONFIGURATION_PATH")
	if len(args) > 0 {
		path = args[0]
	}
	if path == "" {
		return nil, errors.New("configuration path unspecified")
	}
	fp, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fp.Close()
	config, err := configuration.Parse(fp)
	if err != nil {
		return nil, fmt.Errorf("error parsing %s: %v", path, err)
	}
	return config, nil
}

// serveDebug is upstream's configureDebugServer (health, metrics and pprof on
// http.DefaultServeMux), with the same header timeout: the load balancer's
// health checks send their requests at once too.
func serveDebug(config *configuration.Configuration) {
	if config.HTTP.Debug.Addr == "" {
		return
	}
	srv := &http.Server{Addr: config.HTTP.Debug.Addr, ReadHeaderTimeout: ReadHeaderTimeout, IdleTimeout: IdleTimeout}
	go func() {
		logrus.Infof("debug server listening %v", config.HTTP.Debug.Addr)
		if err := srv.ListenAndServe(); err != nil {
			logrus.Fatalf("error listening on debug interface: %v", err)
		}
	}()
	if config.HTTP.Debug.Prometheus.Enabled {
		path := config.HTTP.Debug.Prometheus.Path
		if path == "" {
			path = "/metrics"
		}
		logrus.Info("providing prometheus metrics on ", path)
		http.Handle(path, metrics.Handler())
	}
}
