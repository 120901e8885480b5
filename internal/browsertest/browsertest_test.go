// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package browsertest

import (
	"bytes"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writePage writes an HTML page into a fresh temporary folder and returns its file: URL.
func writePage(t *testing.T, html string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "page.html")
	require.NoError(t, os.WriteFile(path, []byte(html), 0o644))
	return FileURL(path)
}

// fakeTB records Fatal and Skip instead of acting on them; run calls a function with it on a
// goroutine of its own, so that the runtime.Goexit of a Fatal or a Skip ends only that function.
type fakeTB struct {
	testing.TB
	mu      sync.Mutex
	fatal   []string
	skipped []string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatal = append(f.fatal, fmt.Sprintf(format, args...))
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }

func (f *fakeTB) Skipf(format string, args ...any) {
	f.mu.Lock()
	f.skipped = append(f.skipped, fmt.Sprintf(format, args...))
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) run(fn func(tb testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
}

func TestFind(t *testing.T) {
	real := Require(t)

	t.Setenv("CHROMIUM", real)
	got, err := Find()
	require.NoError(t, err)
	assert.Equal(t, real, got)

	t.Setenv("CHROMIUM", filepath.Join(t.TempDir(), "no-such-chromium"))
	_, err = Find()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CHROMIUM=")
	assert.Contains(t, err.Error(), "scripts/provision-chromium.sh")
}

func TestRequireWithoutBrowser(t *testing.T) {
	t.Setenv("CHROMIUM", filepath.Join(t.TempDir(), "no-such-chromium"))

	t.Setenv("LLT_E2E", "")
	skip := &fakeTB{TB: t}
	skip.run(func(tb testing.TB) { Require(tb) })
	require.Len(t, skip.skipped, 1, "without LLT_E2E a missing browser skips")
	assert.Empty(t, skip.fatal)
	assert.Contains(t, skip.skipped[0], "scripts/provision-chromium.sh")

	t.Setenv("LLT_E2E", "1")
	fail := &fakeTB{TB: t}
	fail.run(func(tb testing.TB) { Require(tb) })
	require.Len(t, fail.fatal, 1, "under LLT_E2E=1 a missing browser fails")
	assert.Empty(t, fail.skipped)
	assert.Contains(t, fail.fatal[0], "LLT_E2E=1")
	assert.Contains(t, fail.fatal[0], "scripts/provision-chromium.sh")
}

func TestNormalizeOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080":      "http://127.0.0.1:8080",
		"HTTP://LocalHost:8080/a?b":  "http://localhost:8080",
		"http://example.test":        "http://example.test:80",
		"https://example.test/x.js":  "https://example.test:443",
		"http://[::1]:9/":            "http://[::1]:9",
		"file:///tmp/x.html":         "",
		"127.0.0.1:8080/no-scheme-x": "",
	} {
		got, err := normalizeOrigin(in)
		if want == "" {
			assert.Error(t, err, in)
			continue
		}
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
}

// TestRecords checks what a page reports: console errors and assertions, uncaught exceptions
// and promise rejections, and dialogs, which must be dismissed without blocking the page.
func TestRecords(t *testing.T) {
	b := New(t)
	p := b.Open(t, writePage(t, `<!doctype html><title>records</title><body><script>
console.log("not an error");
console.warn("not an error either");
console.error("boom", 42);
console.assert(1 === 2, "math is broken");
console.assert(true, "never shown");
window.confirmed = confirm("sure?");
window.prompted = prompt("name?", "x");
alert("hello");
setTimeout(() => { throw new Error("kaboom"); }, 0);
Promise.reject(new Error("rejected"));
window.after = "ran";
</script></body>`))

	p.WaitFor(t, `window.after === "ran"`, 5*time.Second)
	require.Eventually(t, func() bool { return len(p.Exceptions()) >= 2 }, 5*time.Second, 20*time.Millisecond,
		"exceptions: %q", p.Exceptions())

	assert.Equal(t, []string{"boom 42", "assertion failed: math is broken"}, p.ConsoleErrors())
	assert.Equal(t, []string{"confirm: sure?", "prompt: name?", "alert: hello"}, p.Dialogs())
	var dismissed struct {
		Confirmed bool
		Prompted  *string
	}
	p.Eval(t, `({Confirmed: window.confirmed, Prompted: window.prompted})`, &dismissed)
	assert.False(t, dismissed.Confirmed, "a dismissed confirm returns false")
	assert.Nil(t, dismissed.Prompted, "a dismissed prompt returns null")

	exc := strings.Join(p.Exceptions(), "\n")
	assert.Contains(t, exc, "Uncaught Error: kaboom")
	assert.Contains(t, exc, "Uncaught (in promise) Error: rejected")
	assert.Empty(t, p.FailedRequests())

	// A clean page reports nothing.
	clean := b.Open(t, writePage(t, `<!doctype html><p id=x>fine</p><script>console.info("hi")</script>`))
	assert.Empty(t, clean.ConsoleErrors())
	assert.Empty(t, clean.Exceptions())
	assert.Empty(t, clean.Dialogs())
	assert.Empty(t, clean.FailedRequests())
	clean.AssertNoErrors(t)
}

