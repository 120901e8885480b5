// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package browsertest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// DefaultTimeout bounds every call into the browser unless [Timeout] says otherwise.
const DefaultTimeout = 30 * time.Second

// Default window size, in CSS pixels; see [WindowSize].
const (
	DefaultWidth  = 1400
	DefaultHeight = 1000
)

// leftoverGrace is how long the cleanup waits for the browser's children to exit by themselves
// before it kills them and fails the test.
const leftoverGrace = 5 * time.Second

// config is what the options of [New] set.
type config struct {
	offline       bool
	allowed       map[string]bool // normalized origins, see normalizeOrigin
	width, height int
	timeout       time.Duration
	flags         map[string]any
}

// Option configures [New].
type Option func(*config)

// Offline turns the network off for every page of the browser: a request whose URL is not
// file:, data:, blob: or about:, and whose origin was not allowed with [AllowOrigin], fails with
// net::ERR_BLOCKED_BY_CLIENT. The page sees an ordinary network error (a <script src> from a
// CDN fails to load, a fetch rejects), the request shows in [Page.FailedRequests], and its URL
// in [Page.BlockedRequests].
//
// It is done with the DevTools Fetch domain, which sees the requests of the page and of its
// same-process frames. WebSocket connections do not go through it.
func Offline() Option { return func(c *config) { c.offline = true } }

// AllowOrigin lets requests to one origin through when the browser is [Offline], for example the
// collector's own HTTP server in a test: AllowOrigin("http://127.0.0.1:41234"). The origin is
// scheme://host[:port]; a default port may be left out. A URL with a path is accepted and reduced
// to its origin. An origin that does not parse fails the test in [New].
func AllowOrigin(origin string) Option {
	return func(c *config) {
		if c.allowed == nil {
			c.allowed = make(map[string]bool)
		}
		c.allowed[origin] = true // normalized in New, where a bad one can fail the test
	}
}

// WindowSize sets the size of the browser window and of each page's viewport, in CSS pixels.
// The default is [DefaultWidth] x [DefaultHeight].
func WindowSize(width, height int) Option {
	return func(c *config) { c.width, c.height = width, height }
}

// Timeout sets the limit of every call into the browser (loading a page, evaluating a script,
// taking a screenshot). The default is [DefaultTimeout]. Starting the browser and opening a tab
// get at least [DefaultTimeout] whatever the setting, as a busy machine can need seconds for
// them. [Page.WaitFor] has its own limit.
func Timeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// startTimeout bounds the start of the browser and the opening of a tab.
func (c *config) startTimeout() time.Duration { return max(c.timeout, DefaultTimeout) }

// Flag adds a Chromium command-line switch, as chromedp.Flag does: a string value gives
// --name=value, true gives --name, false removes a switch that browsertest sets by default.
func Flag(name string, value any) Option {
	return func(c *config) {
		if c.flags == nil {
			c.flags = make(map[string]any)
		}
		c.flags[name] = value
	}
}

// Browser is a headless Chromium that [New] started for one test. It closes itself when the
// test ends.
type Browser struct {
	cfg     config
	path    string
	dataDir string
	version string // "HeadlessChrome/156.0.8078.114", from the DevTools protocol

	allocCtx    context.Context
	cancelAlloc context.CancelFunc
	ctx         context.Context // the browser's chromedp context
	cancel      context.CancelFunc

	out *ringBuffer // the browser's stdout and stderr, for failure messages
	pid int         // the main process, which leads its own process group

	mu     sync.Mutex
	closed bool
}

