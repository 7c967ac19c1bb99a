// Command local runs the image's entrypoint and registry on this machine (`make
// local`): TLS on localhost, filesystem storage under a local folder, a stand-in
// Synapse token service that issues tokens exactly like Synapse's for documented
// development users, and a notification receiver that prints what Synapse would
// receive. Every default is only a default: a SYNAPSE_REGISTRY_* variable set in
// the environment wins, so the same command runs against a real Synapse stack.
//
// It expects the entrypoint and registry (image/registry) binaries next to itself; `make
// local` builds all three into build/local/bin.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/sqstest"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synapsestub"
)

// Defaults of the local run.
const (
	defaultListen     = "localhost:5000"
	defaultHealth     = "localhost:5001"
	defaultTokenAddr  = "localhost:5002"
	defaultNotifyAddr = "localhost:5003"
	localHTTPSecret   = "local-development-http-secret-never-used-in-a-stack"
)

var localNotificationAuth = base64.StdEncoding.EncodeToString([]byte("registry:local-notification-password"))

func main() {
	dir := flag.String("dir", "build/local", "folder for image data (storage/) and the entrypoint's scratch files (scratch/)")
	tokenAddr := flag.String("token-addr", defaultTokenAddr, "listen address of the stand-in Synapse token service (HTTPS)")
	notifyAddr := flag.String("notify-addr", defaultNotifyAddr, "listen address of the notification printer (HTTP)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [flags]\n\nRuns the registry image's entrypoint and registry locally; see image/README.md.\nSYNAPSE_REGISTRY_* variables in the environment override the local defaults.\n\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*dir, *tokenAddr, *notifyAddr); err != nil {
		fmt.Fprintln(os.Stderr, "make local:", err)
		os.Exit(1)
	}
}

