package registryconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Exit codes of Main.
const (
	ExitConfig = 2 // a variable is missing or malformed
	ExitFailed = 1 // preparing the files or starting the registry failed
)

// Main is the entrypoint: it reads the settings from environ, prepares the
// scratch directory and replaces the process with the registry. It returns only
// on failure, with an exit code, after writing a JSON log line to stderr that
// names every problem. args are the entrypoint's arguments (without the program
// name); it takes none.
func Main(args, environ []string, stderr io.Writer) int {
	if len(args) == 1 && args[0] == RedactArg {
		return runRedactor()
	}
	if len(args) > 0 {
		logJSON(stderr, "fatal", "the entrypoint takes no arguments; it is configured by SYNAPSE_REGISTRY_* environment variables (see image/README.md)", map[string]any{"args": args})
		return ExitConfig
	}
	s, err := ParseEnviron(environ)
	err = withBinaryProblem(err, environ)
	if err != nil {
		fields := map[string]any{}
		var ce *ConfigError
		if errors.As(err, &ce) {
			problems := make([]string, len(ce.Problems))
			for i, p := range ce.Problems {
				problems[i] = p.String()
			}
			fields["problems"] = problems
		}
		logJSON(stderr, "fatal", err.Error(), fields)
		return ExitConfig
	}
	prepared, err := Prepare(s, time.Now())
	if err != nil {
		logJSON(stderr, "fatal", "preparing the registry's files failed: "+err.Error(), nil)
		return ExitFailed
	}
	env, dropped, goMemLimit := ExecEnv(environ, "/")
	if len(dropped) > 0 {
		logJSON(stderr, "warning", "ignoring REGISTRY_* variables: they would override the generated configuration; use the SYNAPSE_REGISTRY_* variables instead", map[string]any{"variables": dropped})
	}
	kids := make([]map[string]string, len(prepared.KeyIDs))
	for i, k := range prepared.KeyIDs {
		kids[i] = map[string]string{"libtrust": k[0], "thumbprint": k[1]}
	}
	fields := map[string]any{
		"config":               prepared.Paths.Config,
		"token.service":        s.TokenService,
		"token.issuer":         s.TokenIssuer,
		"token.realm":          s.TokenRealm,
		"token.keys":           kids,
		"storage":              s.Storage,
		"redirect":             s.Redirect,
		"listen":               s.ListenAddr,
		"health":               s.HealthAddr,
		"notifications":        s.NotificationURL,
		"notifications.events": s.NotificationEvents,
		"notifications.queue":  s.NotificationQueueURL,
		"tls.notafter":         prepared.TLSCertificate.NotAfter.UTC().Format(time.RFC3339),
		"go.memlimit":          goMemLimit,
		"taskprotection":       s.taskProtection(),
	}
	if s.Storage == StorageS3 {
		fields["s3.bucket"] = s.S3Bucket
		fields["s3.region"] = s.S3Region
		fields["s3.pathstyle"] = s.UsePathStyle()
		if s.S3Endpoint != "" {
			fields["s3.endpoint"] = s.S3Endpoint
		}
	} else {
		fields["filesystem.root"] = s.FilesystemRoot
	}
	logJSON(stderr, "info", "starting the registry", fields)
	argv := s.RegistryArgs(prepared.Paths)
	err = execRegistry(argv[0], argv, env, []string{s.NotificationAuth, s.HTTPSecret}, s.Relay())
	logJSON(stderr, "fatal", fmt.Sprintf("cannot start the registry %q: %v", s.Binary, err), nil)
	return ExitFailed
}

// withBinaryProblem adds to err (a *ConfigError or nil) a problem when the
// registry binary named by the environment is not an executable file.
func withBinaryProblem(err error, environ []string) error {
	var ce *ConfigError
	if err != nil && !errors.As(err, &ce) {
		return err
	}
	if ce != nil {
		for _, p := range ce.Problems {
			if p.Variable == EnvBinary {
				return err // already reported as malformed
			}
		}
	}
	path, _ := Lookup(EnvBinary)
	binary := path.Default
	for _, kv := range environ {
		if name, value, _ := strings.Cut(kv, "="); name == EnvBinary && strings.TrimSpace(value) != "" {
			binary = strings.TrimSpace(value)
		}
	}
	fi, statErr := os.Stat(binary)
	msg := ""
	switch {
	case statErr != nil:
		msg = fmt.Sprintf("%q cannot be used: %v; set it to the registry binary's path (the official image has /bin/registry)", binary, statErr)
	case fi.IsDir() || fi.Mode().Perm()&0o111 == 0:
		msg = fmt.Sprintf("%q is not an executable file; set it to the registry binary's path", binary)
	default:
		return err
	}
	if ce == nil {
		ce = &ConfigError{}
	}
	ce.Problems = append(ce.Problems, Problem{Variable: EnvBinary, Message: msg})
	return ce
}

// logJSON writes one JSON log line in the registry's format (logrus JSON:
// time, level, msg and fields).
func logJSON(w io.Writer, level, msg string, fields map[string]any) {
	entry := map[string]any{}
	for k, v := range fields {
		entry[k] = v
	}
	entry["time"] = time.Now().UTC().Format(time.RFC3339Nano)
	entry["level"] = level
	entry["msg"] = msg
	entry["component"] = "entrypoint"
	b, err := json.Marshal(entry)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"level":"error","msg":%q}`, "cannot log: "+err.Error()))
	}
	w.Write(append(b, '\n'))
}
