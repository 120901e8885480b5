// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/scraper/scrapererror"
	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

var errNotStarted = errors.New("the llamacpp scraper was not started")

// llamacppScraper scrapes one llama-server: /health for llamacpp.server.up, then /metrics,
// /slots, and /props with /v1/models once per server start for the resource attributes.
//
// How it treats failures:
//   - llama-server unreachable (connection refused, timeout): llamacpp.server.up=0 with state
//     unreachable and NO scrape error. One error is logged when the outage starts and "llama-server
//     is reachable again" when it ends, so a long outage does not log at every scrape.
//   - /health answers 503 (model loading) or a launcher is not ready: up=0 with state loading (or
//     error, unreachable), no scrape error, and no other endpoint is asked.
//   - /health answers another status: up=0 with state error and a partial scrape error.
//   - /metrics or /slots answer 501 (disabled with --no-slots, or without --metrics): one warning
//     per receiver lifetime, and their metrics are left out.
//   - Any other failure of /metrics, /slots, /props or /v1/models (401, bad body, a body over
//     the limit) is a partial scrape error: everything else is still emitted.
//
// scrape is called from one goroutine (the scraper controller); resource may be called from any.
type llamacppScraper struct {
	cfg    *Config
	set    receiver.Settings
	target *target
	logger *zap.Logger
	client *http.Client
	mb     *metadata.MetricsBuilder
	now    func() time.Time

	// State between scrapes, owned by scrape's goroutine.
	lastBase     string             // last non-empty base URL
	counters     map[string]float64 // counter values of the last /metrics answer; nil: none, or the server changed
	lastMetrics  time.Time          // when the last /metrics answer was read
	procStart    string             // its Process-Start-Time-Unix header (a restart marker, not a time)
	restartedAt  time.Time          // when a new server was noticed (not zero: its counters need a new start time)
	props        *props
	model        *modelInfo
	propsFresh   bool // props were read from the current server
	modelFresh   bool
	outage       bool // the server is unreachable and that was logged
	warnedSlots  bool
	warnedMetric bool

	mu     sync.Mutex
	res    pcommon.Resource
	hasRes bool
}

func newScraper(cfg *Config, set receiver.Settings, t *target) *llamacppScraper {
	return &llamacppScraper{
		cfg:    cfg,
		set:    set,
		target: t,
		logger: set.Logger,
		mb:     metadata.NewMetricsBuilder(cfg.metricsBuilderConfig(), set),
		now:    time.Now,
	}
}

// start builds the HTTP client; authentication extensions exist only once the host runs.
func (s *llamacppScraper) start(ctx context.Context, host component.Host) error {
	client, err := s.cfg.ToClient(ctx, host.GetExtensions(), s.set.TelemetrySettings)
	if err != nil {
		return fmt.Errorf("create the HTTP client: %w", err)
	}
	s.client = client
	s.mb.Reset(metadata.WithStartTime(pcommon.NewTimestampFromTime(s.now())))
	return nil
}

// shutdown closes idle connections. It is safe without start.
func (s *llamacppScraper) shutdown(context.Context) error {
	if s.client != nil {
		s.client.CloseIdleConnections()
	}
	return nil
}

// resource returns a copy of the resource attributes of the last scrape (before the first
// scrape: what the target tells, the server's address and the launcher's model).
func (s *llamacppScraper) resource() pcommon.Resource {
	out := pcommon.NewResource()
	s.mu.Lock()
	if s.hasRes {
		s.res.CopyTo(out)
		s.mu.Unlock()
		return out
	}
	s.mu.Unlock()
	return buildResource(metadata.NewResourceBuilder(s.cfg.ResourceAttributes), s.target.baseURL(), nil, nil, s.launcherModel(), s.launcherGPUs())
}

