// Package relay is the notification relay that runs in the registry's task
// (docs/synapse.md, "The notification relay"). The registry posts its events to
// it on the loopback interface; it enqueues each event to SQS and answers the
// registry only once SQS has accepted them, so a task stop or a Synapse outage
// loses nothing. A consumer receives the events from the queue, maps them to
// what Synapse records and posts them to Synapse's listener one at a time,
// deleting each message only after Synapse answered 2xx. A failed delivery
// comes back after a growing visibility timeout; after the queue's
// maxReceiveCount it lands in the dead-letter queue. Events Synapse can never
// accept (unknown actions) go to the dead-letter queue at once. No event waits
// behind another.
package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/sqs"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
)

// Media types of the manifests a push can carry.
const (
	DockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	OCIManifest        = "application/vnd.oci.image.manifest.v1+json"
	OCIIndex           = "application/vnd.oci.image.index.v1+json"
	// EventsMediaType is the Content-Type of a notification envelope.
	EventsMediaType = "application/vnd.docker.distribution.events.v2+json"
)

// Decision is what the relay does with one event.
type Decision int

const (
	// Deliver: post the (mapped) event to Synapse.
	Deliver Decision = iota
	// Drop: Synapse records nothing for it (blobs, pulls, mounts, untagged
	// manifests); delete it.
	Drop
	// DeadLetter: Synapse would refuse it whatever happens; keep it, visibly.
	DeadLetter
)

// event is the part of a registry event the relay reads.
type event struct {
	ID     string `json:"id"`
	Action string `json:"action"`
	Target struct {
		MediaType  string `json:"mediaType"`
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
		Digest     string `json:"digest"`
	} `json:"target"`
}

// Map decides what to do with a raw registry event and, for Deliver, returns
// the event to send Synapse: a tagged push of a Docker image manifest as is;
// a tagged push of an OCI image manifest, an OCI index or a Docker manifest
// list with target.mediaType set to the Docker image manifest type and every
// other field (the digest above all) unchanged. Synapse stores only the
// repository, tag and digest of a commit, and that digest pulls the image
// whatever its format, so the rewritten type changes nothing but whether it
// is recorded (docs/synapse.md).
func Map(raw []byte) (Decision, []byte, string) {
	var e event
	if err := json.Unmarshal(raw, &e); err != nil {
		return DeadLetter, nil, "not a registry event: " + err.Error()
	}
	switch e.Action {
	case "pull", "mount":
		return Drop, nil, e.Action + ": Synapse ignores it"
	case "push":
	default:
		return DeadLetter, nil, fmt.Sprintf("action %q: Synapse answers an error for any action but push, pull and mount", e.Action)
	}
	switch e.Target.MediaType {
	case DockerManifest, OCIManifest, OCIIndex, DockerManifestList:
	default:
		return Drop, nil, "push of " + e.Target.MediaType + ": not a manifest"
	}
	if e.Target.Tag == "" {
		return Drop, nil, "manifest pushed without a tag (a platform manifest of a multi-platform push, or a push by digest): a Synapse commit needs a tag"
	}
	if e.Target.MediaType == DockerManifest {
		return Deliver, raw, "tagged Docker image manifest"
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return DeadLetter, nil, err.Error()
	}
	target, _ := m["target"].(map[string]any)
	target["mediaType"] = DockerManifest
	out, err := json.Marshal(m)
	if err != nil {
		return DeadLetter, nil, err.Error()
	}
	return Deliver, out, "tagged " + e.Target.MediaType + ", sent as a Docker image manifest with the same digest"
}

// Relay is a running relay.
type Relay struct {
	cfg    registryconfig.RelayConfig
	sqs    *sqs.SQS
	client *http.Client
	log    *logger
	// WaitTime is the long-poll wait of each receive (at most 20 s).
	WaitTime time.Duration
	// RetryBase and RetryMax bound the visibility-timeout backoff of a failed
	// delivery: RetryBase × 2^(receives−1), at most RetryMax.
	RetryBase, RetryMax time.Duration

	mu        sync.Mutex
	delivered map[string]bool // event ids delivered to Synapse by this task
	inFlight  map[string]bool
	order     []string
}

