package registryconfig

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"
)

// RelayArg is the hidden argument that makes the entrypoint binary run as the
// notification relay's supervisor (image/relay, Supervise), which runs the
// relay and restarts it if it exits. The entrypoint starts a copy of itself
// with it before exec'ing the registry, when
// SYNAPSE_REGISTRY_NOTIFICATION_QUEUE_URL is set, and points the registry's
// notification endpoint at the relay.
const RelayArg = "--internal-notification-relay"

// RelayConfig is what the relay is started with: one JSON line on its stdin
// (never its environment, which would show the notification secret in
// /proc/<pid>/environ). The supervisor then reads stdin until EOF: the write
// end is held by the registry, so EOF means the registry has exited.
type RelayConfig struct {
	// ListenAddr is where the registry's events arrive (loopback only).
	ListenAddr string `json:"listenAddr"`
	// NotificationURL and NotificationAuth are Synapse's listener and the
	// credentials of SYNAPSE_REGISTRY_NOTIFICATION_URL and _AUTH.
	NotificationURL  string `json:"notificationURL"`
	NotificationAuth string `json:"notificationAuth"`
	// QueueURL and DeadLetterQueueURL are the SQS queues.
	QueueURL           string `json:"queueURL"`
	DeadLetterQueueURL string `json:"deadLetterQueueURL"`
	// SQSEndpoint overrides AWS's endpoint (tests, local runs).
	SQSEndpoint string `json:"sqsEndpoint,omitempty"`
	// Region is the queues' region, from the queue URL.
	Region string `json:"region"`
	// RetryBase is the first backoff after a failed delivery.
	RetryBase time.Duration `json:"retryBase"`
}

// Relay returns the relay's configuration, or nil when notifications go to
// Synapse directly (no queue configured).
func (s *Settings) Relay() *RelayConfig {
	if s.NotificationQueueURL == "" {
		return nil
	}
	return &RelayConfig{
		ListenAddr:         s.RelayAddr,
		NotificationURL:    s.NotificationURL,
		NotificationAuth:   s.NotificationAuth,
		QueueURL:           s.NotificationQueueURL,
		DeadLetterQueueURL: s.NotificationDLQURL,
		SQSEndpoint:        s.SQSEndpoint,
		Region:             queueRegion(s.NotificationQueueURL),
		RetryBase:          s.NotificationRetry,
	}
}

// RelayURL is where the registry sends its events when the relay runs.
func (c *RelayConfig) RelayURL() string { return "http://" + c.ListenAddr + "/events" }

// queueRegion reads the region from https://sqs.<region>.amazonaws.com/...;
// stand-in URLs get us-east-1.
func queueRegion(queueURL string) string {
	u, err := url.Parse(queueURL)
	if err == nil {
		parts := strings.Split(u.Hostname(), ".")
		if len(parts) >= 3 && parts[0] == "sqs" {
			return parts[1]
		}
	}
	return "us-east-1"
}

// startRelay starts the relay as a copy of this executable and returns the
// write end of its stdin, which must stay open (in the registry) for as long
// as the relay is to run.
func startRelay(c *RelayConfig) (*os.File, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, RelayArg)
	cmd.Stdin = r
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	cmd.Env = relayEnv(os.Environ())
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	r.Close()
	b, _ := json.Marshal(c)
	if _, err := w.Write(append(b, '\n')); err != nil {
		w.Close()
		return nil, fmt.Errorf("sending the relay its configuration: %w", err)
	}
	return w, nil
}

// relayEnv is the relay's environment: this one without SYNAPSE_REGISTRY_*
// (the secrets among them); AWS_* stays for the SDK's credential chain.
func relayEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		if !strings.HasPrefix(kv, Prefix) {
			out = append(out, kv)
		}
	}
	return out
}
