// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package browsertest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWebGLProbe checks that a browser whose pages get no WebGL context fails New at once with a
// message naming the Chromium version and the switches, instead of a 3D panel that "drew
// nothing" later; and that the message is empty when there is a renderer.
func TestWebGLProbe(t *testing.T) {
	b := New(t)
	assert.Contains(t, b.Version(), "Chrome/", "the version comes from the DevTools protocol")
	t.Logf("checked with %s", b.Version())

	ft := &fakeTB{TB: t}
	ft.run(func(tb testing.TB) { New(tb, Flag("disable-webgl", true)) })
	require.Len(t, ft.fatal, 1, "a browser without WebGL fails New")
	msg := ft.fatal[0]
	t.Log(msg)
	assert.Contains(t, msg, "WebGL is not available")
	assert.Contains(t, msg, b.Version(), "names the version")
	assert.Contains(t, msg, "--disable-webgl", "names the switches it was started with")
	assert.Contains(t, msg, "--enable-unsafe-swiftshader")
	assert.NotContains(t, msg, "drew nothing")

	r := "WebGL 1.0 | SwiftShader"
	assert.Empty(t, webGLMessage("HeadlessChrome/1", "/x", nil, &r))
	empty := ""
	assert.NotEmpty(t, webGLMessage("HeadlessChrome/1", "/x", nil, &empty))
	assert.Contains(t, webGLMessage("HeadlessChrome/148.0", "/usr/bin/chromium", []string{"--headless"}, nil),
		"HeadlessChrome/148.0 (/usr/bin/chromium)")
}

// TestSwitchesHaveSoftwareGL checks that every browser asks for software GL explicitly, so that
// no test depends on what a Chromium version does by default with --disable-gpu.
func TestSwitchesHaveSoftwareGL(t *testing.T) {
	b := &Browser{}
	sw := b.switches()
	assert.Contains(t, sw, "--enable-unsafe-swiftshader")
	assert.Contains(t, sw, "--use-angle=swiftshader")
	assert.Contains(t, sw, "--disable-gpu")
	b.cfg.flags = map[string]any{"enable-unsafe-swiftshader": false}
	assert.NotContains(t, b.switches(), "--enable-unsafe-swiftshader", "Flag(name, false) removes a switch")
}
