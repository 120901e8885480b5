// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	readmePath  = "README.md"
	readmeBegin = "<!-- BEGIN GENERATED: go test -run TestReadmeTableUpToDate (UPDATE_README=1 rewrites it) -->"
	readmeEnd   = "<!-- END GENERATED -->"
)

// mdCell escapes a markdown table cell.
func mdCell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

// renderTables renders Table() and ProviderValues() as markdown.
func renderTables() string {
	var b strings.Builder
	b.WriteString("### Attributes\n\n")
	b.WriteString("Rows are in priority order: when two rows write the same attribute, the earlier one wins.\n\n")
	b.WriteString("| From | To | How | Source |\n| --- | --- | --- | --- |\n")
	for _, r := range Table() {
		b.WriteString("| `" + mdCell(r.From) + "` | `" + mdCell(r.To) + "` | " + mdCell(r.Kind+": "+r.Note) + " | " + mdCell(r.Source) + " |\n")
	}
	b.WriteString("\n### Provider values\n\n")
	b.WriteString("Applied to `gen_ai.system`, `llm.vendor`, `llm.provider` and `llm.system` on their way to `gen_ai.provider.name`; ")
	b.WriteString("the lookup ignores case, and a value not listed is copied as it is.\n\n")
	b.WriteString("| From | To | Source |\n| --- | --- | --- |\n")
	for _, p := range providerValues {
		b.WriteString("| `" + mdCell(p.From) + "` | `" + mdCell(p.To) + "` | " + mdCell(p.Source) + " |\n")
	}
	for _, p := range latestProviderValues {
		b.WriteString("| `" + mdCell(p.From) + "` | `" + mdCell(p.To) + "` (Latest only) | " + mdCell(p.Source) + " |\n")
	}
	return b.String()
}

// TestReadmeTableUpToDate fails when README.md does not show the current table; run it with
// UPDATE_README=1 to rewrite the generated section.
func TestReadmeTableUpToDate(t *testing.T) {
	data, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	doc := string(data)
	begin := strings.Index(doc, readmeBegin)
	end := strings.Index(doc, readmeEnd)
	require.True(t, begin >= 0 && end > begin, "README.md lacks the generated-section markers")
	want := doc[:begin+len(readmeBegin)] + "\n\n" + renderTables() + "\n" + doc[end:]
	if os.Getenv("UPDATE_README") == "1" {
		require.NoError(t, os.WriteFile(readmePath, []byte(want), 0o644))
		return
	}
	require.Equal(t, want, doc, "README.md is out of date: run UPDATE_README=1 go test -run TestReadmeTableUpToDate ./internal/normalize/")
}