// maxRemembered bounds the delivered-id memory (duplicates SQS delivers come
// within seconds, not after thousands of pushes).
const maxRemembered = 10000

// New returns a relay for cfg, logging JSON lines to logw.
func New(cfg registryconfig.RelayConfig, logw io.Writer) (*Relay, error) {
	awsCfg := aws.NewConfig().WithRegion(cfg.Region)
	if cfg.SQSEndpoint != "" {
		awsCfg = awsCfg.WithEndpoint(cfg.SQSEndpoint)
	}
	sess, err := session.NewSession(awsCfg)
	if err != nil {
		return nil, err
	}
	return &Relay{
		cfg: cfg, sqs: sqs.New(sess), client: &http.Client{Timeout: 30 * time.Second},
		log: &logger{w: logw}, WaitTime: 20 * time.Second, RetryBase: max(cfg.RetryBase, time.Second), RetryMax: 15 * time.Minute,
		delivered: map[string]bool{}, inFlight: map[string]bool{},
	}, nil
}

// ServeHTTP takes an envelope from the registry and answers 200 only once
// every event of it is in the queue; otherwise 503, and the registry retries.
func (r *Relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST the registry's event envelope", http.StatusMethodNotAllowed)
		return
	}
	if req.Header.Get("Authorization") != "Basic "+r.cfg.NotificationAuth {
		http.Error(w, "wrong or missing Authorization", http.StatusUnauthorized)
		return
	}
	var env struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.NewDecoder(req.Body).Decode(&env); err != nil {
		http.Error(w, "cannot parse the envelope: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := r.Enqueue(req.Context(), env.Events); err != nil {
		r.log.line("error", "enqueueing the registry's events failed; the registry will retry", map[string]any{"error": err.Error(), "events": len(env.Events)})
		http.Error(w, "cannot enqueue: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// Enqueue sends events to the queue, ten per batch (SQS's limit).
func (r *Relay) Enqueue(ctx context.Context, events []json.RawMessage) error {
	for start := 0; start < len(events); start += 10 {
		batch := events[start:min(start+10, len(events))]
		in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(r.cfg.QueueURL)}
		for i, e := range batch {
			in.Entries = append(in.Entries, &sqs.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(e))})
		}
		out, err := r.sqs.SendMessageBatchWithContext(ctx, in)
		if err != nil {
			return err
		}
		if len(out.Failed) > 0 {
			return fmt.Errorf("SQS refused %d of %d events: %s", len(out.Failed), len(batch), aws.StringValue(out.Failed[0].Message))
		}
	}
	return nil
}

// Consume receives and delivers events until ctx ends.
func (r *Relay) Consume(ctx context.Context) {
	for ctx.Err() == nil {
		out, err := r.sqs.ReceiveMessageWithContext(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(r.cfg.QueueURL),
			MaxNumberOfMessages:         aws.Int64(10),
			WaitTimeSeconds:             aws.Int64(int64(r.WaitTime / time.Second)),
			MessageSystemAttributeNames: []*string{aws.String(sqs.MessageSystemAttributeNameApproximateReceiveCount)},
		})
		if err != nil {
			if ctx.Err() == nil {
				r.log.line("error", "receiving from the notification queue failed", map[string]any{"error": err.Error()})
				sleep(ctx, 5*time.Second)
			}
			continue
		}
		// Each message on its own: a slow or refused one never holds back the rest.
		var wg sync.WaitGroup
		for _, m := range out.Messages {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.handle(ctx, m)
			}()
		}
		wg.Wait()
	}
}

