package taskprotection

import (
	"testing"
	"time"
)

// sim drives a state with a fake clock, as Guard.run does with the real one: it applies each
// action as the agent confirming it, and jumps to the next time the state asks to be looked at.
type sim struct {
	t      *testing.T
	p      Policy
	st     state
	now    time.Time
	leases []lease // protect requests, in order
	offs   []time.Time
	fail   bool // the agent refuses every request
	fails  int
}

type lease struct {
	at      time.Time
	minutes int
}

func (s *sim) end(l lease) time.Time { return l.at.Add(time.Duration(l.minutes) * time.Minute) }

// until runs the guard's loop up to t.
func (s *sim) until(t time.Time) {
	s.t.Helper()
	for steps := 0; ; steps++ {
		if steps > 100000 {
			s.t.Fatal("the guard does not settle: it acts without letting time pass")
		}
		act, at := s.st.next(s.now, s.p)
		switch act.kind {
		case protect:
			if act.minutes < minExpiresInMinutes || act.minutes > maxExpiresInMinutes {
				s.t.Fatalf("at %s: ExpiresInMinutes %d outside what the agent accepts", s.now, act.minutes)
			}
			if s.fail {
				s.fails++
				s.st.failed(s.now, s.p)
				continue
			}
			s.leases = append(s.leases, lease{s.now, act.minutes})
			s.st.protectedFor(s.now, act.minutes)
			continue
		case unprotect:
			if s.fail {
				s.fails++
				s.st.failed(s.now, s.p)
				continue
			}
			s.offs = append(s.offs, s.now)
			s.st.unprotected()
			continue
		}
		if at.IsZero() || at.After(t) {
			s.now = t
			return
		}
		s.now = at
	}
}

// protectedAt reports whether a confirmed lease covers t and no removal came after it.
func (s *sim) protectedAt(t time.Time) bool {
	on := false
	for _, l := range s.leases {
		if !l.at.After(t) && s.end(l).After(t) {
			on = true
			for _, off := range s.offs {
				if off.After(l.at) && !off.After(t) {
					on = false
				}
			}
		}
	}
	return on
}

