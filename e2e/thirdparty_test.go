// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"text/template"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestThirdPartyManifest builds a third party's collector with ocb from a minimal manifest that
// takes only core components and our llamalauncher extension, runs its `components` command,
// and starts it with the launcher on the tiny model.
func TestThirdPartyManifest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a collector with ocb (about a minute with a warm module cache)")
	}
	ocb := binary(t, "OCB_BIN", "../.tools/bin/builder", "make tools")
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	out := t.TempDir()
	tmpl := template.Must(template.ParseFiles("testdata/thirdparty/builder-config.yaml.tmpl"))
	manifest := filepath.Join(out, "builder-config.yaml")
	f, err := os.Create(manifest)
	require.NoError(t, err)
	require.NoError(t, tmpl.Execute(f, map[string]string{"Root": root, "Out": filepath.Join(out, "dist")}))
	require.NoError(t, f.Close())

	cmd := exec.Command(ocb, "--config", manifest)
	cmd.Dir = out
	build, err := cmd.CombinedOutput()
	require.NoError(t, err, "ocb:\n%s", build)

	bin := filepath.Join(out, "dist", "otelcol-thirdparty")
	var got struct {
		Receivers  []struct{ Name string } `yaml:"receivers"`
		Exporters  []struct{ Name string } `yaml:"exporters"`
		Extensions []struct {
			Name   string `yaml:"name"`
			Module string `yaml:"module"`
		} `yaml:"extensions"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(run(t, nil, bin, "components")), &got))
	require.Len(t, got.Extensions, 1)
	assert.Equal(t, "llamalauncher", got.Extensions[0].Name)
	assert.Equal(t, "github.com/llamatelemetry/otelcol-llt/launcher v0.0.0", got.Extensions[0].Module)
	require.Len(t, got.Receivers, 1)
	assert.Equal(t, "otlp", got.Receivers[0].Name)

	runCollectorWithLauncher(t, bin)
}
