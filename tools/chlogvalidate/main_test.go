// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "valid",
			yaml: "change_type: enhancement\ncomponent: llamacpp\nnote: A note.\nissues: [18]\nsubtext:\n",
		},
		{
			name: "block list and multi-line subtext",
			yaml: "change_type: bug_fix\ncomponent: nvml\nnote: A note.\nissues:\n  - 3\n  - 18\nsubtext: |\n  more\n  lines\n",
		},
		{
			name: "empty fields",
			yaml: "change_type:\ncomponent:\nnote:\nissues: []\nsubtext:\n",
			want: []string{
				"`change_type` must be one of breaking, deprecation, new_component, enhancement, bug_fix, got \"\"",
				"`component` must not be empty",
				"`note` must not be empty",
				"`issues` must list at least one issue number, e.g. [18]",
			},
		},
		{
			name: "unknown change type",
			yaml: "change_type: feature\ncomponent: gguf\nnote: A note.\nissues: [18]\n",
			want: []string{"`change_type` must be one of breaking, deprecation, new_component, enhancement, bug_fix, got \"feature\""},
		},
		{
			name: "issues not a list",
			yaml: "change_type: enhancement\ncomponent: gguf\nnote: A note.\nissues: 18\n",
			want: []string{"not a changelog entry: yaml: unmarshal errors:\n  line 4: cannot unmarshal !!int `18` into []int"},
		},
		{
			name: "issue not a number",
			yaml: "change_type: enhancement\ncomponent: gguf\nnote: A note.\nissues: [\"#18\"]\n",
			want: []string{"not a changelog entry: yaml: unmarshal errors:\n  line 4: cannot unmarshal !!str `#18` into int"},
		},
		{
			name: "negative issue",
			yaml: "change_type: enhancement\ncomponent: gguf\nnote: A note.\nissues: [-1]\n",
			want: []string{"`issues` must hold issue numbers, got -1"},
		},
		{
			name: "misspelt key",
			yaml: "change_type: enhancement\ncomponent: gguf\nnote: A note.\nisues: [18]\n",
			want: []string{"not a changelog entry: yaml: unmarshal errors:\n  line 4: field isues not found in type main.entry"},
		},
		{
			name: "colon in a plain value",
			yaml: "change_type: enhancement\ncomponent: gguf\nnote: gguf reader: faster\nissues: [18]\n",
			want: []string{"not valid YAML (a value that contains \": \" needs quotes): yaml: line 3: mapping values are not allowed in this context"},
		},
		{
			name: "empty file",
			yaml: "",
			want: []string{"the file is empty"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, err := range validate([]byte(tt.yaml)) {
				got = append(got, err.Error())
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestValidateDir(t *testing.T) {
	problems, err := validateDir(filepath.Join("testdata", "chloggen"))
	require.NoError(t, err)
	assert.Equal(t, []string{
		filepath.Join("testdata", "chloggen", "bad.yaml") + ": `note` must not be empty",
	}, problems)

	_, err = validateDir(t.TempDir())
	require.ErrorContains(t, err, "no changelog entries (*.yaml) found")
}
