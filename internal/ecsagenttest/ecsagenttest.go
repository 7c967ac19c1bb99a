// Package ecsagenttest is a stand-in for the Amazon ECS container agent's task scale-in
// protection endpoint, $ECS_AGENT_URI/task-protection/v1/state, as a task's containers see it.
//
// What it models, from AWS's "Amazon ECS task scale-in protection endpoint" page (Amazon ECS
// Developer Guide) and the agent's handler (aws/amazon-ecs-agent,
// ecs-agent/tmds/handlers/taskprotection/v1/handlers/handlers.go and .../v1/types/types.go):
//
//   - GET returns the task's protection; PUT sets it. Other methods are not routed.
//   - The PUT body is JSON with ProtectionEnabled (boolean, required) and ExpiresInMinutes
//     (integer, optional). The agent decodes it with unknown fields disallowed: a body that does
//     not decode, or has another field, is 400 InvalidParameterException; a body without
//     ProtectionEnabled is 400 InvalidParameterException.
//   - ExpiresInMinutes may be 1 to 2,880 (48 hours); without it a protected task is protected for
//     120 minutes. The agent passes the value to ECS's UpdateTaskProtection, which refuses one out
//     of range with InvalidParameterException; the agent answers with that error's HTTP status,
//     400 (ECS API Reference, UpdateTaskProtection, "Errors").
//   - Success is 200 {"protection":{"ExpirationDate":...,"ProtectionEnabled":...,"TaskArn":...}};
//     errors are {"requestID":...,"error":{"Arn":...,"Code":...,"Message":...}} with the
//     status of the failed call.
//   - Protection lapses by itself at its expiration date (UpdateTaskProtection: "After this time
//     period lapses, protectionEnabled will be reset to false").
package ecsagenttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Limits of ExpiresInMinutes and its default (UpdateTaskProtection, expiresInMinutes).
const (
	MinExpiresInMinutes     = 1
	MaxExpiresInMinutes     = 2880
	DefaultExpiresInMinutes = 120
)

// StatePath is the endpoint's path under $ECS_AGENT_URI.
const StatePath = "/task-protection/v1/state"

// TaskArn is the stand-in task's ARN.
const TaskArn = "arn:aws:ecs:us-east-1:111122223333:task/registry-cluster/0123456789abcdef0"

// Request is one PUT the stand-in accepted.
type Request struct {
	At                time.Time
	ProtectionEnabled bool
	// ExpiresInMinutes is nil when the request left it out.
	ExpiresInMinutes *int
}

// Agent is a running stand-in. URI is what ECS_AGENT_URI would be.
type Agent struct {
	URI    string
	server *httptest.Server

	mu       sync.Mutex
	enabled  bool
	expires  time.Time
	requests []Request
	// failWith, if non-zero, answers every request with this status and an error body, as
	// the agent does when ECS is unreachable or refuses the call.
	failWith int
	changed  chan struct{}
}

// Start starts a stand-in on a free loopback port; it stops when the test ends.
func Start(t interface{ Cleanup(func()) }) *Agent {
	a := &Agent{changed: make(chan struct{})}
	mux := http.NewServeMux()
	// The agent serves the endpoint under a per-container prefix (/api/<container id>).
	mux.HandleFunc("/api/registry-container"+StatePath, a.serve)
	a.server = httptest.NewServer(mux)
	a.URI = a.server.URL + "/api/registry-container"
	t.Cleanup(a.server.Close)
	return a
}

// Close stops the stand-in: requests then fail to connect, as when the agent is unreachable.
func (a *Agent) Close() { a.server.Close() }

// FailWith makes every request fail with status (0: succeed again).
func (a *Agent) FailWith(status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failWith = status
}

// Protected reports whether the task is protected now.
func (a *Agent) Protected() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.enabled && time.Now().Before(a.expires)
}

// Requests returns the PUTs accepted so far.
func (a *Agent) Requests() []Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Request(nil), a.requests...)
}

// WaitProtected waits until Protected() is want, or timeout; it reports whether it is.
func (a *Agent) WaitProtected(want bool, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		a.mu.Lock()
		changed := a.changed
		a.mu.Unlock()
		if a.Protected() == want {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		select {
		case <-changed:
		case <-time.After(min(left, 50*time.Millisecond)):
		}
	}
}

type protection struct {
	ExpirationDate    *string `json:"ExpirationDate"`
	ProtectionEnabled bool    `json:"ProtectionEnabled"`
	TaskArn           string  `json:"TaskArn"`
}

type errorBody struct {
	Arn     string `json:"Arn,omitempty"`
	Code    string
	Message string
}

type response struct {
	RequestID  *string     `json:"requestID,omitempty"`
	Protection *protection `json:"protection,omitempty"`
	Error      *errorBody  `json:"error,omitempty"`
}

// putBody is the agent's TaskProtectionRequest.
type putBody struct {
	ProtectionEnabled *bool
	ExpiresInMinutes  *int64
}

func (a *Agent) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failWith != 0 {
		id := "stand-in-request"
		writeJSON(w, a.failWith, response{RequestID: &id, Error: &errorBody{Arn: TaskArn, Code: "ServerException", Message: "stand-in failure"}})
		return
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut:
		var body putBody
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			writeJSON(w, http.StatusBadRequest, response{Error: &errorBody{Code: "InvalidParameterException", Message: "UpdateTaskProtection: failed to decode request"}})
			return
		}
		if body.ProtectionEnabled == nil {
			writeJSON(w, http.StatusBadRequest, response{Error: &errorBody{Arn: TaskArn, Code: "InvalidParameterException", Message: "Invalid request: does not contain 'ProtectionEnabled' field"}})
			return
		}
		minutes := int64(DefaultExpiresInMinutes)
		if body.ExpiresInMinutes != nil {
			minutes = *body.ExpiresInMinutes
			if minutes < MinExpiresInMinutes || minutes > MaxExpiresInMinutes {
				id := "stand-in-request"
				writeJSON(w, http.StatusBadRequest, response{RequestID: &id, Error: &errorBody{Arn: TaskArn, Code: "InvalidParameterException",
					Message: fmt.Sprintf("expiresInMinutes must be between %d and %d", MinExpiresInMinutes, MaxExpiresInMinutes)}})
				return
			}
		}
		req := Request{At: time.Now(), ProtectionEnabled: *body.ProtectionEnabled}
		if body.ExpiresInMinutes != nil {
			m := int(*body.ExpiresInMinutes)
			req.ExpiresInMinutes = &m
		}
		a.requests = append(a.requests, req)
		a.enabled = *body.ProtectionEnabled
		a.expires = time.Time{}
		if a.enabled {
			a.expires = req.At.Add(time.Duration(minutes) * time.Minute)
		}
		close(a.changed)
		a.changed = make(chan struct{})
	default:
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := &protection{TaskArn: TaskArn}
	if a.enabled && time.Now().Before(a.expires) {
		p.ProtectionEnabled = true
		d := a.expires.UTC().Format(time.RFC3339)
		p.ExpirationDate = &d
	}
	writeJSON(w, http.StatusOK, response{Protection: p})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}
