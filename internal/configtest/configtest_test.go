// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package configtest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

// As confmap.Validate reports a section's problems: the path wraps the joined errors, and its
// text names the path before the first problem only.
func TestErrorLines(t *testing.T) {
	section := fmt.Errorf("embeddings: %w", errors.Join(errors.New("`window` must be >= 10"), errors.New("`clusters` must be 1..64")))
	err := errors.Join(errors.New("`launcher` is required"), section)
	want := []string{"`launcher` is required", "embeddings: `window` must be >= 10", "embeddings: `clusters` must be 1..64"}
	if got := ErrorLines(err); !reflect.DeepEqual(got, want) {
		t.Fatalf("ErrorLines = %q, want %q", got, want)
	}
	AssertErrorLine(t, err, "embeddings: `clusters`")
}
