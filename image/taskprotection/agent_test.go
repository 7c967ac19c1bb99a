package taskprotection

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/ecsagenttest"
)

// The stand-in answers as the agent's endpoint does (internal/ecsagenttest cites the page and
// the handler): wrong bodies and ExpiresInMinutes outside 1..2880 are 400, a good PUT is 200 with
// the protection.
func TestStandInAgentModelsTheEndpoint(t *testing.T) {
	a := ecsagenttest.Start(t)
	put := func(body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPut, a.URI+StatePath, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"ProtectionEnabled":true,"ExpiresInMinutes":0}`, 400},
		{`{"ProtectionEnabled":true,"ExpiresInMinutes":2881}`, 400},
		{`{"ExpiresInMinutes":10}`, 400},
		{`{"ProtectionEnabled":true,"Other":1}`, 400},
		{`not json`, 400},
		{`{"ProtectionEnabled":true,"ExpiresInMinutes":2880}`, 200},
		{`{"ProtectionEnabled":true,"ExpiresInMinutes":1}`, 200},
	} {
		status, out := put(c.body)
		if status != c.want {
			t.Errorf("PUT %s: %d, want %d", c.body, status, c.want)
		}
		if key := map[bool]string{true: "protection", false: "error"}[c.want == 200]; out[key] == nil {
			t.Errorf("PUT %s: answer %v has no %q", c.body, out, key)
		}
	}
	if !a.Protected() {
		t.Error("not protected after a good PUT")
	}
	resp, err := http.Post(a.URI+StatePath, "application/json", strings.NewReader(`{"ProtectionEnabled":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405 (the agent routes only GET and PUT)", resp.StatusCode)
	}
}

// The client sends what the endpoint accepts and reports what it refuses.
func TestClientSetsAndClearsProtection(t *testing.T) {
	a := ecsagenttest.Start(t)
	c, err := newAgentClient(a.URI)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Set(ctx, true, 10); err != nil || !a.Protected() {
		t.Fatalf("Set(on, 10): %v, protected %v", err, a.Protected())
	}
	if r := a.Requests(); r[0].ExpiresInMinutes == nil || *r[0].ExpiresInMinutes != 10 {
		t.Errorf("request %+v, want ExpiresInMinutes 10", r[0])
	}
	if err := c.Set(ctx, false, 0); err != nil || a.Protected() {
		t.Fatalf("Set(off): %v, protected %v", err, a.Protected())
	}
	if err := c.Set(ctx, true, 2881); err == nil {
		t.Error("Set(on, 2881) succeeded; the agent refuses more than 2880 minutes")
	}
	a.FailWith(http.StatusInternalServerError)
	if err := c.Set(ctx, true, 10); err == nil || !strings.Contains(err.Error(), "ServerException") {
		t.Errorf("Set with the agent failing: %v, want its error", err)
	}
	for _, bad := range []string{"", "169.254.170.2/api/x", "ftp://x/y", "http://"} {
		if _, err := newAgentClient(bad); err == nil {
			t.Errorf("agent URI %q accepted", bad)
		}
	}
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Infof(f string, a ...any)  { l.add("info: "+f, a...) }
func (l *logBuffer) Errorf(f string, a ...any) { l.add("error: "+f, a...) }
func (l *logBuffer) add(f string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.b, f+"\n", a...)
}
func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The running guard: Acquire protects the task through the agent, the release unprotects it;
// with the agent down, Acquire and release return at once and the failure is logged.
func TestGuardNeverWaitsForTheAgent(t *testing.T) {
	a := ecsagenttest.Start(t)
	c, _ := newAgentClient(a.URI)
	p := DefaultPolicy
	p.UnprotectDelay, p.RetryAfter = 50*time.Millisecond, 50*time.Millisecond
	log := &logBuffer{}
	g := newGuard(c, p, log)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go g.run(ctx)

	release := g.Acquire()
	if !a.WaitProtected(true, 5*time.Second) {
		t.Fatal("not protected while an upload is in flight")
	}
	release()
	release() // a second call does nothing
	if !a.WaitProtected(false, 5*time.Second) {
		t.Fatal("still protected after the upload ended")
	}

	a.FailWith(http.StatusServiceUnavailable)
	began := time.Now()
	release = g.Acquire()
	release()
	if d := time.Since(began); d > 100*time.Millisecond {
		t.Errorf("Acquire and release took %s with the agent failing", d)
	}
	release = g.Acquire()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(log.String(), "error: task scale-in protection: protecting the task") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(log.String(), "uploads continue") {
		t.Errorf("the failure is not logged with what it means; log:\n%s", log)
	}
	a.FailWith(0)
	if !a.WaitProtected(true, 5*time.Second) {
		t.Error("not protected once the agent answers again")
	}
	release()
}
