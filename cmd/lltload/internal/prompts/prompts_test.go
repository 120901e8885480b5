// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package prompts

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPromptLists(t *testing.T) {
	require.Equal(t, []Category{Code, Prose}, Categories)
	prose := regexp.MustCompile(`^[A-Z][A-Za-z ,'-]+[.?]$`)
	seen := map[string]bool{}
	for _, c := range Categories {
		list := List(c)
		assert.GreaterOrEqual(t, len(list), 20, "category %s", c)
		for _, p := range list {
			assert.False(t, seen[p], "duplicate prompt %q", p)
			seen[p] = true
			assert.LessOrEqual(t, len(p), 120, "prompt too long for a small context: %q", p)
			switch c {
			case Code:
				assert.True(t, strings.ContainsAny(p, "(){}[];=#<>|$"), "code prompt without code: %q", p)
			case Prose:
				assert.Regexp(t, prose, p)
			}
		}
	}
	assert.Nil(t, List("poetry"))
}