// TestOffline checks that Offline blocks a script from a CDN and a fetch to a local server, and
// that AllowOrigin lets the fetch through.
func TestOffline(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Access-Control-Allow-Origin", "*") // the page's origin is a file: URL
		_, _ = fmt.Fprint(w, "hello")
	}))
	t.Cleanup(srv.Close)
	const cdn = "http://example.invalid/x.js"
	url := writePage(t, `<!doctype html><body>
<script src="`+cdn+`"></script>
<script>
window.cdnLoaded = typeof window.fromCDN !== "undefined";
window.result = fetch("`+srv.URL+`/").then((r) => r.text()).then((t) => "ok: " + t, (e) => "error: " + e);
</script></body>`)

	t.Run("blocked", func(t *testing.T) {
		hits.Store(0)
		p := New(t, Offline()).Open(t, url)
		var result string
		p.Eval(t, `window.result`, &result)
		assert.Equal(t, "error: TypeError: Failed to fetch", result)
		var cdnLoaded bool
		p.Eval(t, `window.cdnLoaded`, &cdnLoaded)
		assert.False(t, cdnLoaded)

		assert.ElementsMatch(t, []string{cdn, srv.URL + "/"}, p.BlockedRequests())
		require.Eventually(t, func() bool { return len(p.FailedRequests()) == 2 }, 5*time.Second, 20*time.Millisecond,
			"failed requests: %q", p.FailedRequests())
		failed := strings.Join(p.FailedRequests(), "\n")
		assert.Contains(t, failed, cdn+": net::ERR_BLOCKED_BY_CLIENT")
		assert.Contains(t, failed, srv.URL+"/: net::ERR_BLOCKED_BY_CLIENT")
		assert.Zero(t, hits.Load(), "no request may reach the server")
	})

	t.Run("allowed origin", func(t *testing.T) {
		hits.Store(0)
		p := New(t, Offline(), AllowOrigin(srv.URL)).Open(t, url)
		var result string
		p.Eval(t, `window.result`, &result)
		assert.Equal(t, "ok: hello", result)
		assert.Equal(t, int32(1), hits.Load())
		assert.Equal(t, []string{cdn}, p.BlockedRequests(), "the CDN stays blocked")
		require.Eventually(t, func() bool { return len(p.FailedRequests()) == 1 }, 5*time.Second, 20*time.Millisecond)
		assert.Contains(t, p.FailedRequests()[0], cdn)
	})

	t.Run("blocked page", func(t *testing.T) {
		ft := &fakeTB{TB: t}
		b := New(t, Offline())
		ft.run(func(tb testing.TB) { b.Open(tb, srv.URL+"/") })
		require.Len(t, ft.fatal, 1, "opening a blocked page fails")
		assert.Contains(t, ft.fatal[0], "ERR_BLOCKED_BY_CLIENT")
	})
}

