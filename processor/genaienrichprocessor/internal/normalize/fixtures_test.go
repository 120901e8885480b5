// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.yaml.in/yaml/v3"
)

// fixtureFile is one testdata/*.yaml file: spans as one instrumentation writes them and the
// attributes expected after normalization. YAML integers become int attributes, YAML floats
// (written with a decimal point) double attributes, sequences slices, mappings maps.
type fixtureFile struct {
	Instrumentation string        `yaml:"instrumentation"`
	Sources         []string      `yaml:"sources"`
	Cases           []fixtureCase `yaml:"cases"`
}

type fixtureCase struct {
	Name    string `yaml:"name"`
	Source  string `yaml:"source"`
	Options struct {
		KeepOriginal bool `yaml:"keep_original"`
		Latest       bool `yaml:"latest"`
	} `yaml:"options"`
	Input  map[string]any `yaml:"input"`
	Want   map[string]any `yaml:"want"`
	Result struct {
		Set       int `yaml:"set"`
		Removed   int `yaml:"removed"`
		Skipped   int `yaml:"skipped"`
		Conflicts int `yaml:"conflicts"`
	} `yaml:"result"`
}

func loadFixtures(t *testing.T) map[string]fixtureFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	out := make(map[string]fixtureFile, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		var f fixtureFile
		require.NoError(t, yaml.Unmarshal(data, &f), p)
		out[filepath.Base(p)] = f
	}
	return out
}

func mapOf(t *testing.T, raw map[string]any) pcommon.Map {
	t.Helper()
	m := pcommon.NewMap()
	require.NoError(t, m.FromRaw(raw))
	return m
}

func TestFixtures(t *testing.T) {
	files := loadFixtures(t)
	for _, name := range []string{"openinference.yaml", "openllmetry.yaml", "openlit.yaml", "legacy.yaml", "v141.yaml", "vllm.yaml", "frameworks.yaml"} {
		require.Contains(t, files, name)
	}
	for file, f := range files {
		require.NotEmpty(t, f.Instrumentation, file)
		require.NotEmpty(t, f.Sources, file)
		require.NotEmpty(t, f.Cases, file)
		for _, c := range f.Cases {
			t.Run(file+"/"+c.Name, func(t *testing.T) {
				require.NotEmpty(t, c.Source, "every case names where its attributes come from")
				n := New(Options{KeepOriginal: c.Options.KeepOriginal, Latest: c.Options.Latest})
				m := mapOf(t, c.Input)
				res := n.Attributes(m)
				want := mapOf(t, c.Want)
				assert.Equal(t, want.AsRaw(), m.AsRaw())
				assert.Equal(t, Result{Set: c.Result.Set, Removed: c.Result.Removed, Skipped: c.Result.Skipped, Conflicts: c.Result.Conflicts}, res)

				// Normalizing the result again changes nothing.
				again := n.Attributes(m)
				assert.False(t, again.Changed(), "second pass changed %+v", again)
				assert.Equal(t, want.AsRaw(), m.AsRaw())
			})
		}
	}
}