// scrape reads the target's base URL afresh, then asks /health and, when the server is ok,
// /metrics, /slots and (once per server start) /props and /v1/models.
func (s *llamacppScraper) scrape(ctx context.Context) (pmetric.Metrics, error) {
	if s.client == nil {
		return pmetric.NewMetrics(), errNotStarted
	}
	now := s.now()
	ts := pcommon.NewTimestampFromTime(now)
	base := s.target.baseURL()
	if base != "" {
		if s.lastBase != "" && base != s.lastBase {
			s.logger.Info("llama-server moved", zap.String("from", s.lastBase), zap.String("to", base))
			s.newServer(now)
		}
		s.lastBase = base
	}

	if !s.target.ready() {
		s.newServer(now)
		s.mb.RecordLlamacppServerUpDataPoint(ts, 0, launcherHealth(s.target.launcherState()))
		return s.emit(), nil
	}

	var errs scrapererror.ScrapeErrors
	state, err := s.checkHealth(ctx, base, now)
	s.mb.RecordLlamacppServerUpDataPoint(ts, up(state), state)
	if err != nil {
		errs.AddPartial(1, err)
	}
	if state == metadata.AttributeLlamacppServerStateOk {
		s.scrapeMetrics(ctx, base, now, &errs)
		s.scrapeSlots(ctx, base, ts, &errs)
		s.refreshInfo(ctx, base, &errs)
	}
	return s.emit(), errs.Combine()
}

// newServer notes that the server was or is being replaced: its counters get a new start time
// once they are read again, and /props and /v1/models are read again.
func (s *llamacppScraper) newServer(now time.Time) {
	s.propsFresh, s.modelFresh = false, false
	if s.counters != nil {
		s.counters, s.lastMetrics, s.procStart, s.restartedAt = nil, time.Time{}, "", now
	}
}

// checkHealth asks /health. Being unreachable is not an error (up=0 says it); its start and
// end are logged once each.
func (s *llamacppScraper) checkHealth(ctx context.Context, base string, now time.Time) (metadata.AttributeLlamacppServerState, error) {
	resp, err := s.request(ctx, base, "/health")
	if err != nil {
		if !s.outage && ctx.Err() == nil {
			s.outage = true
			s.logger.Error("llama-server is unreachable; llamacpp.server.up is 0 until it answers again",
				zap.String("url", base), zap.Error(err))
		}
		s.propsFresh, s.modelFresh = false, false
		return metadata.AttributeLlamacppServerStateUnreachable, nil
	}
	if s.outage {
		s.outage = false
		s.logger.Info("llama-server is reachable again", zap.String("url", base))
	}
	body, err := readBody("/health", resp, maxJSONBytes)
	if err != nil {
		return metadata.AttributeLlamacppServerStateError, err
	}
	state := healthState(resp.StatusCode)
	switch state {
	case metadata.AttributeLlamacppServerStateLoading:
		s.newServer(now) // only a starting server loads its model
	case metadata.AttributeLlamacppServerStateError:
		s.propsFresh, s.modelFresh = false, false
		return state, statusError("/health", resp.StatusCode, body)
	}
	return state, nil
}

func (s *llamacppScraper) scrapeMetrics(ctx context.Context, base string, now time.Time, errs *scrapererror.ScrapeErrors) {
	a, err := s.get(ctx, base, "/metrics", maxMetricsBytes)
	switch {
	case err != nil:
		errs.AddPartial(1, err)
		return
	case a.status == http.StatusNotImplemented:
		if !s.warnedMetric {
			s.warnedMetric = true
			s.logger.Warn("llama-server's /metrics is disabled: start it with --metrics to collect its counters")
		}
		return
	case a.status != http.StatusOK:
		errs.AddPartial(1, statusError("/metrics", a.status, a.body))
		return
	}
	pm, err := decodeMetrics(a.body)
	if err != nil {
		errs.AddPartial(1, fmt.Errorf("scrape /metrics: %w", err))
		return
	}

	counters := pm.counters()
	procStart := a.header.Get("Process-Start-Time-Unix")
	start, restarted := s.restartedAt, !s.restartedAt.IsZero()
	if !restarted && s.counters != nil &&
		(decreased(s.counters, counters) || (s.procStart != "" && procStart != "" && procStart != s.procStart)) {
		// The restart happened after the previous answer.
		start, restarted = s.lastMetrics, true
	}
	if restarted {
		s.logger.Info("llama-server restarted: its counters start again", zap.String("url", base))
		s.mb.Reset(metadata.WithStartTime(pcommon.NewTimestampFromTime(start)))
		s.propsFresh, s.modelFresh = false, false
	} else {
		s.recordThroughput(counters, now)
	}
	s.counters, s.lastMetrics, s.procStart, s.restartedAt = counters, now, procStart, time.Time{}

	if failed, err := pm.record(s.mb, pcommon.NewTimestampFromTime(now)); err != nil {
		errs.AddPartial(failed, fmt.Errorf("scrape /metrics: %w", err))
	}
}

