package synapsestub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// DockerManifestMediaType is the media type Synapse compares target.mediaType
// with: only pushes of these manifests become commits.
const DockerManifestMediaType = "application/vnd.docker.distribution.manifest.v2+json"

// Event is a registry notification event, the fields Synapse reads and a few
// more for diagnostics.
type Event struct {
	ID        string    `json:"id"`
	Timestamp time.Time `json:"timestamp"`
	Action    string    `json:"action"`
	Target    struct {
		MediaType  string `json:"mediaType"`
		Digest     string `json:"digest"`
		Size       int64  `json:"size"`
		Length     int64  `json:"length"`
		Repository string `json:"repository"`
		URL        string `json:"url"`
		Tag        string `json:"tag"`
	} `json:"target"`
	Request struct {
		ID        string `json:"id"`
		Addr      string `json:"addr"`
		Host      string `json:"host"`
		Method    string `json:"method"`
		UserAgent string `json:"useragent"`
	} `json:"request"`
	Actor struct {
		Name string `json:"name"`
	} `json:"actor"`
	Source struct {
		Addr       string `json:"addr"`
		InstanceID string `json:"instanceID"`
	} `json:"source"`
}

// Envelope is the body of a notification POST.
type Envelope struct {
	Events []Event `json:"events"`
}

// Delivery is one notification POST as received.
type Delivery struct {
	Authorization string
	ContentType   string
	Events        []Event
	// Status is what the listener answered; Synapse answers an error for an
	// action it does not handle or a wrong Authorization.
	Status int
	// Reason explains a non-2xx Status.
	Reason string
}

// Commit is what Synapse records for a manifest push: a commit on the Docker
// repository entity named by the repository path under the project.
type Commit struct {
	ProjectID  string // "syn12345", the first path part
	Repository string // the full name, "syn12345/name"
	Tag        string
	Digest     string
	UserID     string // actor.name
	Host       string // request.host
}

// Receiver stands in for Synapse's registry-event listener.
type Receiver struct {
	// Auth is the expected base64 "user:password"; requests without
	// "Authorization: Basic <Auth>" are refused with 401.
	Auth string
	// Hosts, if set, are Synapse's configured registry hosts: manifest pushes
	// whose request.host is not one of them are not recorded. Set it before
	// serving, or with SetHosts.
	Hosts []string
	// Out, if set, receives one human-readable line per event (make local).
	Out io.Writer

	mu          sync.Mutex
	unavailable bool
	deliveries  []Delivery
	commits     []Commit
	changed     chan struct{}
}

// NewReceiver returns a receiver expecting the given Authorization credentials.
func NewReceiver(auth string) *Receiver {
	return &Receiver{Auth: auth, changed: make(chan struct{})}
}

// SetHosts replaces Hosts while the receiver may be serving.
func (r *Receiver) SetHosts(hosts ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Hosts = hosts
}

// SetUnavailable makes the listener answer 503 to everything, receiving and
// recording nothing, as during an outage of Synapse, until called with false.
func (r *Receiver) SetUnavailable(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unavailable = down
}

