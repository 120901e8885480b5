// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package browsertest drives a real headless Chromium for tests that check HTML pages, above all
// the plotly.js dashboards that this distribution writes and serves.
//
// A test starts one browser with [New], opens pages with [Browser.Open], and reads what a person
// would get: the console errors, uncaught exceptions, JavaScript dialogs and failed requests
// that the page produced, values computed by JavaScript ([Page.Eval], [Page.WaitFor]), a
// screenshot, and a summary of every plotly.js plot on the page ([Page.Plots]).
//
//	func TestDashboard(t *testing.T) {
//		b := browsertest.New(t, browsertest.Offline())
//		p := b.Open(t, browsertest.FileURL(path))
//		p.WaitForPlots(t, 3, 10*time.Second)
//		for _, plot := range p.Plots(t) {
//			require.Positive(t, plot.DrawnTraces, plot.ID)
//		}
//		p.AssertNoErrors(t)
//	}
//
// Chromium is found by [Find]: $CHROMIUM, then chromium, chromium-browser or google-chrome on
// PATH, then /usr/bin/chromium. scripts/provision-chromium.sh installs it. Without a browser the
// tests skip, except when LLT_E2E=1 (which `make test` sets): then a missing browser fails them.
//
// Every call into the browser has a timeout (30 s by default, see [Timeout]), and a failure
// message lists what the page reported so far, so a broken page never hangs a test silently.
package browsertest // import "github.com/llamatelemetry/otelcol-llt/internal/browsertest"
