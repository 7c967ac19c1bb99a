package relay

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
)

// WorkerArg makes the entrypoint binary run the relay itself (Run); the
// supervisor (Supervise, started with registryconfig.RelayArg) starts it.
const WorkerArg = "--internal-notification-relay-worker"

// Restart backoff of a relay that exited: 1 s, doubling up to restartMax; a
// relay that ran restartReset without exiting starts the count again.
const (
	restartFirst = time.Second
	restartMax   = 30 * time.Second
	restartReset = time.Minute
)

// RestartedMsg is the log line of every restart of a relay that exited while
// the registry runs; infra/notifications.go counts it (metric filter) and
// alarms when it repeats.
const RestartedMsg = "the notification relay exited; restarting it (the registry keeps its events and retries them)"

// RestartsField is the field of that line that counts the restarts so far
// (1 or more); the stack's metric filter (infra.RelayRestartsPattern) matches it.
const RestartsField = "restarts"

// Main runs the role arg names, registryconfig.RelayArg (the supervisor) or
// WorkerArg (the relay), and returns its exit code; ok is false for any other
// argument.
func Main(arg string, stdin io.Reader, logw io.Writer) (code int, ok bool) {
	switch arg {
	case registryconfig.RelayArg:
		return Supervise(stdin, logw), true
	case WorkerArg:
		return Run(stdin, logw), true
	}
	return 0, false
}

// Supervise keeps the relay running for as long as the registry does.
//
// Why a supervisor, not a task that stops when the relay dies: an event the
// relay has not yet put in SQS lives only in the registry's in-memory queue,
// which retries it (immediately, then every notification backoff, 30 s)
// until the relay answers. A relay restarted within seconds therefore loses
// nothing. Stopping the task instead (so that ECS replaces it) would drop
// exactly those events with the registry's memory, and every push still in
// flight. So the supervisor restarts the relay with backoff, logs each
// restart (RestartedMsg, level error) and the stack alarms when restarts
// repeat.
//
// Its configuration is the first line of stdin; the rest of stdin is the
// lifeline: it ends when the registry, which holds the write end, exits, and
// then the supervisor stops the relay (closing its stdin, so it drains) and
// returns.
func Supervise(stdin io.Reader, logw io.Writer) int {
	log := &logger{w: logw}
	signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
	in := bufio.NewReader(stdin)
	config, err := in.ReadBytes('\n')
	if err != nil {
		log.line("fatal", "the relay reads its configuration from the entrypoint; run the entrypoint, not the relay", map[string]any{"error": err.Error()})
		return 2
	}
	registryGone := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, in)
		close(registryGone)
	}()
	self, err := os.Executable()
	if err != nil {
		log.line("fatal", "the relay supervisor cannot find its executable: "+err.Error(), nil)
		return 1
	}
	wait := restartFirst
	for restarts := 0; ; restarts++ {
		started := time.Now()
		cmd, lifeline, err := startWorker(self, config, logw)
		var exited chan error
		if err == nil {
			exited = make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case <-registryGone:
				lifeline.Close() // the relay drains and exits
				select {
				case <-exited:
				case <-time.After(15 * time.Second):
					_ = cmd.Process.Kill()
					<-exited
				}
				return 0
			case err = <-exited:
				lifeline.Close()
			}
		}
		if time.Since(started) >= restartReset {
			wait = restartFirst
		}
		fields := map[string]any{RestartsField: restarts + 1, "restartIn": wait.String()}
		if err != nil {
			fields["error"] = err.Error()
		}
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			fields["exitCode"] = exitErr.ExitCode()
		}
		log.line("error", RestartedMsg, fields)
		select {
		case <-registryGone:
			return 0
		case <-time.After(wait):
		}
		wait = min(2*wait, restartMax)
	}
}

// startWorker starts the relay and sends it its configuration; the returned
// pipe is its stdin, open for as long as it is to run.
func startWorker(self string, config []byte, logw io.Writer) (*exec.Cmd, *os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(self, WorkerArg)
	cmd.Stdin = r
	cmd.Stdout = logw
	cmd.Stderr = logw
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, nil, err
	}
	r.Close()
	if _, err := w.Write(config); err != nil {
		w.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, nil, err
	}
	return cmd, w, nil
}