// fakePlotsPage mimics the DOM that plotly.js leaves behind, without plotly.js: plot divs of
// class js-plotly-plot with gd.data, an svg.main-svg holding g.trace elements, a WebGL canvas,
// and _fullLayout, set a moment after the load event as plotly.js renders asynchronously.
const fakePlotsPage = `<!doctype html><html><body>
<div id="lat" class="js-plotly-plot"><div class="plot-container"><div class="svg-container">
  <svg class="main-svg"><g class="cartesianlayer"><g class="plot">
    <g class="scatterlayer">
      <g class="trace scatter"><g class="points"><path class="point"></path></g></g>
      <g class="trace scatter"><g class="points"></g></g>
    </g>
    <g class="barlayer"><g class="trace bars"><g class="points"></g></g></g>
  </g></g>
  <g class="rangeslider-container"><g class="scatterlayer"><g class="trace scatter"></g></g></g>
  </svg>
  <svg class="main-svg"><g class="legend"><g class="traces"></g><g class="traces"></g></g></svg>
</div></div></div>
<div id="empty" class="js-plotly-plot"><svg class="main-svg"><g class="cartesianlayer"></g></svg></div>
<div id="gl" class="js-plotly-plot">
  <div class="gl-container"><canvas id="drawn" width="200" height="100"></canvas><canvas id="idle" width="200" height="100"></canvas></div>
  <svg class="main-svg"><g class="indicatorlayer"><g class="trace indicator"></g></g></svg>
</div>
<script>
const $ = (id) => document.getElementById(id);
$("lat").data = [{x: [1, 2, 3], y: [4, 5, 6]}, {x: [1, 2, 3, 4]}, {type: "bar", y: [1, 2]}];
$("lat").layout = {title: {text: "Latency"}};
$("empty").data = [];
$("empty").layout = {annotations: [{text: "No data yet", showarrow: false}]};
// 5 float64 values as plotly.py writes them, a typed array, a z of rows, and an indicator.
$("gl").data = [
  {type: "scatter3d", x: {dtype: "f8", bdata: btoa(String.fromCharCode(...new Uint8Array(new Float64Array([1, 2, 3, 4, 5]).buffer)))}},
  {type: "scattergl", x: new Float32Array(7)},
  {type: "surface", z: [[1, 2, 3], [4, 5, 6]]},
  {type: "indicator", value: 3},
];
$("gl").layout = {title: "GL"};
const gl = $("drawn").getContext("webgl");
gl.clearColor(0, 0, 1, 1);
gl.clear(gl.COLOR_BUFFER_BIT);
gl.drawArrays(gl.POINTS, 0, 0);
$("idle").getContext("webgl");
setTimeout(() => {
  for (const gd of document.querySelectorAll(".js-plotly-plot")) gd._fullLayout = Object.assign({annotations: []}, gd.layout);
  window.rendered = true;
}, 300);
</script></body></html>`

func TestPlots(t *testing.T) {
	p := New(t).Open(t, writePage(t, fakePlotsPage))
	p.WaitForPlots(t, 3, 5*time.Second)
	plots := p.Plots(t)
	require.Len(t, plots, 3)

	assert.Equal(t, Plot{
		ID: "lat", Title: "Latency", Traces: 3, DrawnTraces: 3, Points: 9, Rendered: true,
	}, plots[0], plots[0].String())
	assert.Equal(t, Plot{
		ID: "empty", Traces: 0, DrawnTraces: 0, Points: 0, Empty: true, Annotation: "No data yet", Rendered: true,
	}, plots[1], plots[1].String())
	assert.Equal(t, Plot{
		ID: "gl", Title: "GL", Traces: 4, DrawnTraces: 2, HasGL: true, Points: 5 + 7 + 6 + 1, Rendered: true,
	}, plots[2], plots[2].String())
	p.AssertNoErrors(t)
}

func TestWaitForPlotsTimeout(t *testing.T) {
	p := New(t).Open(t, writePage(t, `<!doctype html><div class="js-plotly-plot"></div>`))
	err := p.waitForPlots(2, 300*time.Millisecond)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "waiting for 2 rendered plotly.js plots")
	assert.Contains(t, err.Error(), "1 plot divs, 0 of them rendered")
	assert.Contains(t, err.Error(), "window.Plotly is undefined")
}

