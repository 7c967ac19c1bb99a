// Package taskprotection keeps the ECS task that runs the registry protected from scale-in and
// deployments while blob uploads are in flight, through the ECS container agent's task
// scale-in protection endpoint ($ECS_AGENT_URI/task-protection/v1/state).
//
// Why: ECS stops a task that a deployment replaces or Service Auto Scaling removes after its
// load-balancer target has drained, for at most the deregistration delay (3,600 s, the ALB's
// maximum). A layer is one PATCH request, and a large layer on a slow or busy link takes longer
// (docs/operations.md). ECS does not stop a protected task (AWS, "Protect your Amazon ECS tasks
// from being terminated by scale-in events"), so the upload completes. Between requests nothing
// needs protecting: an upload's state lives in S3 (multipart) and the next request of the same
// upload may go to any task.
//
// It is the registry's repository middleware "taskprotection" (registered by importing this
// package; image/registrymain does), configured by the entrypoint only when ECS sets
// ECS_AGENT_URI. Every blob writer the registry opens (POST, PATCH, PUT, DELETE of an upload)
// counts as an upload in flight from its creation to its Close, Commit or Cancel; the final
// PUT's digest check and copy into place run inside Commit, so they are covered too.
//
// Bounded, so deployments always finish: with steady traffic some upload is always in flight, so
// a task protected for as long as uploads run would block every deployment. A protection window
// opens when the first upload starts on an unprotected task and closes when no upload has been in
// flight for UnprotectDelay; it is renewed (leases of LeaseMinutes, renewed RenewBefore their
// end) for at most MaxWindow. After that it is left to lapse and not renewed until the task's
// uploads have drained; the uploads still in flight then get the load balancer's drain.
//
// Failures of the agent or of ECS never fail or delay an upload: the guard works in its own
// goroutine, logs each failure with what it means, and retries after RetryAfter.
package taskprotection

import (
	"context"
	"sync"
	"time"
)

// Policy is the timing of the protection. Production uses DefaultPolicy.
type Policy struct {
	// LeaseMinutes is the ExpiresInMinutes of each request (1..2880). Short, so that a registry
	// that stopped renewing (hung) releases its task soon.
	LeaseMinutes int
	// RenewBefore: a lease is renewed when this little of it is left.
	RenewBefore time.Duration
	// MaxWindow bounds one continuous protection: no lease ends later than MaxWindow after the
	// window opened.
	MaxWindow time.Duration
	// UnprotectDelay: protection is removed once no upload has been in flight this long, so
	// the requests of one push (each blob's POST, PATCH and PUT, one after the other) do not
	// each toggle it.
	UnprotectDelay time.Duration
	// RetryAfter is the wait after a failed request to the agent.
	RetryAfter time.Duration
}

// DefaultPolicy is what the registry runs with. MaxWindow is 4 hours: the longest push
// docs/operations.md states (a 100 GB layer on a task at its measured push capacity, about
// 9,500 s of PATCH) fits when it starts in a window's first 2 h 21 min (4 h + the 3,600 s
// drain − 9,500 s), and infra sizes the service's update timeout from it
// (infra/service.go, maxProtectionWindowSeconds).
var DefaultPolicy = Policy{
	LeaseMinutes:   10,
	RenewBefore:    5 * time.Minute,
	MaxWindow:      MaxWindow,
	UnprotectDelay: 5 * time.Second,
	RetryAfter:     30 * time.Second,
}

// MaxWindow is DefaultPolicy's bound on one continuous protection.
const MaxWindow = 4 * time.Hour

// setter is the agent endpoint: set protection on (for minutes) or off.
type setter interface {
	Set(ctx context.Context, enabled bool, minutes int) error
}

// Logger receives what the guard does; the middleware passes the registry's logger.
type Logger interface {
	Infof(format string, args ...any)
	Errorf(format string, args ...any)
}

// Guard counts the uploads in flight and keeps the task's protection in line with them.
type Guard struct {
	policy Policy
	agent  setter
	log    Logger
	now    func() time.Time

	mu   sync.Mutex
	st   state
	kick chan struct{}
}

// NewGuard returns a guard that talks to agent; Start runs it.
func newGuard(agent setter, policy Policy, log Logger) *Guard {
	return &Guard{policy: policy, agent: agent, log: log, now: time.Now, kick: make(chan struct{}, 1)}
}

// Acquire counts one upload in flight until the returned function is called (once; later
// calls do nothing). It never blocks on the agent.
func (g *Guard) Acquire() (release func()) {
	g.mu.Lock()
	g.st.inFlight++
	g.mu.Unlock()
	g.wake()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			g.st.inFlight--
			if g.st.inFlight == 0 {
				g.st.idleSince = g.now()
			}
			g.mu.Unlock()
			g.wake()
		})
	}
}

