package synth

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeProject writes Pulumi.yaml and Pulumi.<stack>.yaml files into a new
// temporary directory and returns it.
func writeProject(t *testing.T, project string, stacks map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"Pulumi.yaml": project}
	for name, body := range stacks {
		files["Pulumi."+name+".yaml"] = body
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const mergeProject = `name: proj
runtime: go
config:
  plainDefault: hello
  count:
    type: integer
    default: 3
  enabled:
    type: boolean
    default: false
  tags:
    type: object
    default:
      team: platform
  zones:
    type: array
    items:
      type: string
    default: [a, b]
  required:
    type: string
  aws:region: us-west-2
  aws:profile: from-project
`

const mergeStack = `config:
  proj:count: 5
  enabled: true
  proj:required: set-in-stack
  aws:profile: from-stack
  proj:structured:
    nested:
      list: [1, 2]
      flag: true
    name: x
  other:thing: value
`

func TestLoadStackMergesLikeTheCLI(t *testing.T) {
	dir := writeProject(t, mergeProject, map[string]string{"dev": mergeStack})
	cfg, warnings, err := LoadStack(dir, "dev", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings = %v", warnings)
	}
	want := map[string]string{
		"proj:plainDefault": "hello",                                            // shorthand default
		"proj:count":        "5",                                                // stack overrides default
		"proj:enabled":      "true",                                             // un-namespaced stack key -> project
		"proj:tags":         `{"team":"platform"}`,                              // object default as JSON
		"proj:zones":        `["a","b"]`,                                        // array default as JSON
		"proj:required":     "set-in-stack",                                     //
		"aws:region":        "us-west-2",                                        // namespaced project value
		"aws:profile":       "from-stack",                                       // stack overrides project value
		"proj:structured":   `{"name":"x","nested":{"flag":true,"list":[1,2]}}`, // structured stack value
		"other:thing":       "value",
	}
	if !reflect.DeepEqual(cfg.Config, want) {
		t.Errorf("Config =\n%v\nwant\n%v", cfg.Config, want)
	}
	if len(cfg.SecretKeys) != 0 {
		t.Errorf("SecretKeys = %v, want none", cfg.SecretKeys)
	}
	if cfg.Project != "proj" || cfg.Stack != "dev" {
		t.Errorf("project/stack = %s/%s", cfg.Project, cfg.Stack)
	}
}

func TestLoadStackFindsProjectUpwards(t *testing.T) {
	dir := writeProject(t, mergeProject, map[string]string{"dev": mergeStack})
	sub := filepath.Join(dir, "infra")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := LoadStack(sub, "dev", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dir != dir {
		t.Errorf("Dir = %s, want %s", cfg.Dir, dir)
	}
}

const secretProject = `name: proj
runtime: go
config:
  port:
    type: integer
  notificationAuth:
    type: string
    secret: true
`

const secretStack = `config:
  proj:apiKey:
    secure: v1:AAAAciphertext-apikey
  proj:notificationAuth:
    secure: v1:AAAAciphertext-auth
  proj:port:
    secure: v1:AAAAciphertext-port
  proj:db:
    user: admin
    password:
      secure: v1:AAAAciphertext-dbpw
`

func TestLoadStackSecurePlaceholders(t *testing.T) {
	dir := writeProject(t, secretProject, map[string]string{"dev": secretStack})
	cfg, _, err := LoadStack(dir, "dev", LoadOptions{Placeholders: map[string]string{
		"notificationAuth":   "c3ludGg6cGxhY2Vob2xkZXI=", // bare key: project namespace
		"proj:db.password":   "db-placeholder",           // path into structured config
		"proj:unrelated.key": "never-used",
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"proj:apiKey":           DefaultPlaceholder,
		"proj:notificationAuth": "c3ludGg6cGxhY2Vob2xkZXI=",
		"proj:port":             "0", // declared integer: a placeholder that validates
		"proj:db":               `{"password":"db-placeholder","user":"admin"}`,
	}
	if !reflect.DeepEqual(cfg.Config, want) {
		t.Errorf("Config =\n%v\nwant\n%v", cfg.Config, want)
	}
	wantKeys := []string{"proj:apiKey", "proj:db", "proj:notificationAuth", "proj:port"}
	if !reflect.DeepEqual(cfg.SecretKeys, wantKeys) {
		t.Errorf("SecretKeys = %v, want %v", cfg.SecretKeys, wantKeys)
	}
	for k, v := range cfg.Config {
		if strings.Contains(v, "ciphertext") {
			t.Errorf("%s carries the ciphertext: %s", k, v)
		}
	}
	if cfg.Placeholders["proj:db.password"] != "db-placeholder" || cfg.Placeholders["proj:apiKey"] != DefaultPlaceholder {
		t.Errorf("Placeholders = %v", cfg.Placeholders)
	}
}

func TestLoadStackDefaultPlaceholderOption(t *testing.T) {
	dir := writeProject(t, secretProject, map[string]string{"dev": secretStack})
	cfg, _, err := LoadStack(dir, "dev", LoadOptions{DefaultPlaceholder: "other-placeholder"})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Config["proj:apiKey"]; got != "other-placeholder" {
		t.Errorf("apiKey = %q", got)
	}
	if got := cfg.Config["proj:port"]; got != "0" {
		t.Errorf("an integer secret must still get a valid integer, got %q", got)
	}
}

func TestLoadStackErrorsLikePreview(t *testing.T) {
	cases := []struct {
		name, project, stack string
		strict               bool
		want                 string
	}{{
		name:    "type mismatch",
		project: "name: proj\nruntime: go\nconfig:\n  count:\n    type: integer\n",
		stack:   "config:\n  proj:count: lots\n",
		want:    "validating stack config: Stack 'dev' with configuration key 'count' must be of type 'integer'",
	}, {
		name:    "boolean mismatch",
		project: "name: proj\nruntime: go\nconfig:\n  flag:\n    type: boolean\n",
		stack:   "config:\n  proj:flag: maybe\n",
		want:    "validating stack config: Stack 'dev' with configuration key 'flag' must be of type 'boolean'",
	}, {
		name:    "array items mismatch",
		project: "name: proj\nruntime: go\nconfig:\n  ports:\n    type: array\n    items:\n      type: integer\n",
		stack:   "config:\n  proj:ports: [80, http]\n",
		want:    "validating stack config: Stack 'dev' with configuration key 'ports' must be of type 'array<integer>'",
	}, {
		name:    "missing required values",
		project: "name: proj\nruntime: go\nconfig:\n  b:\n    type: string\n  a:\n    type: string\n",
		stack:   "config: {}\n",
		want:    "validating stack config: Stack 'dev' is missing configuration values 'a' and 'b'",
	}, {
		name:    "declared secret in plain text",
		project: secretProject,
		stack:   "config:\n  proj:port: 1\n  proj:notificationAuth: plain\n",
		want:    "validating stack config: Stack 'dev' with configuration key 'notificationAuth' must be encrypted as it's secret",
	}, {
		name:    "declared secret not set, strict",
		project: secretProject,
		stack:   "config:\n  proj:port: 1\n",
		strict:  true,
		want:    "validating stack config: Stack 'dev' is missing configuration value 'notificationAuth'",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeProject(t, tc.project, map[string]string{"dev": tc.stack})
			_, _, err := LoadStack(dir, "dev", LoadOptions{Strict: tc.strict})
			if err == nil || err.Error() != tc.want {
				t.Errorf("err = %v\nwant  %s", err, tc.want)
			}
		})
	}
}

func TestLoadStackMissingDeclaredSecretWarns(t *testing.T) {
	dir := writeProject(t, secretProject, map[string]string{"prod": "config:\n  proj:port: 1\n"})
	placeholders := map[string]string{"notificationAuth": "c3ludGg6cGxhY2Vob2xkZXI="}
	cfg, warnings, err := LoadStack(dir, "prod", LoadOptions{Placeholders: placeholders})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Config["proj:notificationAuth"]; got != placeholders["notificationAuth"] {
		t.Errorf("notificationAuth = %q, want the placeholder", got)
	}
	if !reflect.DeepEqual(cfg.SecretKeys, []string{"proj:notificationAuth"}) {
		t.Errorf("SecretKeys = %v", cfg.SecretKeys)
	}
	if len(warnings) != 1 {
		t.Fatalf("warnings = %v, want one", warnings)
	}
	w := warnings[0]
	if w.Key != "proj:notificationAuth" ||
		!strings.Contains(w.Message, "'notificationAuth'") ||
		!strings.Contains(w.Message, "pulumi config set --secret notificationAuth <value> --stack prod") {
		t.Errorf("warning = %+v", w)
	}
}

func TestLoadStackUnknownStack(t *testing.T) {
	dir := writeProject(t, mergeProject, map[string]string{"dev": mergeStack})
	_, _, err := LoadStack(dir, "prd", LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "no stack named 'prd' found") {
		t.Errorf("err = %v", err)
	}
}

func TestLoadStackNoProject(t *testing.T) {
	_, _, err := LoadStack(t.TempDir(), "dev", LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "no Pulumi.yaml project file found") {
		t.Errorf("err = %v", err)
	}
}

func TestLoadStackWarnsAboutEnvironmentsAndEmptyValues(t *testing.T) {
	dir := writeProject(t, "name: proj\nruntime: go\n", map[string]string{
		"dev": "encryptionsalt: v1:abc=\nenvironment:\n  - shared/aws\nconfig:\n  proj:empty:\n  proj:set: x\n",
	})
	cfg, warnings, err := LoadStack(dir, "dev", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	all := ""
	for _, w := range warnings {
		all += w.Message + "\n"
	}
	if strings.Contains(all, "warning:") {
		t.Errorf("messages carry their own prefix:\n%s", all)
	}
	for _, want := range []string{`No value for configuration key "proj:empty"`, "imports Pulumi ESC environments (shared/aws)"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	if v, ok := cfg.Config["proj:empty"]; !ok || v != "" {
		t.Errorf("empty value = %q, %v; the CLI treats it as an empty string", v, ok)
	}
}

// A secret declared with an empty default (so that the program, not the CLI, reports it
// missing) is still a missing secret for synth: placeholder and warning, or the program's own
// error under -strict.
func TestEmptyDefaultSecretIsMissing(t *testing.T) {
	dir := writeProject(t, "name: proj\nruntime: go\nconfig:\n  token:\n    type: string\n    secret: true\n    default: \"\"\n",
		map[string]string{"dev": "config: {}\n"})
	cfg, warnings, err := LoadStack(dir, "dev", LoadOptions{Placeholders: map[string]string{"token": "cGxhY2Vob2xkZXI="}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config["proj:token"] != "cGxhY2Vob2xkZXI=" || len(warnings) != 1 || !strings.Contains(warnings[0].Message, "pulumi config set --secret token") {
		t.Errorf("want the placeholder and a warning, got %q %v", cfg.Config["proj:token"], warnings)
	}
	strict, _, err := LoadStack(dir, "dev", LoadOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if strict.Config["proj:token"] != "" {
		t.Errorf("strict mode must leave the secret unset, got %q", strict.Config["proj:token"])
	}
}