func TestWaitFor(t *testing.T) {
	b := New(t)
	p := b.Open(t, writePage(t, `<!doctype html><script>
window.counter = 0;
setTimeout(() => { window.ready = true; }, 200);
setInterval(() => { window.counter++; }, 10);
console.error("an early error");
</script>`))

	start := time.Now()
	p.WaitFor(t, `window.ready === true`, 5*time.Second)
	assert.Less(t, time.Since(start), 3*time.Second)
	p.WaitFor(t, `new Promise((resolve) => setTimeout(() => resolve(window.counter > 0), 10))`, 5*time.Second)

	start = time.Now()
	err := p.waitFor(`window.counter < 0 // never`, 300*time.Millisecond)
	require.Error(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Contains(t, err.Error(), "timed out after 300ms")
	assert.Contains(t, err.Error(), "`window.counter < 0 // never`")
	assert.Contains(t, err.Error(), "last value: false")

	err = p.waitFor(`window.missing.field`, 200*time.Millisecond)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "last value: exception: ")
	assert.Contains(t, err.Error(), "TypeError")

	// Through the exported method, a timeout fails the test with the page's console errors.
	ft := &fakeTB{TB: t}
	ft.run(func(tb testing.TB) { p.WaitFor(tb, `document.title === "never"`, 200*time.Millisecond) })
	require.Len(t, ft.fatal, 1)
	assert.Contains(t, ft.fatal[0], "`document.title === \"never\"`")
	assert.Contains(t, ft.fatal[0], "last value: false")
	assert.Contains(t, ft.fatal[0], "an early error")
}

func TestEvalScreenshotHTML(t *testing.T) {
	b := New(t, WindowSize(800, 600))
	p := b.Open(t, writePage(t, `<!doctype html><html><body style="margin:0">
<div style="height:2500px;background:linear-gradient(red,blue)">tall</div>
<script>document.body.insertAdjacentHTML("beforeend", "<p id=added>added by script</p>");</script>
</body></html>`))

	var size struct{ W, H int }
	p.Eval(t, `({W: innerWidth, H: innerHeight})`, &size)
	assert.Equal(t, 800, size.W)
	assert.Equal(t, 600, size.H)

	var sum int
	p.Eval(t, `Promise.resolve(1 + 2)`, &sum)
	assert.Equal(t, 3, sum)
	p.Eval(t, `undefined`, nil)

	_, err := p.evalRaw(`(() => { throw new Error("eval failed") })()`)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "eval failed")

	html := p.HTML(t)
	assert.True(t, strings.HasPrefix(html, "<!DOCTYPE html>"), html[:min(len(html), 40)])
	assert.Contains(t, html, `<p id="added">added by script</p>`)

	shot := filepath.Join(t.TempDir(), "shots", "page.png")
	p.Screenshot(t, shot)
	data, err := os.ReadFile(shot)
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(data))
	require.NoError(t, err)
	assert.Equal(t, 800, img.Bounds().Dx(), "the width of the viewport")
	assert.GreaterOrEqual(t, img.Bounds().Dy(), 2500, "the whole page, beyond the viewport")
	r, _, bl, _ := img.At(10, 5).RGBA()
	assert.Greater(t, r, bl, "red at the top")
	r, _, bl, _ = img.At(10, 2490).RGBA()
	assert.Greater(t, bl, r, "blue at the bottom")
}

// TestClose checks that the cleanup of New stops every process of the browser and removes its
// profile, and that a page left open does not keep anything alive.
func TestClose(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the check of leftover processes needs /proc")
	}
	var b *Browser
	t.Run("browser", func(t *testing.T) {
		b = New(t)
		b.Open(t, writePage(t, `<!doctype html><p>open at the end</p>`))
		require.NotZero(t, b.pid)
		require.NotEmpty(t, leftovers(b.pid, b.dataDir), "the browser runs")
	})
	if b == nil { // New skipped (no browser and LLT_E2E unset) or failed: nothing to check
		return
	}
	assert.Empty(t, leftovers(b.pid, b.dataDir), "no process is left after the cleanup")
	_, err := os.Stat(b.dataDir)
	assert.True(t, os.IsNotExist(err), "the profile is removed: %v", err)
}

// TestHungPage checks that a page that never finishes loading fails the test after the
// browser's timeout instead of hanging it, with a message that says what happened, and that
// the browser still closes cleanly.
func TestHungPage(t *testing.T) {
	b := New(t, Timeout(time.Second))
	url := writePage(t, `<!doctype html><script>console.error("about to hang"); while (true) {}</script>`)
	ft := &fakeTB{TB: t}
	start := time.Now()
	ft.run(func(tb testing.TB) { b.Open(tb, url) })
	assert.Less(t, time.Since(start), 10*time.Second)
	require.Len(t, ft.fatal, 1)
	assert.Contains(t, ft.fatal[0], "loading "+url)
	assert.Contains(t, ft.fatal[0], "deadline exceeded")
	assert.Contains(t, ft.fatal[0], "about to hang", "the message shows the console errors so far")
}
