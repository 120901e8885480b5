// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package browsertest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// webGLProbeJS asks a fresh canvas for a WebGL context, as plotly.js does for its 3D traces,
// and says what it got: the renderer's name, or null when there is no context at all.
const webGLProbeJS = `(() => {
	const c = document.createElement('canvas');
	const gl = c.getContext('webgl') || c.getContext('experimental-webgl');
	if (!gl) return null;
	const info = gl.getExtension('WEBGL_debug_renderer_info');
	const r = info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
	return gl.getParameter(gl.VERSION) + ' | ' + r;
})()`

// logVersionOnce makes the browser's version and renderer appear once in each test binary's
// log, so that a run's log records which Chromium it was checked with.
var logVersionOnce sync.Once

// checkWebGL fails tb, with a message that names the Chromium version and its switches, when the
// browser gives pages no WebGL context: without it plotly.js's 3D traces draw nothing, and a test
// would otherwise fail much later with a panel that "drew nothing" and no reason.
func (b *Browser) checkWebGL(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.cfg.startTimeout())
	defer cancel()
	v, err := chromedp.CallBrowser(ctx, browser.GetVersion, cdp.Empty{})
	if err != nil {
		tb.Fatalf("browsertest: asking %s for its version: %v%s", b.path, err, b.outputTail())
	}
	product := v.Product
	renderer, err := chromedp.Run(ctx, chromedp.Evaluate[*string](webGLProbeJS))
	if err != nil {
		tb.Fatalf("browsertest: probing %s (%s) for WebGL: %v%s", product, b.path, err, b.outputTail())
	}
	b.version = product
	if msg := webGLMessage(product, b.path, b.switches(), renderer); msg != "" {
		tb.Fatal(msg)
	}
	logVersionOnce.Do(func() { tb.Logf("browsertest: %s (%s), WebGL: %s", product, b.path, *renderer) })
}

// webGLMessage is the failure message for a browser without WebGL, or "" when renderer names one.
func webGLMessage(product, path string, switches []string, renderer *string) string {
	if renderer != nil && *renderer != "" {
		return ""
	}
	return fmt.Sprintf("browsertest: WebGL is not available in %s (%s): a page gets no WebGL context, so "+
		"plotly.js's 3D traces (scatter3d, surface) cannot draw. It was started with: %s. "+
		"Software GL needs --enable-unsafe-swiftshader (and --use-angle=swiftshader) with --disable-gpu; "+
		"check that no Flag option removed them, and see scripts/provision-chromium.sh for the versions known to work",
		product, path, strings.Join(switches, " "))
}

// switches lists the command-line switches the browser was started with, sorted, as
// --name or --name=value.
func (b *Browser) switches() []string {
	set := make(map[string]any, len(baseFlags)+len(b.cfg.flags))
	for _, f := range baseFlags {
		set[f.name] = f.value
	}
	for name, value := range b.cfg.flags {
		set[name] = value
	}
	var out []string
	for name, value := range set {
		switch v := value.(type) {
		case bool:
			if v {
				out = append(out, "--"+name)
			}
		default:
			out = append(out, fmt.Sprintf("--%s=%v", name, v))
		}
	}
	sort.Strings(out)
	return out
}

// Version is the browser's product name and version, such as "HeadlessChrome/156.0.8078.114".
func (b *Browser) Version() string { return b.version }