func run(dir, tokenAddr, notifyAddr string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bin := filepath.Dir(self)
	entrypoint := filepath.Join(bin, "entrypoint")
	if _, err := os.Stat(entrypoint); err != nil {
		return fmt.Errorf("no entrypoint binary next to this one (%v); run make local", err)
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return err
	}

	set := func(name string) bool { return strings.TrimSpace(os.Getenv(name)) != "" }
	env := map[string]string{}
	def := func(name, value string) {
		if !set(name) {
			env[name] = value
		}
	}
	def(registryconfig.EnvListenAddr, defaultListen)
	def(registryconfig.EnvHealthAddr, defaultHealth)
	listen := firstSet(os.Getenv(registryconfig.EnvListenAddr), defaultListen)
	health := firstSet(os.Getenv(registryconfig.EnvHealthAddr), defaultHealth)
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("%s=%q: %v", registryconfig.EnvListenAddr, listen, err)
	}
	service := firstSet(os.Getenv(registryconfig.EnvTokenService), "localhost:"+port)
	def(registryconfig.EnvTokenService, service)
	def(registryconfig.EnvTokenIssuer, synapsestub.DefaultIssuer)
	def(registryconfig.EnvHTTPSecret, localHTTPSecret)
	def(registryconfig.EnvScratchDir, filepath.Join(dir, "scratch"))
	def(registryconfig.EnvBinary, filepath.Join(bin, "registry"))
	if !set(registryconfig.EnvStorage) || strings.EqualFold(os.Getenv(registryconfig.EnvStorage), registryconfig.StorageFilesystem) {
		def(registryconfig.EnvStorage, registryconfig.StorageFilesystem)
		def(registryconfig.EnvFilesystemRoot, filepath.Join(dir, "storage"))
	}

	var notes []string
	// The certificates a verifying client (crane, podman) must trust: the stand-in token
	// service's and, once it has started, the registry's (both self-signed, new each start).
	var trusted []byte
	// The stand-in token service, unless a realm (a real Synapse) is given.
	if !set(registryconfig.EnvTokenRealm) {
		key, err := synapsestub.NewSigningKey()
		if err != nil {
			return err
		}
		tokens := synapsestub.NewTokenService(key, synapsestub.DevUser, synapsestub.ReaderUser)
		tokens.Services = []string{service}
		srv, err := synapsestub.ServeTLS(tokenAddr, tokens)
		if err != nil {
			return fmt.Errorf("starting the stand-in token service on %s: %w (use -token-addr)", tokenAddr, err)
		}
		defer srv.Close()
		trusted = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate.Raw})
		_, tport, _ := net.SplitHostPort(srv.Addr().String())
		env[registryconfig.EnvTokenRealm] = "https://localhost:" + tport + synapsestub.TokenPath
		if set(registryconfig.EnvTokenCertificates) {
			notes = append(notes, "warning: "+registryconfig.EnvTokenCertificates+" is set but "+registryconfig.EnvTokenRealm+" is not: the stand-in's tokens will not verify")
		} else {
			env[registryconfig.EnvTokenCertificates] = string(key.CertificatePEM)
		}
		notes = append(notes,
			"token service:  "+env[registryconfig.EnvTokenRealm]+" (Synapse stand-in, ES256, kid "+key.KeyID+")",
			fmt.Sprintf("users:          %s / %s (pull and push on every synNNN/... repository; personal access token %s)", synapsestub.DevUser.Name, synapsestub.DevUser.Password, synapsestub.DevUser.PersonalAccessToken),
			fmt.Sprintf("                %s / %s (pull only)", synapsestub.ReaderUser.Name, synapsestub.ReaderUser.Password))
	} else {
		notes = append(notes, "token service:  "+os.Getenv(registryconfig.EnvTokenRealm))
	}
	// The notification printer, unless a listener URL is given.
	if !set(registryconfig.EnvNotificationURL) {
		auth := firstSet(os.Getenv(registryconfig.EnvNotificationAuth), localNotificationAuth)
		def(registryconfig.EnvNotificationAuth, auth)
		receiver := synapsestub.NewReceiver(auth)
		receiver.Hosts = []string{"localhost:" + port}
		receiver.Out = os.Stdout
		srv, err := synapsestub.Serve(notifyAddr, receiver)
		if err != nil {
			return fmt.Errorf("starting the notification printer on %s: %w (use -notify-addr)", notifyAddr, err)
		}
		defer srv.Close()
		env[registryconfig.EnvNotificationURL] = srv.URL + "/dockerRegistryListener/v1/events"
		notes = append(notes, "notifications:  printed here as Synapse would receive and judge them, and what it records ("+env[registryconfig.EnvNotificationURL]+")")
	} else {
		def(registryconfig.EnvNotificationAuth, localNotificationAuth)
		notes = append(notes, "notifications:  "+os.Getenv(registryconfig.EnvNotificationURL))
	}

	// The relay and an in-process SQS stand-in, as in the task, unless a queue is given: then
	// OCI manifests, indexes and manifest lists are recorded as in the stack.
	if !set(registryconfig.EnvNotificationQueue) {
		queues, err := sqstest.Start()
		if err != nil {
			return fmt.Errorf("starting the SQS stand-in: %w", err)
		}
		defer queues.Close()
		queueURL, dlqURL := queues.CreateQueues("registry-notifications", 30*time.Second, 5)
		env[registryconfig.EnvNotificationQueue] = queueURL
		env[registryconfig.EnvNotificationDLQ] = dlqURL
		env[registryconfig.EnvSQSEndpoint] = queues.URL
		def(registryconfig.EnvNotificationRetry, "1s")
		// The SDK signs every request; the stand-in does not check the keys.
		def("AWS_ACCESS_KEY_ID", "local")
		def("AWS_SECRET_ACCESS_KEY", "local")
		if !set(registryconfig.EnvRelayAddr) {
			addr, err := freeLoopbackAddr()
			if err != nil {
				return err
			}
			env[registryconfig.EnvRelayAddr] = addr
		}
		notes = append(notes, "queue:          "+queueURL+" (SQS stand-in; the relay on "+firstSet(os.Getenv(registryconfig.EnvRelayAddr), env[registryconfig.EnvRelayAddr])+" delivers from it)")
	}

	cmd := exec.Command(entrypoint)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr

	storage := "filesystem " + firstSet(os.Getenv(registryconfig.EnvFilesystemRoot), env[registryconfig.EnvFilesystemRoot])
	if s := firstSet(os.Getenv(registryconfig.EnvStorage), env[registryconfig.EnvStorage]); s != registryconfig.StorageFilesystem {
		storage = s + " bucket " + os.Getenv(registryconfig.EnvS3Bucket)
	}
	host := "localhost:" + port
	fmt.Fprintf(os.Stderr, "\nmake local: the image's entrypoint and registry on this machine\n")
	fmt.Fprintf(os.Stderr, "  registry:       https://%s (self-signed TLS, service %s)\n", host, service)
	fmt.Fprintf(os.Stderr, "  health:         http://%s/debug/health, metrics http://%s/metrics\n", health, health)
	for _, n := range notes {
		fmt.Fprintf(os.Stderr, "  %s\n", n)
	}
	fmt.Fprintf(os.Stderr, "  storage:        %s\n", storage)
	fmt.Fprintf(os.Stderr, "  try:            docker login %s -u %s -p %s\n", host, synapsestub.DevUser.Name, synapsestub.DevUser.Password)
	fmt.Fprintf(os.Stderr, "                  docker tag alpine %s/syn12345/alpine:latest && docker push %s/syn12345/alpine:latest\n", host, host)
	fmt.Fprintf(os.Stderr, "  Ctrl-C stops.\n\n")

	bundle := filepath.Join(dir, "certs.pem")
	registryCert := filepath.Join(firstSet(os.Getenv(registryconfig.EnvScratchDir), env[registryconfig.EnvScratchDir]), registryconfig.TLSCertFile)
	if err := os.Remove(bundle); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go announceReady(health, host, func() {
		if err := writeTrustBundle(bundle, registryCert, trusted); err != nil {
			fmt.Fprintf(os.Stderr, "make local: writing %s: %v\n", bundle, err)
			return
		}
		fmt.Fprintf(os.Stderr, "  crane and podman verify TLS (docker trusts localhost): trust %s, rewritten at each start:\n", bundle)
		fmt.Fprintf(os.Stderr, "    SSL_CERT_FILE=%s crane auth login %s -u %s -p %s   (or crane --insecure)\n", bundle, host, synapsestub.DevUser.Name, synapsestub.DevUser.Password)
		fmt.Fprintf(os.Stderr, "    sudo install -D -m 0644 %s /etc/containers/certs.d/%s/ca.crt   (or podman --tls-verify=false)\n\n", bundle, host)
	})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		for s := range sigs {
			// A terminal's Ctrl-C reaches the whole process group already;
			// forward SIGTERM (and Ctrl-C from elsewhere) to the registry.
			_ = cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	signal.Stop(sigs)
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() < 0) {
		return fmt.Errorf("the entrypoint exited: %w", err)
	}
	return nil
}

func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// writeTrustBundle writes to path the registry's certificate (the PEM file the entrypoint
// wrote) followed by the other certificates a client must trust (PEM).
func writeTrustBundle(path, registryCert string, others []byte) error {
	cert, err := os.ReadFile(registryCert)
	if err != nil {
		return fmt.Errorf("the registry's certificate: %w", err)
	}
	if block, _ := pem.Decode(cert); block == nil || block.Type != "CERTIFICATE" {
		return fmt.Errorf("%s holds no PEM certificate", registryCert)
	}
	return os.WriteFile(path, append(bytes.TrimSpace(cert), append([]byte("\n"), others...)...), 0o644)
}

func announceReady(healthAddr, host string, ready func()) {
	url := "http://" + healthAddr + "/debug/health"
	client := &http.Client{Timeout: time.Second}
	for range 120 {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				fmt.Fprintf(os.Stderr, "\nmake local: ready — docker login %s -u %s -p %s\n", host, synapsestub.DevUser.Name, synapsestub.DevUser.Password)
				ready()
				return
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func firstSet(values ...string) string {
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
