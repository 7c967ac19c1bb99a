package registryconfig

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
)

// RedactArg is the hidden argument that makes Main run as the log redactor.
//
// The registry logs its notification endpoints' headers at start ("configuring
// endpoint ... headers=map[Authorization:[Basic <secret>]]"), so its output would
// carry SYNAPSE_REGISTRY_NOTIFICATION_AUTH into the logs. Before exec, the
// entrypoint starts a copy of itself with this argument, points the registry's
// stdout and stderr at pipes it reads, and it copies every line through with the
// secrets replaced by Redacted.
const RedactArg = "--internal-redact-logs"

// Redacted replaces secret values in the registry's output.
const Redacted = "[REDACTED]"

// Descriptors of the redactor: stdin carries the registry's stdout, these carry
// its stderr and (once, then closed) the NUL-separated secrets.
const (
	redactStderrFD  = 3
	redactSecretsFD = 4
)

// Redactor replaces every occurrence of some secret strings in a stream, in
// their plain and JSON-escaped forms, line by line.
type Redactor struct {
	replacer *strings.Replacer
}

// NewRedactor returns a Redactor for the given secrets (empty ones are ignored).
func NewRedactor(secrets ...string) *Redactor {
	var pairs []string
	seen := map[string]bool{}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, form := range secretForms(s) {
			if form != "" && !seen[form] {
				seen[form] = true
				pairs = append(pairs, form, Redacted)
			}
		}
	}
	return &Redactor{replacer: strings.NewReplacer(pairs...)}
}

// secretForms are the ways a secret can appear in a log line: as is, and
// escaped inside a JSON string (with and without HTML escaping).
func secretForms(s string) []string {
	forms := []string{s}
	var b bytes.Buffer
	for _, html := range []bool{true, false} {
		b.Reset()
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		if err := enc.Encode(s); err == nil {
			quoted := strings.TrimSuffix(b.String(), "\n")
			forms = append(forms, quoted[1:len(quoted)-1])
		}
	}
	return forms
}

// Line returns line with the secrets replaced.
func (r *Redactor) Line(line string) string { return r.replacer.Replace(line) }

// Copy copies src to dst line by line, redacting each line.
func (r *Redactor) Copy(dst io.Writer, src io.Reader) error {
	br := bufio.NewReaderSize(src, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if _, werr := io.WriteString(dst, r.Line(line)); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// runRedactor is the redactor process: it reads the secrets, then copies stdin
// to stdout and descriptor 3 to stderr, redacted, until both are closed (the
// registry exited). It ignores the signals a terminal or container sends to the
// whole process group, so that the registry can drain and log its shutdown.
func runRedactor() int {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	secretsFile := os.NewFile(redactSecretsFD, "secrets")
	raw, err := io.ReadAll(secretsFile)
	secretsFile.Close()
	if err != nil {
		logJSON(os.Stderr, "fatal", "log redactor: cannot read the secrets: "+err.Error(), nil)
		return ExitFailed
	}
	r := NewRedactor(strings.Split(string(raw), "\x00")...)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = r.Copy(os.Stderr, os.NewFile(redactStderrFD, "registry-stderr"))
	}()
	_ = r.Copy(os.Stdout, os.Stdin)
	wg.Wait()
	return 0
}

// startRedactor starts the redactor (this executable with RedactArg) and
// returns the write ends that become the registry's stdout and stderr.
func startRedactor(secrets []string) (stdout, stderr *os.File, err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	secR, secW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	// Files[i] becomes descriptor i of the redactor.
	files := []*os.File{outR, os.Stdout, os.Stderr, errR, secR}
	proc, err := os.StartProcess(self, []string{self, RedactArg}, &os.ProcAttr{Files: files, Env: redactorEnv()})
	outR.Close()
	errR.Close()
	secR.Close()
	if err != nil {
		outW.Close()
		errW.Close()
		secW.Close()
		return nil, nil, err
	}
	_ = proc.Release()
	_, werr := secW.WriteString(strings.Join(secrets, "\x00"))
	if cerr := secW.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		outW.Close()
		errW.Close()
		return nil, nil, werr
	}
	return outW, errW, nil
}

// redactorEnv is the redactor's environment: the process's own, without any
// SYNAPSE_REGISTRY_* variable (it gets the secrets through a pipe).
func redactorEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, Prefix) {
			env = append(env, kv)
		}
	}
	return env
}