// ServeHTTP handles POSTed envelopes the way Synapse does.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.mu.Lock()
	down := r.unavailable
	r.mu.Unlock()
	if down {
		http.Error(w, "Synapse is unavailable (stand-in outage)", http.StatusServiceUnavailable)
		return
	}
	d := Delivery{Authorization: req.Header.Get("Authorization"), ContentType: req.Header.Get("Content-Type")}
	var env Envelope
	body, err := io.ReadAll(req.Body)
	if err == nil {
		err = json.Unmarshal(body, &env)
	}
	d.Events = env.Events
	var commits []Commit
	switch {
	case d.Authorization != "Basic "+r.Auth:
		d.Status, d.Reason = http.StatusUnauthorized, "wrong or missing Authorization"
	case err != nil:
		d.Status, d.Reason = http.StatusBadRequest, "cannot parse envelope: "+err.Error()
	default:
		d.Status = http.StatusOK
		r.mu.Lock()
		hosts := slices.Clone(r.Hosts)
		r.mu.Unlock()
		for _, e := range env.Events {
			c, verdict, ok := judge(e, hosts)
			if !ok && d.Status == http.StatusOK {
				d.Status, d.Reason = http.StatusBadRequest, verdict
			}
			if c != nil {
				commits = append(commits, *c)
			}
			r.print(e, verdict)
		}
		if d.Status != http.StatusOK {
			commits = nil // Synapse fails the whole batch
		}
	}
	if r.Out != nil {
		if d.Status != http.StatusOK {
			fmt.Fprintf(r.Out, "notification refused (%d): %s; Synapse records nothing of this request\n", d.Status, d.Reason)
		}
		for _, c := range commits {
			fmt.Fprintf(r.Out, "Synapse records: %s:%s @ %s in project %s, pushed by user %s\n", c.Repository, c.Tag, c.Digest, c.ProjectID, c.UserID)
		}
	}
	r.mu.Lock()
	r.deliveries = append(r.deliveries, d)
	r.commits = append(r.commits, commits...)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	if d.Status != http.StatusOK {
		http.Error(w, d.Reason, d.Status)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// judge applies Synapse's listener rules (docs/synapse.md) to one event. A
// push is recorded only if it is a Docker image manifest (any other media
// type, blobs included, is skipped), its request.host is a registry host of
// this Synapse (otherwise skipped silently), it carries a tag, its actor is a
// numeric user id and its repository is "synNNN/name"; the last three are
// errors for the whole request, not skips. Pulls and mounts are ignored; any
// other action is an error.
func judge(e Event, hosts []string) (commit *Commit, verdict string, ok bool) {
	switch e.Action {
	case "push":
		if e.Target.MediaType != DockerManifestMediaType {
			return nil, "ignored: push of " + e.Target.MediaType + " (not a Docker image manifest)", true
		}
		if len(hosts) > 0 && !slices.Contains(hosts, e.Request.Host) {
			return nil, fmt.Sprintf("ignored: request.host %q is not a registry host of this Synapse", e.Request.Host), true
		}
		if e.Target.Tag == "" {
			return nil, fmt.Sprintf("refused: manifest %s@%s was pushed without a tag, and a commit requires one", e.Target.Repository, e.Target.Digest), false
		}
		if !isNumeric(e.Actor.Name) {
			return nil, fmt.Sprintf("refused: actor.name %q is not a numeric Synapse user id", e.Actor.Name), false
		}
		project, name, _ := strings.Cut(e.Target.Repository, "/")
		if !isSynapseProject(project) || name == "" {
			return nil, fmt.Sprintf("refused: repository %q is not synNNN/name", e.Target.Repository), false
		}
		return &Commit{
			ProjectID: project, Repository: e.Target.Repository, Tag: e.Target.Tag,
			Digest: e.Target.Digest, UserID: e.Actor.Name, Host: e.Request.Host,
		}, "recorded as a commit", true
	case "pull", "mount":
		return nil, "ignored: " + e.Action, true
	default:
		return nil, fmt.Sprintf("refused: Synapse does not handle action %q", e.Action), false
	}
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func (r *Receiver) print(e Event, verdict string) {
	if r.Out == nil {
		return
	}
	ref := e.Target.Repository
	if e.Target.Tag != "" {
		ref += ":" + e.Target.Tag
	}
	if e.Target.Digest != "" {
		ref += "@" + e.Target.Digest
	}
	fmt.Fprintf(r.Out, "notification: %s %s (%s) by user %q via %s -> Synapse: %s\n",
		e.Action, ref, e.Target.MediaType, e.Actor.Name, e.Request.Host, verdict)
}

// Deliveries returns every POST received so far.
func (r *Receiver) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.deliveries)
}

// Events returns every event received so far, in order.
func (r *Receiver) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, d := range r.deliveries {
		out = append(out, d.Events...)
	}
	return out
}

// Commits returns what Synapse would have recorded so far (repository, tag,
// digest and who pushed it), after its rules: not what was received, which
// Events and Deliveries return.
func (r *Receiver) Commits() []Commit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.commits)
}

// Refused returns the deliveries Synapse would have answered with an error.
func (r *Receiver) Refused() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Delivery
	for _, d := range r.deliveries {
		if d.Status != http.StatusOK {
			out = append(out, d)
		}
	}
	return out
}

// WaitFor waits until cond holds for the events received so far, or ctx ends.
func (r *Receiver) WaitFor(ctx context.Context, cond func(events []Event) bool) ([]Event, error) {
	for {
		r.mu.Lock()
		ch := r.changed
		r.mu.Unlock()
		events := r.Events()
		if cond(events) {
			return events, nil
		}
		select {
		case <-ctx.Done():
			return events, fmt.Errorf("waiting for notifications: %w (received %d events)", ctx.Err(), len(events))
		case <-ch:
		}
	}
}

// WaitForCommit waits for a commit matching repository and digest.
func (r *Receiver) WaitForCommit(ctx context.Context, repository, digest string) (Commit, error) {
	for {
		r.mu.Lock()
		ch := r.changed
		commits := slices.Clone(r.commits)
		r.mu.Unlock()
		for _, c := range commits {
			if c.Repository == repository && c.Digest == digest {
				return c, nil
			}
		}
		select {
		case <-ctx.Done():
			return Commit{}, fmt.Errorf("waiting for the commit of %s@%s: %w (have %d commits)", repository, digest, ctx.Err(), len(commits))
		case <-ch:
		}
	}
}
