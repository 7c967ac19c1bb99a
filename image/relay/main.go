package relay

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
)

// Run runs the relay as its supervisor starts it (WorkerArg): its
// configuration is the first line of stdin, and it runs until stdin ends,
// i.e. until the supervisor closes it because the registry has exited. It
// ignores SIGTERM, so it keeps taking events while the registry drains.
func Run(stdin io.Reader, logw io.Writer) int {
	log := &logger{w: logw}
	signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
	in := bufio.NewReader(stdin)
	line, err := in.ReadBytes('\n')
	var cfg registryconfig.RelayConfig
	if err == nil {
		err = json.Unmarshal(line, &cfg)
	}
	if err != nil {
		log.line("fatal", "the relay reads its configuration from the entrypoint; run the entrypoint, not the relay", map[string]any{"error": err.Error()})
		return 2
	}
	r, err := New(cfg, logw)
	if err != nil {
		log.line("fatal", "cannot create the SQS client: "+err.Error(), nil)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		log.line("fatal", "the relay cannot listen: "+err.Error(), map[string]any{"addr": cfg.ListenAddr})
		return 1
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.line("error", "the relay stopped serving: "+err.Error(), nil)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Consume(ctx); close(done) }()
	log.line("info", "notification relay started", map[string]any{"pid": os.Getpid(), "listen": cfg.ListenAddr, "queue": cfg.QueueURL, "deadLetterQueue": cfg.DeadLetterQueueURL, "synapse": cfg.NotificationURL})
	_, _ = io.Copy(io.Discard, in) // until the registry exits
	shutdown, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	_ = srv.Shutdown(shutdown)
	cancel()
	<-done
	log.line("info", "notification relay stopped: the registry has exited; undelivered events stay in the queue", nil)
	return 0
}
