package image_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/image/relay"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synapsestub"
)

func envValue(env []string, name string) string {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v
		}
	}
	return ""
}

func ociImage(t *testing.T) v1.Image {
	t.Helper()
	img := mutate.MediaType(randomImage(t, 2048, 2), types.OCIManifestSchema1)
	return mutate.ConfigMediaType(img, types.OCIConfigJSON)
}

func index(t *testing.T, mt types.MediaType, images ...v1.Image) v1.ImageIndex {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, mt)
	for _, img := range images {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img})
	}
	return idx
}

func pushIndex(t *testing.T, ref string, idx v1.ImageIndex, tr http.RoundTripper) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx, registrytest.RemoteOptions(synapsestub.DevUser, tr, noRetry()...)...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
}

// Each of the four manifest formats today's clients push under a tag becomes
// a Synapse commit with that tag and a digest that pulls it; the platform
// manifests of the indexes, pushed by digest, are not sent (Synapse would
// refuse them) and nothing is refused or dead-lettered.
func TestFourFormatsRecorded(t *testing.T) {
	t.Parallel()
	sy := registrytest.StartSynapse(t)
	q := registrytest.StartQueue(t, 5)
	reg := registrytest.StartRegistry(t, registrytest.Options{Synapse: sy, Queue: q})
	sy.Notifications.SetHosts(reg.Host)
	tr := reg.Transport()

	docker := randomImage(t, 2048, 2)
	oci := ociImage(t)
	ociIndex := index(t, types.OCIImageIndex, ociImage(t), ociImage(t))
	dockerList := index(t, types.DockerManifestList, randomImage(t, 1024, 1), randomImage(t, 1024, 1))
	if err := push(t, reg.Host+"/"+repo+":docker", docker, synapsestub.DevUser, tr); err != nil {
		t.Fatal(err)
	}
	if err := push(t, reg.Host+"/"+repo+":oci", oci, synapsestub.DevUser, tr); err != nil {
		t.Fatal(err)
	}
	pushIndex(t, reg.Host+"/"+repo+":oci-index", ociIndex, tr)
	pushIndex(t, reg.Host+"/"+repo+":docker-list", dockerList, tr)

	idxDigest := func(idx v1.ImageIndex) v1.Hash {
		d, err := idx.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	want := map[string]v1.Hash{"docker": digestOf(t, docker), "oci": digestOf(t, oci), "oci-index": idxDigest(ociIndex), "docker-list": idxDigest(dockerList)}
	ctx := waitContext(t, 60*time.Second)
	for tag, d := range want {
		c, err := sy.Notifications.WaitForCommit(ctx, repo, d.String())
		if err != nil {
			t.Fatalf("%s: %v", tag, err)
		}
		if c.Tag != tag || c.UserID != synapsestub.DevUser.ID || c.Host != reg.Host {
			t.Errorf("%s recorded as %+v", tag, c)
		}
	}
	// Pull each by the recorded digest.
	opts := registrytest.RemoteOptions(synapsestub.DevUser, tr, noRetry()...)
	for _, tag := range []string{"docker", "oci"} {
		if got, err := pull(t, reg.Host+"/"+repo+"@"+want[tag].String(), synapsestub.DevUser, tr); err != nil || got != want[tag] {
			t.Errorf("pull %s by digest: %v %v", tag, got, err)
		}
	}
	for _, tag := range []string{"oci-index", "docker-list"} {
		ref, err := name.ParseReference(reg.Host + "/" + repo + "@" + want[tag].String())
		if err != nil {
			t.Fatal(err)
		}
		idx, err := remote.Index(ref, opts...)
		if err == nil {
			err = validate.Index(idx)
		}
		if err != nil {
			t.Errorf("pull %s by digest: %v", tag, err)
		}
	}
	if n := len(sy.Notifications.Commits()); n != 4 {
		t.Errorf("%d commits, want the 4 tagged pushes: %+v", n, sy.Notifications.Commits())
	}
	if r := sy.Notifications.Refused(); len(r) > 0 {
		t.Errorf("Synapse would have refused %+v", r)
	}
	if dl := q.DeadLetters(); len(dl) > 0 {
		t.Errorf("dead letters: %v", dl)
	}
}

// Synapse down, N pushes, the task stops, a new one starts, Synapse comes
// back: all N are recorded, each once, even though the queue delivers every
// message twice (at-least-once).
func TestOutageAndTaskStopLoseNothing(t *testing.T) {
	t.Parallel()
	sy := registrytest.StartSynapse(t)
	q := registrytest.StartQueue(t, 50)
	q.Server.DuplicateSends = true
	root := t.TempDir()
	sy.Notifications.SetUnavailable(true)
	first := registrytest.StartRegistry(t, registrytest.Options{Synapse: sy, Queue: q, FilesystemRoot: root})
	const n = 3
	var digests []v1.Hash
	for i := range n {
		img := randomImage(t, 1024, 1)
		if err := push(t, first.Host+"/"+repo+":outage-"+string(rune('a'+i)), img, synapsestub.DevUser, first.Transport()); err != nil {
			t.Fatal(err)
		}
		digests = append(digests, digestOf(t, img))
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(q.Server.Bodies(q.Name)) < 2*n && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := len(q.Server.Bodies(q.Name)); got < 2*n {
		t.Fatalf("%d messages queued, want %d (2 copies of %d events)", got, 2*n, n)
	}
	first.Stop()

	second := registrytest.StartRegistry(t, registrytest.Options{Synapse: sy, Queue: q, FilesystemRoot: root})
	sy.Notifications.SetUnavailable(false)
	ctx := waitContext(t, 60*time.Second)
	for _, d := range digests {
		if _, err := sy.Notifications.WaitForCommit(ctx, repo, d.String()); err != nil {
			t.Fatal(err)
		}
	}
	barrier := randomImage(t, 1024, 1)
	if err := push(t, second.Host+"/"+repo+":barrier", barrier, synapsestub.DevUser, second.Transport()); err != nil {
		t.Fatal(err)
	}
	if _, err := sy.Notifications.WaitForCommit(ctx, repo, digestOf(t, barrier).String()); err != nil {
		t.Fatal(err)
	}
	// Until the queue is empty, a duplicate could still arrive.
	for len(q.Server.Bodies(q.Name)) > 0 && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	count := map[string]int{}
	for _, c := range sy.Notifications.Commits() {
		count[c.Digest]++
	}
	for _, d := range append(digests, digestOf(t, barrier)) {
		if count[d.String()] != 1 {
			t.Errorf("%s recorded %d times, want once", d, count[d.String()])
		}
	}
}

// A push by digest (untagged) and an event of an unknown action are not
// sent to Synapse; the unknown action is kept in the dead-letter queue; an
// event Synapse refuses (a non-numeric actor) is retried and dead-lettered.
// None of them delays the record of the push after them.
func TestRefusedEventsDoNotDelayOthers(t *testing.T) {
	t.Parallel()
	sy := registrytest.StartSynapse(t)
	q := registrytest.StartQueue(t, 2)
	reg := registrytest.StartRegistry(t, registrytest.Options{Synapse: sy, Queue: q})
	tr := reg.Transport()

	untagged := randomImage(t, 1024, 1)
	if err := push(t, reg.Host+"/"+repo+"@"+digestOf(t, untagged).String(), untagged, synapsestub.DevUser, tr); err != nil {
		t.Fatal(err)
	}
	relayURL := "http://" + envValue(reg.Env, registryconfig.EnvRelayAddr) + "/events"
	post := func(events ...map[string]any) {
		b, _ := json.Marshal(map[string]any{"events": events})
		req, _ := http.NewRequest(http.MethodPost, relayURL, bytes.NewReader(b))
		req.Header.Set("Authorization", "Basic "+sy.NotificationAuth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("relay answered %d", resp.StatusCode)
		}
	}
	post(map[string]any{"id": "unknown-1", "action": "frobnicate", "target": map[string]any{"repository": repo}})
	post(map[string]any{"id": "bad-actor-1", "action": "push", "actor": map[string]any{"name": "not-a-user-id"},
		"target": map[string]any{"mediaType": synapsestub.DockerManifestMediaType, "repository": repo, "tag": "x", "digest": "sha256:" + strings.Repeat("0", 64)}})

	next := randomImage(t, 1024, 1)
	if err := push(t, reg.Host+"/"+repo+":next", next, synapsestub.DevUser, tr); err != nil {
		t.Fatal(err)
	}
	// The relay's first retry is a second away and the refused event is
	// retried for several: the next push must not wait for any of that.
	start := time.Now()
	if _, err := sy.Notifications.WaitForCommit(waitContext(t, 10*time.Second), repo, digestOf(t, next).String()); err != nil {
		t.Fatal(err)
	}
	t.Logf("next push recorded %v after its push returned", time.Since(start))

	ctx := waitContext(t, 30*time.Second)
	for ctx.Err() == nil && len(q.DeadLetters()) < 2 {
		time.Sleep(100 * time.Millisecond)
	}
	dl := strings.Join(q.DeadLetters(), "\n")
	if !strings.Contains(dl, "unknown-1") || !strings.Contains(dl, "bad-actor-1") {
		t.Errorf("dead-letter queue holds %q, want the unknown action and the refused push", dl)
	}
	for _, e := range sy.Notifications.Events() {
		if e.Action != "push" || e.Target.Tag == "" {
			t.Errorf("Synapse was sent %s of %s@%s (tag %q)", e.Action, e.Target.Repository, e.Target.Digest, e.Target.Tag)
		}
	}
	if c := sy.Notifications.Commits(); len(c) != 1 {
		t.Errorf("commits %+v, want only the tagged push", c)
	}
}

// relayPID is the process id of the relay the instance runs now: the last
// "notification relay started" line of its log.
func relayPID(t *testing.T, reg *registrytest.Registry) int {
	t.Helper()
	pid := 0
	for _, l := range reg.Logs() {
		var e struct {
			Msg string `json:"msg"`
			PID int    `json:"pid"`
		}
		if json.Unmarshal([]byte(l), &e) == nil && e.Msg == "notification relay started" {
			pid = e.PID
		}
	}
	if pid == 0 {
		t.Fatal("the relay never logged its start")
	}
	return pid
}

// The relay process crashes (SIGKILL, no chance to clean up) while the
// registry runs: it is restarted, the restart is logged for the alarm, and
// the pushes made while it was down reach Synapse, each exactly once, through
// the registry's retries.
func TestRelayCrashLosesNothing(t *testing.T) {
	t.Parallel()
	sy := registrytest.StartSynapse(t)
	q := registrytest.StartQueue(t, 5)
	reg := registrytest.StartRegistry(t, registrytest.Options{Synapse: sy, Queue: q})
	tr := reg.Transport()
	ctx := waitContext(t, 120*time.Second)

	before := randomImage(t, 1024, 1)
	if err := push(t, reg.Host+"/"+repo+":before-crash", before, synapsestub.DevUser, tr); err != nil {
		t.Fatal(err)
	}
	if _, err := sy.Notifications.WaitForCommit(ctx, repo, digestOf(t, before).String()); err != nil {
		t.Fatal(err)
	}
	for len(q.Server.Bodies(q.Name)) > 0 && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond) // nothing in delivery when the relay dies
	}

	crashed := relayPID(t, reg)
	if err := syscall.Kill(crashed, syscall.SIGKILL); err != nil {
		t.Fatalf("killing the relay (pid %d): %v", crashed, err)
	}
	digests := []v1.Hash{digestOf(t, before)}
	for i := range 3 {
		img := randomImage(t, 1024, 1)
		if err := push(t, reg.Host+"/"+repo+":during-crash-"+string(rune('a'+i)), img, synapsestub.DevUser, tr); err != nil {
			t.Fatal(err)
		}
		digests = append(digests, digestOf(t, img))
	}
	killed := time.Now()
	for _, d := range digests[1:] {
		if _, err := sy.Notifications.WaitForCommit(ctx, repo, d.String()); err != nil {
			t.Fatalf("push made while the relay was down never recorded: %v", err)
		}
	}
	t.Logf("pushes made while the relay was down recorded %v after the last of them", time.Since(killed))
	for len(q.Server.Bodies(q.Name)) > 0 && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	count := map[string]int{}
	for _, c := range sy.Notifications.Commits() {
		count[c.Digest]++
	}
	for _, d := range digests {
		if count[d.String()] != 1 {
			t.Errorf("%s recorded %d times, want once", d, count[d.String()])
		}
	}
	if now := relayPID(t, reg); now == crashed {
		t.Errorf("the relay still has pid %d", now)
	}
	// What the stack's metric filter (infra.RelayRestartsPattern) counts.
	logged := false
	for _, l := range reg.Logs() {
		var e map[string]any
		if json.Unmarshal([]byte(l), &e) == nil && e["component"] == "notification-relay" && e["msg"] == relay.RestartedMsg {
			n, _ := e[relay.RestartsField].(float64)
			logged = logged || n >= 1
		}
	}
	if !logged {
		t.Error("the restart was not logged as the stack's alarm counts it")
	}
}
