// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestChaosFullDisk runs the default config with the file exporter, the plotlyhtml exporter's
// path and the graphistry exporter's file mode each on a small tmpfs of its own, sends requests
// through the gateway the whole time, and takes the disks away twice: first full (a filler file
// takes every free byte, and keeps taking what a failed write frees), then read-only (mount -o
// remount,ro). Our exporters must log exactly one error per outage per path and one info line when
// they write again, the collector and the other exporters (gateway, debug, live pages) must keep
// working, and after each outage the dashboard and new graph files must be written again. The
// contrib file exporter is measured, not asserted: its figures are logged.
func TestChaosFullDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for a minute")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounts tmpfs: needs root")
	}
	outage := chaosSize(8*time.Second, 40*time.Second)
	base := t.TempDir()
	data, dash, graphs := filepath.Join(base, "data"), filepath.Join(base, "dash"), filepath.Join(base, "graphs")
	diskMount(t, data, "64m")
	diskMount(t, dash, "16m") // the inline page is about 5 MB, twice that while it is renamed
	diskMount(t, graphs, "8m")
	file, page := filepath.Join(data, "telemetry.jsonl"), filepath.Join(dash, "dashboard.html")
	r := startDefaultConfigWith(t, "", fmt.Sprintf(`
exporters:
  file: {path: %q}
  plotlyhtml: {path: %q, interval: 1s}
  graphistry: {window: 2s, file: {path: %q}}
`, file, page, graphs))
	pid := r.cmd.Process.Pid

	// The load: one request after the other through the gateway, the whole test.
	type result struct {
		at time.Time
		ok bool
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
		stop    atomic.Bool
	)
	client := &http.Client{Timeout: 30 * time.Second}
	wg.Go(func() {
		for i := 0; !stop.Load(); i++ {
			body := fmt.Sprintf(`{"messages":[{"role":"user","content":"disk %d"}],"max_tokens":4}`, i)
			resp, err := client.Post(r.GatewayURL()+"/chat/completions", "application/json", strings.NewReader(body))
			ok := err == nil && resp.StatusCode == http.StatusOK
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
			mu.Lock()
			results = append(results, result{time.Now(), ok})
			mu.Unlock()
			time.Sleep(250 * time.Millisecond)
		}
	})
	t.Cleanup(func() { stop.Store(true); wg.Wait() })
	count := func(from, to time.Time) (n, ok int) {
		mu.Lock()
		defer mu.Unlock()
		for _, res := range results {
			if !res.at.Before(from) && res.at.Before(to) {
				n++
				if res.ok {
					ok++
				}
			}
		}
		return n, ok
	}
	alive := func() {
		t.Helper()
		require.NoError(t, syscall.Kill(pid, 0), "the collector died:\n%s", tail(r.logs.String(), 60))
	}
	live := func() []byte {
		t.Helper()
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/dashboard.json?d=live,unified", r.ServePort))
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return b
	}

	// Before: the page and graph files are written.
	require.Eventually(t, func() bool { return len(diskGraphFiles(t, graphs, time.Time{})) > 0 }, time.Minute, 100*time.Millisecond,
		"no graph files:\n%s", tail(r.logs.String(), 40))
	fileBefore := diskLines(file)

	type phase struct {
		name                      string
		start, restored, resumed  time.Time
		logFrom, logTo            int
		reqs, reqsOK              int
		debugLines                int
		pageResume, graphResume   time.Duration
		fileLinesDuring, fileMore int
	}
	var phases []*phase
	run := func(name string, breakDisks func(), restore func()) {
		p := &phase{name: name, logFrom: len(r.logs.String())}
		phases = append(phases, p)
		liveBefore := live()
		fileAtStart := diskLines(file)
		p.start = time.Now()
		breakDisks()
		// A write of the page that began before the disk broke may still land (its rename was
		// under way): the page is taken once such a write has had time to end (interval 1s).
		time.Sleep(1500 * time.Millisecond)
		pageBefore, err := os.ReadFile(page)
		require.NoError(t, err)
		debugAt := strings.Count(r.logs.String(), `"otelcol.component.id": "debug"`)
		deadline := p.start.Add(outage)
		for time.Now().Before(deadline) {
			alive()
			time.Sleep(500 * time.Millisecond)
		}
		p.debugLines = strings.Count(r.logs.String(), `"otelcol.component.id": "debug"`) - debugAt
		assert.Positive(t, p.debugLines, "%s: the debug exporter went quiet", name)
		assert.NotEqual(t, liveBefore, live(), "%s: the live page serves no new data", name)
		nowPage, err := os.ReadFile(page)
		require.NoError(t, err, "%s: the dashboard file is gone", name)
		assert.Equal(t, pageBefore, nowPage, "%s: the page changed on a broken disk", name)
		p.fileLinesDuring = diskLines(file) - fileAtStart
		p.reqs, p.reqsOK = count(p.start, time.Now())
		assert.Positive(t, p.reqsOK, "%s: no request went through", name)

		restore()
		p.restored = time.Now()
		require.Eventually(t, func() bool {
			st, err := os.Stat(page)
			return err == nil && st.ModTime().After(p.restored) && len(diskGraphFiles(t, graphs, p.restored)) > 0
		}, 30*time.Second, 50*time.Millisecond, "%s: writing did not resume:\n%s", name, tail(r.logs.String(), 40))
		p.resumed = time.Now()
		time.Sleep(3 * time.Second) // a few more intervals
		p.logTo = len(r.logs.String())
		logs := r.logs.String()[p.logFrom:p.logTo]
		p.pageResume = diskResumeAfter(logs, page)
		p.graphResume = diskResumeAfter(logs, graphs)
		p.fileMore = diskLines(file) - fileAtStart - p.fileLinesDuring
		alive()

		for _, path := range []string{page, graphs} {
			assert.Equal(t, 1, diskErrorLines(logs, path), "%s: error lines about %s", name, path)
			assert.Equal(t, 1, strings.Count(logs, "writing to "+path+" again after "), "%s: resume lines about %s", name, path)
		}
		newPage, err := os.ReadFile(page)
		require.NoError(t, err)
		assert.NotEqual(t, pageBefore, newPage, "%s: the page was not rewritten", name)
		leftovers, _ := filepath.Glob(filepath.Join(dash, ".*tmp-*"))
		moreLeft, _ := filepath.Glob(filepath.Join(graphs, ".*tmp-*"))
		assert.Empty(t, append(leftovers, moreLeft...), "%s: temporary files left behind", name)
	}

	var fillers []func()
	run("full", func() {
		for _, dir := range []string{data, dash, graphs} {
			fillers = append(fillers, diskFill(t, dir))
		}
	}, func() {
		for _, remove := range fillers {
			remove()
		}
	})
	var roData error
	run("read-only", func() {
		for _, dir := range []string{dash, graphs} {
			diskRemount(t, dir, "ro")
		}
		// The file exporter keeps its file open for writing, which a remount to read-only refuses.
		roData = exec.Command("mount", "-o", "remount,ro", data).Run()
	}, func() {
		for _, dir := range []string{dash, graphs} {
			diskRemount(t, dir, "rw")
		}
		if roData == nil {
			diskRemount(t, data, "rw")
		}
	})

	stop.Store(true)
	wg.Wait()
	logs := r.logs.String()
	n, ok := count(time.Time{}, time.Now())
	t.Logf("full disk: %d requests through the gateway, %d ok; outages of %v each", n, ok, outage)
	for _, p := range phases {
		l := logs[p.logFrom:p.logTo]
		t.Logf("%s: %d requests (%d ok) during the outage, %d debug exporter lines; error lines: dashboard %d, graphs %d; "+
			"resumed %v after the disk came back (dashboard %v, graphs %v, from their log lines)",
			p.name, p.reqs, p.reqsOK, p.debugLines, diskErrorLines(l, page), diskErrorLines(l, graphs),
			p.resumed.Sub(p.restored).Round(time.Millisecond), p.pageResume, p.graphResume)
	}
	t.Logf("counted: otelcol_plotlyhtml_write_failures %.0f, otelcol_graphistry_file_write_failures %.0f, otelcol_graphistry_file_windows_dropped %.0f",
		r.InternalMetric(t, "otelcol_plotlyhtml_write_failures"), r.InternalMetric(t, "otelcol_graphistry_file_write_failures"),
		r.InternalMetric(t, "otelcol_graphistry_file_windows_dropped"))
	assert.Positive(t, r.InternalMetric(t, "otelcol_plotlyhtml_write_failures"))
	assert.Positive(t, r.InternalMetric(t, "otelcol_graphistry_file_write_failures"))

	// The contrib file exporter, as measured.
	full := phases[0]
	fl := logs[full.logFrom:full.logTo]
	t.Logf("file exporter: %d lines before the outages; full disk: %d lines written during, %d in the %v after the filler went; "+
		"%d error lines naming %s, %d error/warn lines in all of the outage (%d 'Failed to flush file', %d batch 'Sender failed'/'Exporting failed'); "+
		"remount,ro of its disk: %v; read-only phase: %d lines during, %d after; otelcol_exporter_send_failed_spans{exporter=file} %.0f, "+
		"otelcol_exporter_send_failed_metric_points{exporter=file} %.0f",
		fileBefore, full.fileLinesDuring, full.fileMore, full.resumed.Sub(full.restored)+3*time.Second,
		diskErrorLines(fl, file), file, strings.Count(fl, "\terror\t")+strings.Count(fl, "\twarn\t"),
		strings.Count(fl, "Failed to flush file"), strings.Count(fl, "Sender failed")+strings.Count(fl, "Exporting failed"),
		roData, phases[1].fileLinesDuring, phases[1].fileMore,
		r.InternalMetric(t, "otelcol_exporter_send_failed_spans", `exporter="file"`),
		r.InternalMetric(t, "otelcol_exporter_send_failed_metric_points", `exporter="file"`))
	// The file exporter may fail its last flush at shutdown; the collector must still exit.
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGINT))
	t.Logf("collector exit after the outages: %v", r.cmd.Wait())
}

