// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package plotlyhtmlexporter

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The contract between the receivers and the dashboards: every metric the dashboards read (a
// conventions.Metric* constant used in this module's code) is declared in some receiver's
// metadata.yaml, so that renaming a metric in a receiver fails here instead of emptying a panel.
// The dashboards spell metric names only through pkg/conventions: a quoted literal equal to one of
// its values fails too.
func TestDashboardMetricsAreDeclared(t *testing.T) {
	consts := conventionValues(t, "../../pkg/conventions")
	declared := declaredMetrics(t, "../../receiver")
	used := map[string]string{} // constant -> a file using it
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	more, err := filepath.Glob("internal/*/*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	for _, f := range append(files, more...) {
		if strings.HasSuffix(f, "_test.go") || strings.Contains(f, "internal/metadata") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		require.NoError(t, err)
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && id.Name == "conventions" && strings.HasPrefix(n.Sel.Name, "Metric") {
					used[n.Sel.Name] = f
				}
			case *ast.BasicLit:
				if n.Kind == token.STRING {
					if v, err := strconv.Unquote(n.Value); err == nil {
						for name, value := range consts {
							if value == v {
								t.Errorf("%s: %q is conventions.%s: use the constant", fset.Position(n.Pos()), v, name)
							}
						}
					}
				}
			}
			return true
		})
	}
	require.NotEmpty(t, used, "the dashboards read no metric through pkg/conventions")
	for _, name := range slices.Sorted(maps.Keys(used)) {
		metric := consts[name]
		if !slices.Contains(declared, metric) {
			t.Errorf("%s reads conventions.%s = %q, which no receiver's metadata.yaml declares", used[name], name, metric)
		}
	}
	t.Logf("%d metrics read by the dashboards, checked against the %d that receivers declare", len(used), len(declared))
}

// conventionValues maps each string constant of the conventions package to its value.
func conventionValues(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	require.NoError(t, err)
	for _, p := range pkgs {
		for _, f := range p.Files {
			for _, d := range f.Decls {
				g, ok := d.(*ast.GenDecl)
				if !ok || g.Tok != token.CONST {
					continue
				}
				for _, s := range g.Specs {
					vs := s.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
								out[n.Name], _ = strconv.Unquote(lit.Value)
							}
						}
					}
				}
			}
		}
	}
	require.NotEmpty(t, out)
	return out
}

// declaredMetrics lists the metrics under `metrics:` in every receiver's metadata.yaml, and the
// llamacpp gateway's histograms: mdatagen v0.159 cannot generate histograms (the generated code
// does not compile, open-telemetry/opentelemetry-collector#13575), so the receiver declares their
// switches by hand in its MetricsConfig, as mapstructure keys.
func declaredMetrics(t *testing.T, dir string) []string {
	out := declaredInMetadata(t, dir)
	src, err := os.ReadFile(filepath.Join(dir, "llamacppreceiver", "config.go"))
	require.NoError(t, err)
	for _, m := range regexp.MustCompile(`mapstructure:"((?:gen_ai|llamacpp)\.[a-z0-9_.]+)"`).FindAllSubmatch(src, -1) {
		out = append(out, string(m[1]))
	}
	return out
}

// declaredInMetadata lists the metrics under `metrics:` in every receiver's metadata.yaml.
func declaredInMetadata(t *testing.T, dir string) []string {
	paths, err := filepath.Glob(filepath.Join(dir, "*", "metadata.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	key := regexp.MustCompile(`^  ([a-z0-9_.]+):\s*$`)
	var out []string
	for _, p := range paths {
		f, err := os.Open(p)
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		in := false
		for sc.Scan() {
			line := sc.Text()
			if line != "" && line[0] != ' ' && line[0] != '#' {
				in = strings.HasPrefix(line, "metrics:")
				continue
			}
			if m := key.FindStringSubmatch(line); in && m != nil {
				out = append(out, m[1])
			}
		}
		require.NoError(t, sc.Err())
		require.NoError(t, f.Close())
	}
	return out
}
