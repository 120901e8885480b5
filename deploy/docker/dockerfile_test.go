// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package docker

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"go.yaml.in/yaml/v3"
)

const (
	repoRoot     = "../.."
	binaryInCtr  = "/otelcol-llt"
	defaultCmd0  = "--config=/etc/otelcol-llt/config.yaml"
	llamaArg     = "LLAMA_CPP_IMAGE"
	buildStage   = "build"
	sidecarStage = "sidecar"
	llamaStage   = "llamacpp"
)

// The ports every final image must EXPOSE: gateway, live dashboards, OTLP gRPC/HTTP, health_check.
var wantPorts = []string{"8081", "8050", "4317", "4318", "13133"}

type dockerfile struct {
	stages   []instructions.Stage
	metaArgs []instructions.ArgCommand
}

func parseDockerfile(t *testing.T) dockerfile {
	t.Helper()
	src, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		t.Fatalf("parse Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("parser warning: %s %s", w.Short, bytes.Join(w.Detail, []byte(" ")))
	}
	var lints []string
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		lints = append(lints, rule+" (line "+strconv.Itoa(line)+"): "+msg)
	}})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("instructions: %v", err)
	}
	for _, l := range lints {
		t.Errorf("lint: %s", l)
	}
	return dockerfile{stages: stages, metaArgs: metaArgs}
}