// decreased reports whether any counter present in both snapshots went down.
func decreased(prev, cur map[string]float64) bool {
	for k, v := range cur {
		if old, ok := prev[k]; ok && v < old {
			return true
		}
	}
	return false
}

// recordThroughput records the token rates between the previous /metrics answer and this one,
// in wall-clock time. It is called only when the counters did not reset.
func (s *llamacppScraper) recordThroughput(counters map[string]float64, now time.Time) {
	if s.counters == nil || s.lastMetrics.IsZero() {
		return
	}
	dt := now.Sub(s.lastMetrics).Seconds()
	if dt <= 0 {
		return
	}
	ts := pcommon.NewTimestampFromTime(now)
	rate := func(family string, rec func(pcommon.Timestamp, float64)) {
		cur, ok1 := counters[family]
		prev, ok2 := s.counters[family]
		if ok1 && ok2 {
			rec(ts, (cur-prev)/dt)
		}
	}
	rate(familyPromptTokens, s.mb.RecordLlamacppPromptThroughputDataPoint)
	rate(familyGenerationTokens, s.mb.RecordLlamacppGenerationThroughputDataPoint)
}

func (s *llamacppScraper) scrapeSlots(ctx context.Context, base string, ts pcommon.Timestamp, errs *scrapererror.ScrapeErrors) {
	a, err := s.get(ctx, base, "/slots", maxJSONBytes)
	switch {
	case err != nil:
		errs.AddPartial(1, err)
		return
	case a.status == http.StatusNotImplemented:
		if !s.warnedSlots {
			s.warnedSlots = true
			s.logger.Warn("llama-server's /slots is disabled (--no-slots): per-slot metrics are not collected")
		}
		return
	case a.status != http.StatusOK:
		errs.AddPartial(1, statusError("/slots", a.status, a.body))
		return
	}
	slots, err := parseSlots(a.body)
	if err != nil {
		errs.AddPartial(1, fmt.Errorf("scrape /slots: %w", err))
		return
	}
	recordSlots(s.mb, ts, slots)
}

// refreshInfo reads /props and /v1/models when they were not read from the current server yet.
// A failure keeps the previous values (so the resource stays the same) and is retried at the
// next scrape.
func (s *llamacppScraper) refreshInfo(ctx context.Context, base string, errs *scrapererror.ScrapeErrors) {
	if !s.propsFresh {
		if body, err := s.getOK(ctx, base, "/props"); err != nil {
			errs.AddPartial(0, err)
		} else if p, err := parseProps(body); err != nil {
			errs.AddPartial(0, fmt.Errorf("scrape /props: %w", err))
		} else {
			s.props, s.propsFresh = &p, true
		}
	}
	if !s.modelFresh {
		if body, err := s.getOK(ctx, base, "/v1/models"); err != nil {
			errs.AddPartial(0, err)
		} else if m, err := parseModels(body); err != nil {
			errs.AddPartial(0, fmt.Errorf("scrape /v1/models: %w", err))
		} else {
			s.model, s.modelFresh = &m, true
		}
	}
}

func (s *llamacppScraper) launcherModel() *launcherapi.Model {
	if m, ok := s.target.model(); ok {
		return &m
	}
	return nil
}

// launcherGPUs are the GPUs the launcher's llama-server runs on, once an nvml receiver reads
// them for the launcher's energy ledger; nil otherwise.
func (s *llamacppScraper) launcherGPUs() []launcherapi.GPU {
	if gl, ok := s.target.launcher.(launcherapi.GPULauncher); ok && len(gl.GPUDevices()) > 0 {
		return gl.EnergyLedger().GPUs()
	}
	return nil
}

// emit returns the recorded metrics under the current resource, and keeps that resource for
// resource().
func (s *llamacppScraper) emit() pmetric.Metrics {
	res := buildResource(s.mb.NewResourceBuilder(), s.lastBase, s.props, s.model, s.launcherModel(), s.launcherGPUs())
	s.mu.Lock()
	s.res, s.hasRes = res, true
	s.mu.Unlock()
	return s.mb.Emit(metadata.WithResource(res))
}
