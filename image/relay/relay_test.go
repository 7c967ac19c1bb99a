package relay

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/sqstest"
)

func TestMap(t *testing.T) {
	ev := func(action, mediaType, tag string) []byte {
		b, _ := json.Marshal(map[string]any{"id": "e", "action": action,
			"target":  map[string]any{"mediaType": mediaType, "tag": tag, "digest": "sha256:ab", "repository": "syn1/a", "size": 7},
			"request": map[string]any{"host": "docker.synapse.org"}, "actor": map[string]any{"name": "42"}})
		return b
	}
	for _, c := range []struct {
		raw  []byte
		want Decision
	}{
		{ev("push", DockerManifest, "v1"), Deliver},
		{ev("push", OCIManifest, "v1"), Deliver},
		{ev("push", OCIIndex, "v1"), Deliver},
		{ev("push", DockerManifestList, "v1"), Deliver},
		{ev("push", DockerManifest, ""), Drop},
		{ev("push", OCIIndex, ""), Drop},
		{ev("push", "application/octet-stream", ""), Drop},
		{ev("pull", DockerManifest, "v1"), Drop},
		{ev("mount", "", ""), Drop},
		{ev("delete", DockerManifest, "v1"), DeadLetter},
		{ev("frobnicate", "", ""), DeadLetter},
		{[]byte("not json"), DeadLetter},
	} {
		got, out, why := Map(c.raw)
		if got != c.want {
			t.Errorf("%s: %v (%s), want %v", c.raw, got, why, c.want)
			continue
		}
		if got != Deliver {
			continue
		}
		// Sent as a Docker image manifest, everything else as it was.
		var in, sent map[string]any
		json.Unmarshal(c.raw, &in)
		json.Unmarshal(out, &sent)
		in["target"].(map[string]any)["mediaType"] = DockerManifest
		a, _ := json.Marshal(in)
		b, _ := json.Marshal(sent)
		if !bytes.Equal(a, b) {
			t.Errorf("sent %s, want %s", b, a)
		}
	}
}

// The registry's POST is answered 200 only once SQS holds the events; with SQS
// unreachable the answer is 503, so the registry keeps them and retries.
func TestIntakeAcknowledgesOnlyWhatSQSAccepted(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	srv, err := sqstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	q, dlq := srv.CreateQueues("n", 30e9, 3)
	r, err := New(registryconfig.RelayConfig{NotificationAuth: "dTpw", QueueURL: q, DeadLetterQueueURL: dlq, SQSEndpoint: srv.URL, Region: "us-east-1"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	post := func(auth string, n int) int {
		events := make([]json.RawMessage, n)
		for i := range events {
			events[i] = json.RawMessage(`{"id":"e` + strings.Repeat("x", i) + `","action":"push"}`)
		}
		b, _ := json.Marshal(map[string]any{"events": events})
		req := httptest.NewRequest(http.MethodPost, "/events", bytes.NewReader(b))
		req.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Code
	}
	if code := post("Basic wrong", 1); code != http.StatusUnauthorized {
		t.Errorf("wrong Authorization: %d", code)
	}
	if code := post("Basic dTpw", 12); code != http.StatusOK {
		t.Fatalf("12 events: %d", code)
	}
	if n := len(srv.Bodies("n")); n != 12 {
		t.Errorf("%d events queued, want 12 (two batches)", n)
	}
	srv.Close()
	if code := post("Basic dTpw", 1); code != http.StatusServiceUnavailable {
		t.Errorf("with SQS unreachable: %d, want 503", code)
	}
}
