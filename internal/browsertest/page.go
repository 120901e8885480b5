// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Page is one tab of a [Browser], opened by [Browser.Open]. It records, from the moment the tab
// opens, what the page reports: console errors, uncaught exceptions, JavaScript dialogs and
// failed requests. Its methods may be called from one goroutine at a time; the records may be
// read from any.
type Page struct {
	b      *Browser
	url    string
	ctx    context.Context // the tab's chromedp context
	cancel context.CancelFunc
	once   sync.Once

	mu         sync.Mutex
	console    []string
	exceptions []string
	dialogs    []string
	failed     []string
	blocked    []string
	requests   map[network.RequestID]string // URL of each request seen, for failed ones
}

// Open opens url in a new tab (a window of its own, so that it is never throttled as a hidden
// tab would be), navigates to it and waits for its load event. JavaScript dialogs (alert,
// confirm, prompt) are recorded and dismissed at once, so that none can block the page. The tab
// closes when the test of tb ends, or with [Page.Close]. Open fails the test when the page does
// not load within the browser's timeout.
func (b *Browser) Open(tb testing.TB, url string) *Page {
	tb.Helper()
	p := &Page{b: b, url: url, requests: make(map[network.RequestID]string)}
	p.ctx, p.cancel = chromedp.NewContext(b.ctx, chromedp.WithListener(p.onEvent))
	tb.Cleanup(p.Close)

	setup := []chromedp.Action[chromedp.Void]{
		// The window of a headless Chromium keeps some height for its (invisible) toolbar: make
		// the viewport exactly the configured size, so that layouts and screenshots are stable.
		chromedp.EmulateViewport(int64(b.cfg.width), int64(b.cfg.height)),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument,
				page.AddScriptToEvaluateOnNewDocumentParams{Source: glProbeJS})
			return err
		}),
	}
	if b.cfg.offline {
		setup = append(setup, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, fetch.Enable, fetch.EnableParams{
				Patterns: []*fetch.RequestPattern{{URLPattern: "*"}},
			})
			return err
		}))
	}
	// The first run opens the tab and binds it to p.ctx; see startWithin.
	if err := startWithin(p.ctx, p.cancel, b.cfg.startTimeout(), chromedp.Steps(setup...)); err != nil {
		p.fatalf(tb, "browsertest: opening a tab for %s: %v%s", url, err, b.outputTail())
	}
	ctx, cancel := p.callCtx()
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
		p.fatalf(tb, "browsertest: loading %s: %v", url, p.explain(err))
	}
	return p
}

// URL is the address that [Browser.Open] opened.
func (p *Page) URL() string { return p.url }

// Close closes the tab. It is safe to call more than once; the test's cleanup calls it too.
func (p *Page) Close() { p.once.Do(p.cancel) }

// ConsoleErrors returns the text of every console.error and failed console.assert call so far,
// in order (an assertion's text starts with "assertion failed").
func (p *Page) ConsoleErrors() []string { return p.snapshot(&p.console) }

// Exceptions returns every uncaught exception and unhandled promise rejection so far, each as
// "Uncaught Error: message" followed by its stack, as the console shows it.
func (p *Page) Exceptions() []string { return p.snapshot(&p.exceptions) }

// Dialogs returns every JavaScript dialog that the page opened, as "alert: message",
// "confirm: message", "prompt: message" or "beforeunload: message". Each was dismissed at once
// (a confirm returned false, a prompt null).
func (p *Page) Dialogs() []string { return p.snapshot(&p.dialogs) }

// FailedRequests returns every request that failed, as "URL: net::ERR_..." (with the blocked
// reason in parentheses when Chromium gives one), including those that [Offline] blocked.
// Requests that were canceled (by a navigation, a closed tab or an AbortController) are left
// out.
func (p *Page) FailedRequests() []string { return p.snapshot(&p.failed) }

// BlockedRequests returns the URL of every request that [Offline] stopped.
func (p *Page) BlockedRequests() []string { return p.snapshot(&p.blocked) }

// AssertNoErrors marks the test failed (tb.Errorf) when the page reported any console error,
// uncaught exception, dialog or failed request, listing them all.
func (p *Page) AssertNoErrors(tb testing.TB) {
	tb.Helper()
	if d := p.diagnostics(); d != "" {
		tb.Errorf("browsertest: %s reported problems:%s", p.url, d)
	}
}

// Eval evaluates the JavaScript expression in the page and decodes its JSON value into out (a
// pointer, as for json.Unmarshal; nil discards the value). A promise is awaited. An exception,
// or a value that does not decode, fails the test.
func (p *Page) Eval(tb testing.TB, js string, out any) {
	tb.Helper()
	raw, err := p.evalRaw(js)
	if err != nil {
		p.fatalf(tb, "browsertest: evaluating %s: %v", quoteJS(js), p.explain(err))
	}
	if out == nil {
		return
	}
	if len(raw) == 0 {
		raw = []byte("null") // undefined
	}
	if err := json.Unmarshal(raw, out); err != nil {
		p.fatalf(tb, "browsertest: decoding the value of %s (%.300s) into %T: %v", quoteJS(js), raw, out, err)
	}
}