// diskMount mounts a tmpfs of size on dir, unmounted at cleanup.
func diskMount(t *testing.T, dir, size string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput()
	require.NoError(t, err, "mount: %s", out)
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v %s; lazy unmount", dir, err, out)
			_ = exec.Command("umount", "-l", dir).Run()
		}
	})
}

func diskRemount(t *testing.T, dir, mode string) {
	t.Helper()
	out, err := exec.Command("mount", "-o", "remount,"+mode, dir).CombinedOutput()
	require.NoError(t, err, "remount,%s %s: %s", mode, dir, out)
}

// diskFill writes a filler file in dir until the disk is full, and keeps taking every byte that
// frees up (a failed write's temporary file) until the returned func removes the filler.
func diskFill(t *testing.T, dir string) (remove func()) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	require.NoError(t, err)
	fill := func() {
		for _, chunk := range []int{1 << 20, 4096, 1} {
			buf := make([]byte, chunk)
			for {
				if _, err := f.Write(buf); err != nil {
					break
				}
			}
		}
	}
	fill()
	var st syscall.Statfs_t
	require.NoError(t, syscall.Statfs(dir, &st))
	require.Zero(t, st.Bavail, "%s is not full", dir)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				fill()
			}
		}
	})
	var once sync.Once
	remove = func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			_ = f.Close() // an open file keeps its blocks even once removed
			require.NoError(t, os.Remove(path))
		})
	}
	t.Cleanup(remove)
	return remove
}

// diskGraphFiles lists the graph files in dir modified after since.
func diskGraphFiles(t *testing.T, dir string, since time.Time) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "traces-*"))
	require.NoError(t, err)
	var out []string
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.ModTime().After(since) {
			out = append(out, f)
		}
	}
	return out
}

// diskLines counts the complete lines of path (0 when it cannot be read).
func diskLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte("\n"))
}

// diskErrorLines counts the collector's error-level lines that name path.
func diskErrorLines(logs, path string) int {
	n := 0
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if l := sc.Text(); strings.Contains(l, "\terror\t") && strings.Contains(l, path) {
			n++
		}
	}
	return n
}

// diskResumeAfter reads the outage duration from the "writing to path again" line (0: none).
func diskResumeAfter(logs, path string) time.Duration {
	prefix := "writing to " + path + " again after "
	i := strings.Index(logs, prefix)
	if i < 0 {
		return 0
	}
	var n int
	var d string
	if _, err := fmt.Sscanf(logs[i+len(prefix):], "%d failures over %s", &n, &d); err != nil {
		return 0
	}
	dur, _ := time.ParseDuration(strings.TrimRight(d, ";\t"))
	return dur
}