func (g *Guard) wake() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// run applies the policy until ctx ends.
func (g *Guard) run(ctx context.Context) {
	for {
		g.mu.Lock()
		now := g.now()
		act, at := g.st.next(now, g.policy)
		g.mu.Unlock()
		if act.kind != none {
			g.do(ctx, act, now)
			continue
		}
		wait := time.Hour
		if !at.IsZero() {
			wait = at.Sub(now)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-g.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

func (g *Guard) do(ctx context.Context, act action, now time.Time) {
	err := g.agent.Set(ctx, act.kind == protect, act.minutes)
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		g.st.failed(now, g.policy)
		if act.kind == protect {
			g.log.Errorf("task scale-in protection: protecting the task for %d min failed, retrying in %s; uploads continue, but until this succeeds a deployment or scale-in may stop this task after the load balancer's drain: %v", act.minutes, g.policy.RetryAfter, err)
		} else {
			g.log.Errorf("task scale-in protection: removing the protection failed, retrying in %s; it lapses by itself within %d min: %v", g.policy.RetryAfter, g.policy.LeaseMinutes, err)
		}
		return
	}
	if act.kind == protect {
		first := !g.st.protected
		g.st.protectedFor(now, act.minutes)
		if first {
			g.log.Infof("task scale-in protection: on (%d uploads in flight; lease %d min, window at most %s)", g.st.inFlight, act.minutes, g.policy.MaxWindow)
		}
		return
	}
	g.st.unprotected()
	g.log.Infof("task scale-in protection: off (no upload in flight)")
}

type actionKind int

const (
	none actionKind = iota
	protect
	unprotect
)

type action struct {
	kind    actionKind
	minutes int
}

// state is what the guard knows; next decides, the other methods record results. Pure, so the
// policy is tested with a fake clock.
type state struct {
	inFlight  int
	idleSince time.Time
	// protected and expires: what the agent last confirmed.
	protected bool
	expires   time.Time
	// windowStart is when the current continuous protection began (zero: no window).
	windowStart time.Time
	// exhausted: the window reached MaxWindow; no renewal until the uploads drain.
	exhausted bool
	retryAt   time.Time
}

// next returns the action to take at now, or none and when to look again (zero: at the next
// Acquire or release).
func (s *state) next(now time.Time, p Policy) (action, time.Time) {
	if s.protected && !now.Before(s.expires) {
		s.protected = false // lapsed
	}
	if !s.protected && s.inFlight == 0 {
		s.windowStart, s.exhausted = time.Time{}, false
	}
	if s.inFlight > 0 && !s.exhausted {
		renewAt := s.expires.Add(-p.RenewBefore)
		if s.protected && now.Before(renewAt) {
			return action{}, renewAt
		}
		if now.Before(s.retryAt) {
			return action{}, s.retryAt
		}
		remaining := p.MaxWindow
		if !s.windowStart.IsZero() {
			remaining = s.windowStart.Add(p.MaxWindow).Sub(now)
		}
		minutes := min(p.LeaseMinutes, int(remaining/time.Minute))
		if minutes >= 1 && (!s.protected || now.Add(time.Duration(minutes)*time.Minute).After(s.expires)) {
			return action{kind: protect, minutes: minutes}, time.Time{}
		}
		// The window is used up: the last lease runs out, nothing renews it.
		s.exhausted = true
	}
	if s.protected && s.inFlight == 0 {
		if at := s.idleSince.Add(p.UnprotectDelay); now.Before(at) {
			return action{}, at
		}
		if now.Before(s.retryAt) {
			return action{}, s.retryAt
		}
		return action{kind: unprotect}, time.Time{}
	}
	if s.protected {
		return action{}, s.expires
	}
	return action{}, time.Time{}
}

// protectedFor records a confirmed lease of minutes asked for at now.
func (s *state) protectedFor(now time.Time, minutes int) {
	if !s.protected && s.windowStart.IsZero() {
		s.windowStart = now
	}
	s.protected = true
	s.expires = now.Add(time.Duration(minutes) * time.Minute)
	s.retryAt = time.Time{}
}

// unprotected records a confirmed removal.
func (s *state) unprotected() {
	s.protected = false
	s.retryAt = time.Time{}
	if s.inFlight == 0 {
		s.windowStart, s.exhausted = time.Time{}, false
	}
}

func (s *state) failed(now time.Time, p Policy) { s.retryAt = now.Add(p.RetryAfter) }