func (r *Relay) handle(ctx context.Context, m *sqs.Message) {
	body := []byte(aws.StringValue(m.Body))
	decision, mapped, why := Map(body)
	var e event
	_ = json.Unmarshal(body, &e)
	fields := map[string]any{"event": e.ID, "action": e.Action, "repository": e.Target.Repository, "tag": e.Target.Tag,
		"digest": e.Target.Digest, "mediaType": e.Target.MediaType, "reason": why}
	switch decision {
	case Drop:
		r.log.line("info", "notification not sent to Synapse", fields)
		r.delete(ctx, m)
	case DeadLetter:
		if _, err := r.sqs.SendMessageWithContext(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(r.cfg.DeadLetterQueueURL), MessageBody: m.Body}); err != nil {
			r.log.line("error", "moving a refused notification to the dead-letter queue failed; it stays queued", map[string]any{"error": err.Error(), "event": e.ID})
			return
		}
		r.log.line("warning", "notification Synapse would refuse moved to the dead-letter queue", fields)
		r.delete(ctx, m)
	case Deliver:
		switch r.claim(e.ID) {
		case delivered:
			r.log.line("info", "duplicate of a delivered notification dropped", fields)
			r.delete(ctx, m)
			return
		case inFlight:
			// Another copy is being delivered: look again after the backoff.
			r.retryLater(ctx, m, 1)
			return
		}
		if err := r.post(ctx, mapped); err != nil {
			r.release(e.ID)
			receives, _ := strconv.Atoi(aws.StringValue(m.Attributes[sqs.MessageSystemAttributeNameApproximateReceiveCount]))
			retry := r.backoff(receives)
			fields["error"], fields["receives"], fields["retryIn"] = err.Error(), receives, retry.String()
			r.log.line("error", "delivering a notification to Synapse failed; retrying after the backoff, dead-lettered after the queue's maxReceiveCount", fields)
			r.retryLater(ctx, m, receives)
			return
		}
		r.remember(e.ID)
		r.log.line("info", "notification delivered to Synapse", fields)
		r.delete(ctx, m)
	}
}

// retryLater hides the message for the backoff of its receives-th attempt.
func (r *Relay) retryLater(ctx context.Context, m *sqs.Message, receives int) {
	_, _ = r.sqs.ChangeMessageVisibilityWithContext(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(r.cfg.QueueURL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: aws.Int64(int64(r.backoff(receives) / time.Second)),
	})
}

func (r *Relay) backoff(receives int) time.Duration {
	d := r.RetryBase
	for i := 1; i < receives && d < r.RetryMax; i++ {
		d *= 2
	}
	return max(min(d, r.RetryMax), time.Second)
}

func (r *Relay) post(ctx context.Context, e []byte) error {
	body, _ := json.Marshal(map[string][]json.RawMessage{"events": {e}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.NotificationURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", EventsMediaType)
	req.Header.Set("Authorization", "Basic "+r.cfg.NotificationAuth)
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("synapse answered %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

func (r *Relay) delete(ctx context.Context, m *sqs.Message) {
	if _, err := r.sqs.DeleteMessageWithContext(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(r.cfg.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
		r.log.line("error", "deleting a handled notification failed; it may be handled again", map[string]any{"error": err.Error()})
	}
}

type claimState int

const (
	claimed claimState = iota
	inFlight
	delivered
)

// claim marks event id as being delivered, unless a copy was delivered by
// this relay or is being delivered now (SQS delivers at least once).
func (r *Relay) claim(id string) claimState {
	if id == "" {
		return claimed
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.delivered[id] {
		return delivered
	}
	if r.inFlight[id] {
		return inFlight
	}
	r.inFlight[id] = true
	return claimed
}

func (r *Relay) release(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.inFlight, id)
}

func (r *Relay) remember(id string) {
	if id == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.inFlight, id)
	r.delivered[id] = true
	r.order = append(r.order, id)
	if len(r.order) > maxRemembered {
		delete(r.delivered, r.order[0])
		r.order = r.order[1:]
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

type logger struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *logger) line(level, msg string, fields map[string]any) {
	entry := map[string]any{"time": time.Now().UTC().Format(time.RFC3339Nano), "level": level, "msg": msg, "component": "notification-relay"}
	for k, v := range fields {
		entry[k] = v
	}
	b, _ := json.Marshal(entry)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(append(b, '\n'))
}