func (d dockerfile) stage(t *testing.T, name string) instructions.Stage {
	t.Helper()
	for _, s := range d.stages {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no stage %q", name)
	return instructions.Stage{}
}

func commands[T instructions.Command](s instructions.Stage) []T {
	var out []T
	for _, c := range s.Commands {
		if v, ok := c.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func TestStages(t *testing.T) {
	d := parseDockerfile(t)
	var names []string
	for _, s := range d.stages {
		names = append(names, s.Name)
	}
	want := []string{buildStage, sidecarStage, llamaStage}
	if !slices.Equal(names, want) {
		t.Fatalf("stages %q, want %q (llamacpp last: the default target)", names, want)
	}
}

func TestBuildStage(t *testing.T) {
	d := parseDockerfile(t)
	s := d.stage(t, buildStage)
	if s.BaseName != "golang:1.26.8-bookworm" {
		t.Errorf("build stage FROM %q, want golang:1.26.8-bookworm", s.BaseName)
	}
	env := map[string]string{}
	for _, e := range commands[*instructions.EnvCommand](s) {
		for _, kv := range e.Env {
			env[kv.Key] = kv.Value
		}
	}
	if env["CGO_ENABLED"] != "1" {
		t.Errorf("build stage CGO_ENABLED=%q, want 1", env["CGO_ENABLED"])
	}

	ocb := ocbVersion(t)
	var built bool
	for _, run := range commands[*instructions.RunCommand](s) {
		line := strings.Join(run.CmdLine, " ")
		if !strings.Contains(line, "builder --config builder-config.yaml --skip-generate --skip-get-modules") {
			continue
		}
		built = true
		if !strings.Contains(line, "go.opentelemetry.io/collector/cmd/builder@"+ocb) {
			t.Errorf("the build RUN does not install ocb %s (the Makefile's OCB_VERSION): %s", ocb, line)
		}
		if fetch := strings.Index(line, "scripts/fetch-plotlyjs.sh"); fetch < 0 || fetch > strings.Index(line, "builder --config") {
			t.Errorf("the build RUN must run scripts/fetch-plotlyjs.sh before ocb: %s", line)
		}
		if err := run.Expand(func(w string) (string, error) { return w, nil }); err != nil {
			t.Fatal(err)
		}
		caches := map[string]bool{}
		for _, m := range instructions.GetMounts(run) {
			if m.Type == instructions.MountTypeCache {
				caches[m.Target] = true
			}
		}
		for _, target := range []string{"/go/pkg/mod", "/root/.cache/go-build"} {
			if !caches[target] {
				t.Errorf("the build RUN has no cache mount on %s (has %v)", target, caches)
			}
		}
	}
	if !built {
		t.Error("no RUN builds otelcol-llt with ocb --skip-generate --skip-get-modules")
	}
}

// ocbVersion reads OCB_VERSION from the repository's Makefile, so the image builds with the same ocb.
func ocbVersion(t *testing.T) string {
	t.Helper()
	mk, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^OCB_VERSION\s*:?=\s*(\S+)`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("no OCB_VERSION in the Makefile")
	}
	return string(m[1])
}

func TestFinalStages(t *testing.T) {
	d := parseDockerfile(t)
	for _, name := range []string{sidecarStage, llamaStage} {
		t.Run(name, func(t *testing.T) {
			s := d.stage(t, name)

			users := commands[*instructions.UserCommand](s)
			if len(users) == 0 {
				t.Fatal("no USER")
			}
			checkNonRootUser(t, users[len(users)-1].User)

			if sh := commands[*instructions.ShellCommand](s); len(sh) > 0 {
				t.Errorf("SHELL %q in a final stage", sh[0].Shell)
			}

			eps := commands[*instructions.EntrypointCommand](s)
			if len(eps) != 1 {
				t.Fatalf("%d ENTRYPOINTs, want 1", len(eps))
			}
			if eps[0].PrependShell {
				t.Errorf("ENTRYPOINT in shell form: %q", eps[0].CmdLine)
			}
			if !slices.Equal(eps[0].CmdLine, []string{binaryInCtr}) {
				t.Errorf("ENTRYPOINT %q, want [%q]", eps[0].CmdLine, binaryInCtr)
			}

			cmds := commands[*instructions.CmdCommand](s)
			if len(cmds) != 1 {
				t.Fatalf("%d CMDs, want 1", len(cmds))
			}
			if cmds[0].PrependShell {
				t.Errorf("CMD in shell form: %q", cmds[0].CmdLine)
			}
			if len(cmds[0].CmdLine) == 0 || cmds[0].CmdLine[0] != defaultCmd0 {
				t.Errorf("CMD %q, want it to start with %q", cmds[0].CmdLine, defaultCmd0)
			}
			for _, hc := range commands[*instructions.HealthCheckCommand](s) {
				if len(hc.Health.Test) > 0 && hc.Health.Test[0] == "CMD-SHELL" {
					t.Errorf("HEALTHCHECK in shell form: %q", hc.Health.Test)
				}
			}

			var ports []string
			for _, e := range commands[*instructions.ExposeCommand](s) {
				for _, p := range e.Ports {
					ports = append(ports, strings.TrimSuffix(p, "/tcp"))
				}
			}
			for _, p := range wantPorts {
				if !slices.Contains(ports, p) {
					t.Errorf("EXPOSE lacks %s (has %q)", p, ports)
				}
			}

			var binary bool
			for _, c := range commands[*instructions.CopyCommand](s) {
				if c.From == buildStage && slices.Equal(c.SourcePaths, []string{"/src/otelcol-llt/otelcol-llt"}) && c.DestPath == binaryInCtr {
					binary = true
				}
			}
			if !binary {
				t.Errorf("no COPY --from=%s of the binary to %s", buildStage, binaryInCtr)
			}
		})
	}
}

// checkNonRootUser accepts only numeric UID[:GID], neither of them 0, so that Kubernetes'
// runAsNonRoot can verify it without reading /etc/passwd.
func checkNonRootUser(t *testing.T, user string) {
	t.Helper()
	for i, part := range strings.SplitN(user, ":", 2) {
		id, err := strconv.Atoi(part)
		what := [...]string{"UID", "GID"}[i]
		switch {
		case err != nil:
			t.Errorf("USER %q: %s %q is not numeric", user, what, part)
		case id == 0:
			t.Errorf("USER %q: %s 0 is root", user, what)
		}
	}
}

func TestLlamacppStage(t *testing.T) {
	d := parseDockerfile(t)
	s := d.stage(t, llamaStage)
	if s.BaseName != "${"+llamaArg+"}" {
		t.Errorf("llamacpp stage FROM %q, want ${%s}", s.BaseName, llamaArg)
	}
	var found bool
	for _, a := range d.metaArgs {
		for _, kv := range a.Args {
			if kv.Key != llamaArg {
				continue
			}
			found = true
			if kv.Value != nil {
				t.Errorf("ARG %s has a default %q; it must have none (the image is passed with --build-arg)", llamaArg, *kv.Value)
			}
		}
	}
	if !found {
		t.Errorf("no global ARG %s before the first FROM", llamaArg)
	}
	env := map[string]string{}
	for _, e := range commands[*instructions.EnvCommand](s) {
		for _, kv := range e.Env {
			env[kv.Key] = kv.Value
		}
	}
	if env["LLAMA_SERVER"] != "/app/llama-server" {
		t.Errorf("LLAMA_SERVER=%q, want /app/llama-server (where llama.cpp's server image keeps it)", env["LLAMA_SERVER"])
	}
}

// TestImageReferences: every FROM and COPY --from names an earlier stage, the LLAMA_CPP_IMAGE
// argument, or an image without a registry host.
func TestImageReferences(t *testing.T) {
	d := parseDockerfile(t)
	seen := map[string]bool{}
	check := func(where, ref string) {
		if seen[ref] || ref == "${"+llamaArg+"}" || ref == "scratch" {
			return
		}
		if strings.Contains(ref, "$") {
			t.Errorf("%s: %q uses an argument other than %s", where, ref, llamaArg)
			return
		}
		if first, _, ok := strings.Cut(ref, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
			t.Errorf("%s: %q names a registry host (%q)", where, ref, first)
		}
	}
	for _, s := range d.stages {
		check("FROM of stage "+s.Name, s.BaseName)
		for _, c := range commands[*instructions.CopyCommand](s) {
			if c.From == "" {
				continue
			}
			if _, err := strconv.Atoi(c.From); err == nil {
				t.Errorf("stage %s: COPY --from=%s by index; name the stage", s.Name, c.From)
				continue
			}
			check("COPY --from in stage "+s.Name, c.From)
		}
		seen[s.Name] = true
	}
}

// TestContextFiles: the files the Dockerfile COPYs from the build context exist, and the
// Dockerfile-specific ignore file keeps build outputs out without dropping anything needed.
func TestContextFiles(t *testing.T) {
	d := parseDockerfile(t)
	f, err := os.Open("Dockerfile.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	ignored := func(p string) bool {
		m, err := pm.MatchesOrParentMatches(p)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, p := range []string{".git", "out/telemetry.jsonl", "otelcol-llt/otelcol-llt", "bin/lltmodel"} {
		if !ignored(p) {
			t.Errorf("Dockerfile.dockerignore does not exclude %s", p)
		}
	}
	needed := []string{"Makefile", "builder-config.yaml", "scripts/fetch-plotlyjs.sh", "otelcol-llt/main.go",
		"otelcol-llt/go.mod", "exporter/plotlyhtmlexporter/internal/plotlyjs/dist"}
	for _, s := range d.stages {
		for _, c := range commands[*instructions.CopyCommand](s) {
			if c.From != "" {
				continue
			}
			for _, src := range c.SourcePaths {
				if src == "." {
					continue
				}
				needed = append(needed, src)
				if _, err := os.Stat(filepath.Join(repoRoot, src)); err != nil {
					t.Errorf("stage %s copies %s from the context: %v", s.Name, src, err)
				}
			}
		}
	}
	for _, p := range needed {
		if ignored(p) {
			t.Errorf("Dockerfile.dockerignore excludes %s, which the build needs", p)
		}
	}
}

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

func lookup(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func TestSidecarConfig(t *testing.T) {
	c := readYAML(t, "sidecar-config.yaml")
	checks := []struct {
		keys []string
		want any
	}{
		{[]string{"extensions", "health_check", "endpoint"}, "0.0.0.0:13133"},
		{[]string{"receivers", "llamacpp", "endpoint"}, "http://127.0.0.1:8080"},
		{[]string{"receivers", "llamacpp", "gateway", "endpoint"}, "0.0.0.0:8081"},
		{[]string{"receivers", "otlp", "protocols", "grpc", "endpoint"}, "0.0.0.0:4317"},
		{[]string{"receivers", "otlp", "protocols", "http", "endpoint"}, "0.0.0.0:4318"},
		{[]string{"exporters", "plotlyhtml", "serve", "endpoint"}, "0.0.0.0:8050"},
	}
	for _, ck := range checks {
		if got := lookup(c, ck.keys...); got != ck.want {
			t.Errorf("%s = %v, want %v", strings.Join(ck.keys, "."), got, ck.want)
		}
	}
	if _, ok := lookup(c, "receivers").(map[string]any)["nvml"]; !ok {
		t.Error("no nvml receiver")
	}
	if lookup(c, "receivers", "llamacpp", "launcher") != nil {
		t.Error("the sidecar's llamacpp receiver must not use a launcher")
	}
	exts, _ := lookup(c, "service", "extensions").([]any)
	if !slices.Contains(exts, any("health_check")) {
		t.Errorf("service.extensions %v lacks health_check", exts)
	}

	// The overlay of the llamacpp image moves each EXPOSEd listener of the default config.
	o := readYAML(t, "container-config.yaml")
	for _, keys := range [][]string{
		{"extensions", "health_check", "endpoint"},
		{"receivers", "llamacpp", "gateway", "endpoint"},
		{"receivers", "otlp", "protocols", "grpc", "endpoint"},
		{"receivers", "otlp", "protocols", "http", "endpoint"},
		{"exporters", "plotlyhtml", "serve", "endpoint"},
	} {
		if s, _ := lookup(o, keys...).(string); !strings.HasPrefix(s, "0.0.0.0:") {
			t.Errorf("container-config.yaml: %s = %q, want 0.0.0.0:PORT", strings.Join(keys, "."), s)
		}
	}
}

// otelcolBinary returns the built collector: $OTELCOL_LLT_BIN, else ../../otelcol-llt/otelcol-llt.
// Without it the test is skipped, except under LLT_E2E=1, where it fails.
func otelcolBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("OTELCOL_LLT_BIN")
	if bin == "" {
		bin = filepath.Join(repoRoot, "otelcol-llt", "otelcol-llt")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		if os.Getenv("LLT_E2E") == "1" {
			t.Fatalf("otelcol-llt binary %s: %v (run `make build`, or set OTELCOL_LLT_BIN)", abs, err)
		}
		t.Skipf("otelcol-llt binary %s not built (run `make build`, or set OTELCOL_LLT_BIN): %v", abs, err)
	}
	return abs
}

func validate(t *testing.T, bin string, env []string, configs ...string) {
	t.Helper()
	args := []string{"validate"}
	for _, c := range configs {
		args = append(args, "--config="+c)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatal(err)
		}
		t.Errorf("otelcol-llt %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestConfigsValidate(t *testing.T) {
	bin := otelcolBinary(t)
	t.Run(sidecarStage, func(t *testing.T) {
		validate(t, bin, nil, "sidecar-config.yaml")
	})
	t.Run(llamaStage, func(t *testing.T) {
		// As the image's CMD runs it: the default config with container-config.yaml over it.
		validate(t, bin, []string{"LLT_MODEL=/models/model.gguf", "LLT_GPU_DEVICES=[0]", "LLAMA_SERVER=/app/llama-server"},
			filepath.Join(repoRoot, "config.yaml"), "container-config.yaml")
	})
}