// baseFlags are the switches every browser gets. The three "disable-background" ones and
// disable-component-update, disable-sync and disable-quic keep Chromium from calling hosts on
// its own, which a closed network refuses (and which slows every start).
var baseFlags = []struct {
	name  string
	value any
}{
	{"headless", true},
	{"no-sandbox", true},
	{"disable-gpu", true},
	// WebGL by software, said out loud: with --disable-gpu, some Chromium builds (Debian's 148)
	// give a page no WebGL context at all unless SwiftShader is allowed explicitly, while others
	// (156) fall back to it by themselves. The 3D panels (scatter3d, surface) need WebGL, so the
	// tests must not depend on which. New checks that WebGL works (see probeWebGL).
	{"enable-unsafe-swiftshader", true},
	{"use-angle", "swiftshader"},
	{"disable-background-networking", true},
	{"disable-component-update", true},
	{"disable-sync", true},
	{"disable-quic", true},
	{"no-first-run", true},
	{"no-default-browser-check", true},
	{"disable-breakpad", true},
	{"disable-crash-reporter", true},
	{"disable-default-apps", true},
	{"disable-extensions", true},
	{"disable-domain-reliability", true},
	{"disable-client-side-phishing-detection", true},
	{"safebrowsing-disable-auto-update", true},
	{"metrics-recording-only", true},
	{"disable-features", "Translate,MediaRouter,OptimizationHints,AutofillServerCommunication,CertificateTransparencyComponentUpdater"},
	{"disable-dev-shm-usage", true},
	// Each page opens in a window of its own (see Open); none of them may be throttled, or
	// plotly.js, which draws in animation frames, would not render.
	{"disable-background-timer-throttling", true},
	{"disable-backgrounding-occluded-windows", true},
	{"disable-renderer-backgrounding", true},
	{"hide-scrollbars", true},
	{"mute-audio", true},
	{"force-color-profile", "srgb"},
	{"password-store", "basic"},
	{"use-mock-keychain", true},
}

// New starts a headless Chromium for the test, with a fresh temporary profile, and closes it
// when the test ends: the cleanup closes the browser, waits for its process, checks that none
// of its child processes is left (killing and reporting any that is), and removes the profile.
// Without a browser it skips or fails the test, as [Require] does.
func New(tb testing.TB, opts ...Option) *Browser {
	tb.Helper()
	path := Require(tb)

	cfg := config{width: DefaultWidth, height: DefaultHeight, timeout: DefaultTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.width <= 0 || cfg.height <= 0 {
		tb.Fatalf("browsertest: bad window size %dx%d", cfg.width, cfg.height)
	}
	if cfg.timeout <= 0 {
		cfg.timeout = DefaultTimeout
	}
	if cfg.allowed != nil {
		norm := make(map[string]bool, len(cfg.allowed))
		for o := range cfg.allowed {
			n, err := normalizeOrigin(o)
			if err != nil {
				tb.Fatalf("browsertest: AllowOrigin(%q): %v", o, err)
			}
			norm[n] = true
		}
		cfg.allowed = norm
	}

	dataDir, err := os.MkdirTemp("", "browsertest-chromium-")
	if err != nil {
		tb.Fatalf("browsertest: creating the profile folder: %v", err)
	}
	b := &Browser{cfg: cfg, path: path, dataDir: dataDir, out: newRingBuffer(32 << 10)}

	allocOpts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dataDir),
		chromedp.WindowSize(cfg.width, cfg.height),
		chromedp.CombinedOutput(b.out),
		chromedp.ModifyCmdFunc(setProcAttr),
	}
	for _, f := range baseFlags {
		allocOpts = append(allocOpts, chromedp.Flag(f.name, f.value))
	}
	for name, value := range cfg.flags {
		allocOpts = append(allocOpts, chromedp.Flag(name, value))
	}
	b.allocCtx, b.cancelAlloc = chromedp.NewExecAllocator(context.Background(), allocOpts...)
	// chromedp's own log lines (protocol decode errors and the like) must not reach tb after the
	// test ends, so they go to the same buffer as the browser's output.
	logf := func(format string, args ...any) { _, _ = fmt.Fprintf(b.out, "chromedp: "+format+"\n", args...) }
	b.ctx, b.cancel = chromedp.NewContext(b.allocCtx, chromedp.WithErrorf(logf), chromedp.WithLogf(logf))
	tb.Cleanup(func() { b.close(tb) })

	// The first run starts the process and binds its life to b.ctx, so it must not get a
	// deadline; startWithin cancels it instead when it takes too long.
	if err := startWithin(b.ctx, b.cancel, cfg.startTimeout(), chromedp.Steps()); err != nil {
		tb.Fatalf("browsertest: starting %s: %v%s", path, err, b.outputTail())
	}
	if c := chromedp.FromContext(b.ctx); c != nil && c.Browser != nil && c.Browser.Process() != nil {
		b.pid = c.Browser.Process().Pid
	}
	b.checkWebGL(tb)
	return b
}

