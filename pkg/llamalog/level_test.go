// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamalog

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLevelString(t *testing.T) {
	tests := []struct {
		level Level
		want  string
	}{
		{LevelUnspecified, ""},
		{LevelDebug, "DEBUG"},
		{LevelInfo, "INFO"},
		{LevelWarn, "WARN"},
		{LevelError, "ERROR"},
		{Level(-1), ""},
		{Level(42), ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.level.String(), "Level(%d)", int(tt.level))
	}
}

func TestLevelAtLeast(t *testing.T) {
	tests := []struct {
		name      string
		level     Level
		threshold Level
		want      bool
	}{
		{"error at least warn", LevelError, LevelWarn, true},
		{"warn at least warn", LevelWarn, LevelWarn, true},
		{"info not at least warn", LevelInfo, LevelWarn, false},
		{"debug at least debug", LevelDebug, LevelDebug, true},
		{"debug not at least info", LevelDebug, LevelInfo, false},
		{"unspecified at least unspecified", LevelUnspecified, LevelUnspecified, true},
		{"unspecified not at least debug", LevelUnspecified, LevelDebug, false},
		{"error at least unspecified", LevelError, LevelUnspecified, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.level.AtLeast(tt.threshold))
		})
	}
}

func TestLevelFromName(t *testing.T) {
	tests := map[string]Level{
		"debug": LevelDebug, "DEBUG": LevelDebug, "trace": LevelDebug,
		"info": LevelInfo, "Info": LevelInfo,
		"warn": LevelWarn, "warning": LevelWarn,
		"error": LevelError, "err": LevelError,
		"cont": LevelUnspecified, "none": LevelUnspecified, "unknown": LevelUnspecified, "": LevelUnspecified,
	}
	for name, want := range tests {
		assert.Equal(t, want, levelFromName(name), "%q", name)
	}
}