// evalRaw evaluates js and returns its value as JSON (empty for undefined).
func (p *Page) evalRaw(js string) ([]byte, error) {
	ctx, cancel := p.callCtx()
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
}

// pollInterval is how often [Page.WaitFor] evaluates its expression.
const pollInterval = 50 * time.Millisecond

// WaitFor evaluates the JavaScript expression every 50 ms until its value is truthy (a promise
// is awaited; an exception counts as not yet). After timeout it fails the test with the
// expression, its last value, and what the page reported.
func (p *Page) WaitFor(tb testing.TB, js string, timeout time.Duration) {
	tb.Helper()
	if err := p.waitFor(js, timeout); err != nil {
		p.fatalf(tb, "browsertest: %v", err)
	}
}

// waitResult is what the wrapper of waitFor returns.
type waitResult struct {
	OK    bool   `json:"ok"`
	Value string `json:"value"`
}

// waitFor is WaitFor that returns its failure.
func (p *Page) waitFor(js string, timeout time.Duration) error {
	expr := "(async () => {\n\tconst v = await (" + js + "\n);\n" +
		"\tlet s;\n\ttry { s = JSON.stringify(v); } catch (e) { s = undefined; }\n" +
		"\tif (s === undefined) s = String(v);\n" +
		"\treturn {ok: !!v, value: s};\n})()"
	deadline := time.Now().Add(timeout)
	last := "(not evaluated)"
	for {
		// One poll may not outlast the browser's timeout, nor the deadline by much.
		ctx, cancel := context.WithTimeout(p.ctx, min(p.b.cfg.timeout, max(time.Until(deadline), 0)+time.Second))
		res, err := chromedp.Run(ctx, chromedp.Evaluate[waitResult](expr, chromedp.EvalAwaitPromise))
		cancel()
		if err == nil && res.OK {
			return nil
		}
		last = describe(res, err, last)
		if p.ctx.Err() != nil {
			return fmt.Errorf("waiting for %s: the tab is closed (last value: %s)", quoteJS(js), last)
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s to be true; last value: %s", timeout, quoteJS(js), last)
		}
		time.Sleep(min(pollInterval, time.Until(deadline)+time.Millisecond))
	}
}

// describe is the "last value" of a poll of waitFor.
func describe(res waitResult, err error, prev string) string {
	var ee *chromedp.ExceptionError
	switch {
	case errors.As(err, &ee):
		return "exception: " + exceptionText(ee.ExceptionDetails)
	case errors.Is(err, context.DeadlineExceeded) && prev != "":
		return prev + " (then: no answer in time)"
	case err != nil:
		return "error: " + err.Error()
	}
	return fmt.Sprintf("%.500s", res.Value)
}

// Screenshot writes a PNG of the whole page (beyond the viewport, down to the end of the
// content) to path, creating its folder.
func (p *Page) Screenshot(tb testing.TB, path string) {
	tb.Helper()
	ctx, cancel := p.callCtx()
	defer cancel()
	png, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		m, err := cdp.Call(ctx, t, page.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			return nil, err
		}
		w, h := float64(p.b.cfg.width), float64(p.b.cfg.height)
		if r := m.CSSContentSize; r != nil {
			w, h = math.Max(math.Ceil(r.Width), 1), math.Max(math.Ceil(r.Height), 1)
		}
		res, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:                page.CaptureScreenshotFormatPng,
			Clip:                  &page.Viewport{Width: w, Height: h, Scale: 1},
			CaptureBeyondViewport: ptr(true),
			FromSurface:           ptr(true),
		})
		if err != nil {
			return nil, err
		}
		return res.Data, nil
	})
	if err != nil {
		p.fatalf(tb, "browsertest: screenshot of %s: %v", p.url, p.explain(err))
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatalf("browsertest: screenshot folder: %v", err)
		}
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.Fatalf("browsertest: writing the screenshot: %v", err)
	}
}

// HTML returns the page's current DOM serialized as HTML (with its doctype), as it is after the
// scripts ran, not as it was served.
func (p *Page) HTML(tb testing.TB) string {
	tb.Helper()
	var s string
	p.Eval(tb, `(document.doctype ? new XMLSerializer().serializeToString(document.doctype) + "\n" : "") + document.documentElement.outerHTML`, &s)
	return s
}

// explain adds the limit to a timeout error, which otherwise only says "context deadline
// exceeded".
func (p *Page) explain(err error) error {
	if errors.Is(err, context.DeadlineExceeded) && p.ctx.Err() == nil {
		return fmt.Errorf("no answer within the timeout of %v (see browsertest.Timeout): %w", p.b.cfg.timeout, err)
	}
	return err
}

// callCtx bounds one call into the tab by the browser's timeout.
func (p *Page) callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(p.ctx, p.b.cfg.timeout)
}