// Path is the Chromium executable that the browser runs.
func (b *Browser) Path() string { return b.path }

// Offline reports whether the browser was started with [Offline].
func (b *Browser) Offline() bool { return b.cfg.offline }

// close shuts the browser down and checks that no process of it is left.
func (b *Browser) close(tb testing.TB) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.mu.Unlock()

	pgid := b.pid
	// Close gracefully, which lets Chromium stop its children; cancel the contexts after it,
	// which kills what is left of the main process and waits for it.
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	if err := chromedp.Cancel(ctx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		tb.Logf("browsertest: closing the browser: %v", err)
	}
	cancel()
	b.cancel()
	b.cancelAlloc()

	deadline := time.Now().Add(leftoverGrace)
	left := leftovers(pgid, b.dataDir)
	for len(left) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		left = leftovers(pgid, b.dataDir)
	}
	if len(left) > 0 {
		var lines []string
		for _, p := range left {
			kill(p.pid)
			lines = append(lines, fmt.Sprintf("  pid %d: %.200s", p.pid, p.cmdline))
		}
		tb.Errorf("browsertest: %d Chromium process(es) still running %v after the browser closed (killed now):\n%s",
			len(left), leftoverGrace, strings.Join(lines, "\n"))
		time.Sleep(100 * time.Millisecond) // let them die before the profile is removed
	}
	if err := removeAllRetry(b.dataDir); err != nil {
		tb.Logf("browsertest: removing the profile %s: %v", b.dataDir, err)
	}
}

// removeAllRetry removes dir, retrying for a moment: a dying Chromium can still write in it.
func removeAllRetry(dir string) error {
	var err error
	for range 20 {
		if err = os.RemoveAll(dir); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

// startWithin runs the first action on a chromedp context, which binds the browser (or the tab)
// to ctx, so ctx itself cannot carry a deadline. When the action takes longer than d, it cancels
// ctx and reports the timeout.
func startWithin(ctx context.Context, cancel context.CancelFunc, d time.Duration, a chromedp.Action[chromedp.Void]) error {
	done := make(chan error, 1)
	go func() {
		_, err := chromedp.Run(ctx, a)
		done <- err
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		cancel()
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("no answer within %v (%w)", d, err)
			}
		case <-time.After(10 * time.Second):
		}
		return fmt.Errorf("no answer within %v", d)
	}
}

// outputTail is the end of the browser's own output, as a suffix for a failure message.
func (b *Browser) outputTail() string {
	s := strings.TrimSpace(b.out.String())
	if s == "" {
		return ""
	}
	return "\nbrowser output (end):\n" + s
}

// normalizeOrigin turns "http://127.0.0.1:8080/x" into "http://127.0.0.1:8080" and adds the
// default port of http, https, ws and wss when it is missing.
func normalizeOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("want scheme://host[:port], got %q", s)
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		switch scheme {
		case "http", "ws":
			port = "80"
		case "https", "wss":
			port = "443"
		}
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" {
		return scheme + "://" + host, nil
	}
	return scheme + "://" + host + ":" + port, nil
}

// allowed reports whether a request to rawURL may go out of an [Offline] browser.
func (c *config) allowedURL(rawURL string) bool {
	if !c.offline {
		return true
	}
	scheme, _, ok := strings.Cut(rawURL, ":")
	if !ok {
		return false
	}
	switch strings.ToLower(scheme) {
	case "file", "data", "blob", "about":
		return true
	}
	o, err := normalizeOrigin(rawURL)
	return err == nil && c.allowed[o]
}

// ringBuffer keeps the last bytes written to it; it is safe for concurrent use.
type ringBuffer struct {
	mu   sync.Mutex
	max  int
	data []byte
}

func newRingBuffer(max int) *ringBuffer { return &ringBuffer{max: max} }

func (r *ringBuffer) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.data = append(r.data, p...)
	if over := len(r.data) - r.max; over > 0 {
		r.data = append(r.data[:0], r.data[over:]...)
	}
	return len(p), nil
}

func (r *ringBuffer) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	const show = 4 << 10
	s := r.data
	if len(s) > show {
		s = s[len(s)-show:]
	}
	return string(s)
}