func newSim(t *testing.T) *sim {
	return &sim{t: t, p: DefaultPolicy, now: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
}

// An upload protects the task at once, the lease is renewed before it ends for as long as the
// upload runs, and the protection is removed UnprotectDelay after the last upload ends.
func TestProtectsWhileUploadsRunAndRenewsBeforeExpiry(t *testing.T) {
	s := newSim(t)
	start := s.now
	s.st.inFlight = 1
	s.until(start)
	if len(s.leases) != 1 || s.leases[0].minutes != DefaultPolicy.LeaseMinutes {
		t.Fatalf("leases after the upload started: %+v, want one of %d min", s.leases, DefaultPolicy.LeaseMinutes)
	}
	uploadEnd := start.Add(2 * time.Hour)
	s.until(uploadEnd)
	for at := start; at.Before(uploadEnd); at = at.Add(time.Minute) {
		if !s.protectedAt(at) {
			t.Fatalf("the task is not protected at %s, during the upload (leases %+v)", at.Sub(start), s.leases)
		}
	}
	// 2 h with leases of 10 min renewed 5 min before their end: one every 5 min.
	if n := len(s.leases); n < 24 || n > 26 {
		t.Errorf("%d leases in 2 h, want one every %s", n, time.Duration(DefaultPolicy.LeaseMinutes)*time.Minute-DefaultPolicy.RenewBefore)
	}
	s.st.inFlight = 0
	s.st.idleSince = s.now
	s.until(uploadEnd.Add(DefaultPolicy.UnprotectDelay - time.Second))
	if len(s.offs) != 0 {
		t.Fatalf("protection removed %s after the last upload, before UnprotectDelay %s", s.offs[0].Sub(uploadEnd), DefaultPolicy.UnprotectDelay)
	}
	s.until(uploadEnd.Add(time.Minute))
	if len(s.offs) != 1 || !s.offs[0].Equal(uploadEnd.Add(DefaultPolicy.UnprotectDelay)) {
		t.Fatalf("removals %v, want one at %s", s.offs, uploadEnd.Add(DefaultPolicy.UnprotectDelay))
	}
	if s.protectedAt(uploadEnd.Add(time.Minute)) {
		t.Error("still protected after the uploads ended")
	}
}

// Steady traffic: some upload is always in flight. The protection still ends MaxWindow after it
// began, is not renewed while uploads are in flight, and starts again only after they drain, so
// a deployment waits at most MaxWindow for the task.
func TestProtectionWindowIsBoundedUnderSteadyTraffic(t *testing.T) {
	s := newSim(t)
	start := s.now
	s.st.inFlight = 3
	s.until(start.Add(12 * time.Hour))
	if len(s.leases) == 0 {
		t.Fatal("never protected")
	}
	bound := start.Add(MaxWindow)
	last := start
	for _, l := range s.leases {
		if s.end(l).After(bound) {
			t.Errorf("a lease asked at %s ends at %s, after the window's bound (%s after it opened)", l.at.Sub(start), s.end(l).Sub(start), MaxWindow)
		}
		if s.end(l).After(last) {
			last = s.end(l)
		}
	}
	if !last.Equal(bound) {
		t.Errorf("protection ends %s after the window opened, want exactly MaxWindow %s", last.Sub(start), MaxWindow)
	}
	if s.protectedAt(bound) || s.protectedAt(start.Add(12*time.Hour-time.Minute)) {
		t.Error("protected after the bound while uploads are still in flight")
	}
	// Once the uploads drain, the next upload opens a new window.
	n := len(s.leases)
	s.st.inFlight = 0
	s.st.idleSince = s.now
	s.until(s.now.Add(time.Minute))
	s.st.inFlight = 1
	reopen := s.now
	s.until(reopen)
	if len(s.leases) != n+1 || !s.leases[n].at.Equal(reopen) || s.leases[n].minutes != DefaultPolicy.LeaseMinutes {
		t.Fatalf("after the uploads drained, a new upload got leases %+v, want a new %d-min lease at once", s.leases[n:], DefaultPolicy.LeaseMinutes)
	}
}

// The window's last lease is shortened to end at the bound, never past it, whatever the lease
// length and renewal margin.
func TestLastLeaseEndsAtTheBound(t *testing.T) {
	for _, p := range []Policy{
		{LeaseMinutes: 10, RenewBefore: 5 * time.Minute, MaxWindow: 4*time.Hour + 7*time.Minute, UnprotectDelay: time.Second, RetryAfter: time.Second},
		{LeaseMinutes: 30, RenewBefore: 29 * time.Minute, MaxWindow: 95 * time.Minute, UnprotectDelay: time.Second, RetryAfter: time.Second},
		{LeaseMinutes: 2880, RenewBefore: time.Hour, MaxWindow: 50 * time.Hour, UnprotectDelay: time.Second, RetryAfter: time.Second},
	} {
		s := newSim(t)
		s.p = p
		start := s.now
		s.st.inFlight = 1
		s.until(start.Add(3 * p.MaxWindow))
		last := start
		for _, l := range s.leases {
			if s.end(l).After(last) {
				last = s.end(l)
			}
		}
		if !last.Equal(start.Add(p.MaxWindow)) {
			t.Errorf("policy %+v: protection ends %s after the window opened, want %s", p, last.Sub(start), p.MaxWindow)
		}
	}
}

// The agent refusing every request never blocks anything: the guard retries every RetryAfter,
// and protects the task as soon as the agent answers again.
func TestAgentFailuresAreRetried(t *testing.T) {
	s := newSim(t)
	start := s.now
	s.fail = true
	s.st.inFlight = 1
	s.until(start.Add(10 * time.Minute))
	if want := int(10*time.Minute/DefaultPolicy.RetryAfter) + 1; s.fails != want {
		t.Errorf("%d attempts in 10 min with the agent failing, want one every %s (%d)", s.fails, DefaultPolicy.RetryAfter, want)
	}
	s.fail = false
	s.until(s.now.Add(DefaultPolicy.RetryAfter))
	if len(s.leases) != 1 {
		t.Fatalf("leases once the agent answers again: %+v", s.leases)
	}
}