// onEvent records what the page reports. It runs on the goroutine that reads the tab's
// messages, so it must not block or send a command itself: the commands that answer an event
// (dismissing a dialog, letting a request go or failing it) run on goroutines of their own.
func (p *Page) onEvent(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		switch ev.Type {
		case runtime.ConsoleAPICalledTypeError:
			p.add(&p.console, argsText(ev.Args))
		case runtime.ConsoleAPICalledTypeAssert:
			text := "assertion failed"
			if s := argsText(ev.Args); s != "" {
				text += ": " + s
			}
			p.add(&p.console, text)
		}
	case *runtime.EventExceptionThrown:
		p.add(&p.exceptions, exceptionText(ev.ExceptionDetails))
	case *page.EventJavascriptDialogOpening:
		p.add(&p.dialogs, string(ev.Type)+": "+ev.Message)
		// A beforeunload dialog is accepted, so that the page can be left or closed.
		go command(p, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: ev.Type == page.DialogTypeBeforeunload})
	case *network.EventRequestWillBeSent:
		if ev.Request != nil {
			p.mu.Lock()
			p.requests[ev.RequestID] = ev.Request.URL
			p.mu.Unlock()
		}
	case *network.EventLoadingFailed:
		if ev.Canceled {
			return
		}
		p.mu.Lock()
		u, ok := p.requests[ev.RequestID]
		p.mu.Unlock()
		if !ok {
			u = "request " + string(ev.RequestID)
		}
		text := shortURL(u) + ": " + ev.ErrorText
		if ev.BlockedReason != "" {
			text += " (blocked: " + string(ev.BlockedReason) + ")"
		}
		if ev.CorsErrorStatus != nil {
			text += " (CORS: " + string(ev.CorsErrorStatus.CorsError) + ")"
		}
		p.add(&p.failed, text)
	case *fetch.EventRequestPaused:
		if ev.Request == nil {
			return
		}
		if p.b.cfg.allowedURL(ev.Request.URL) {
			go command(p, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
			return
		}
		p.add(&p.blocked, ev.Request.URL)
		go command(p, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
	}
}

// command sends one command to the tab, bounded by the browser's timeout, and drops its
// result: it answers an event, and a tab that closed in the meantime needs no answer.
func command[P, R any](p *Page, cmd cdp.Command[P, R], params P) {
	ctx, cancel := p.callCtx()
	defer cancel()
	_, _ = chromedp.Call(ctx, cmd, params)
}

func (p *Page) add(list *[]string, s string) {
	p.mu.Lock()
	*list = append(*list, s)
	p.mu.Unlock()
}

func (p *Page) snapshot(list *[]string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), (*list)...)
}

// diagnostics lists what the page reported so far, for a failure message; empty when nothing.
func (p *Page) diagnostics() string {
	var b strings.Builder
	section := func(name string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s (%d):", name, len(items))
		for i, s := range items {
			if i == 20 {
				fmt.Fprintf(&b, "\n  ... and %d more", len(items)-i)
				break
			}
			fmt.Fprintf(&b, "\n  - %s", truncate(s, 600))
		}
	}
	section("console errors", p.ConsoleErrors())
	section("uncaught exceptions", p.Exceptions())
	section("dialogs", p.Dialogs())
	section("failed requests", p.FailedRequests())
	return b.String()
}

// fatalf fails the test with the message and what the page reported so far.
func (p *Page) fatalf(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if d := p.diagnostics(); d != "" {
		msg += "\nthe page reported:" + d
	}
	tb.Fatal(msg)
}

// argsText joins the arguments of a console call as the console prints them.
func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		parts = append(parts, remoteText(a))
	}
	return strings.Join(parts, " ")
}

// remoteText is a readable form of a JavaScript value.
func remoteText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if len(o.Value) > 0 {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
		return string(o.Value)
	}
	if o.UnserializableValue != "" {
		return string(o.UnserializableValue)
	}
	if o.Description != "" {
		return o.Description
	}
	return string(o.Type)
}

// exceptionText is "Uncaught Error: message\n    at ..." for an uncaught exception.
func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "exception without details"
	}
	text := d.Text
	if d.Exception != nil {
		desc := remoteText(d.Exception)
		switch {
		case desc == "":
		case text == "":
			text = desc
		default:
			text += " " + desc
		}
	}
	if d.URL != "" && (d.Exception == nil || !strings.Contains(text, "\n")) {
		text += fmt.Sprintf(" (%s:%d:%d)", shortURL(d.URL), d.LineNumber+1, d.ColumnNumber+1)
	}
	return text
}

// shortURL keeps a data: URL (which can be huge) readable.
func shortURL(u string) string {
	if strings.HasPrefix(u, "data:") {
		return truncate(u, 80)
	}
	return truncate(u, 500)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// quoteJS shows a script in a message: backquoted, shortened when long.
func quoteJS(js string) string { return "`" + truncate(strings.TrimSpace(js), 300) + "`" }

func ptr[T any](v T) *T { return &v }
