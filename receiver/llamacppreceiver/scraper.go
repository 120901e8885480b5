// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
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
// /slots, and /props with /v1/models once per server start for the resource attributes. A
// llama-server in router mode (router.go) is scraped per model: /models, then each loaded model's
// /metrics, /slots and /props through the router, each model under its own resource.
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
//   - A router's model that is no longer loaded when its endpoints are asked (400 or 503): left
//     out of this scrape, without an error; its counters start again when it is loaded again.
//   - Any other failure of /metrics, /slots, /props, /v1/models or /models (401, bad body, a body
//     over the limit) is a partial scrape error: everything else is still emitted.
//
// scrape is called from one goroutine (the scraper controller); resource may be called from any.
type llamacppScraper struct {
	cfg    *Config
	set    receiver.Settings
	target *target
	logger *zap.Logger
	client *http.Client
	now    func() time.Time

	// State between scrapes, owned by scrape's goroutine.
	lastBase     string                  // last non-empty base URL
	srv          serverState             // the server; with a router, the router itself
	models       map[string]*serverState // a router's models by id; nil otherwise
	outage       bool                    // the server is unreachable and that was logged
	warnedSlots  bool
	warnedMetric bool
	warnedMany   bool // a router listed more than maxRouterModels

	mu     sync.Mutex
	res    pcommon.Resource
	hasRes bool
}

// serverState is what the scraper keeps between scrapes about one llama-server: the server
// itself, or one model of a router (then every path is asked with query).
type serverState struct {
	query       string // "" or modelQuery(id)
	mb          *metadata.MetricsBuilder
	counters    map[string]float64 // counter values of the last /metrics answer; nil: none, or the server changed
	lastMetrics time.Time          // when the last /metrics answer was read
	procStart   string             // its Process-Start-Time-Unix header (a restart marker, not a time)
	restartedAt time.Time          // when a new server was noticed (not zero: its counters need a new start time)
	props       *props
	model       *modelInfo
	propsFresh  bool // props were read from the current server
	modelFresh  bool
}

// gone reports whether status, for a router's model, says that the model is not loaded (any
// more): 400 with autoload=false, 503 while it loads again.
func (st *serverState) gone(status int) bool {
	return st.query != "" && (status == http.StatusBadRequest || status == http.StatusServiceUnavailable)
}

// newServer notes that the server was or is being replaced: its counters get a new start time
// once they are read again, and /props and /v1/models are read again.
func (st *serverState) newServer(now time.Time) {
	st.propsFresh, st.modelFresh = false, false
	if st.counters != nil {
		st.counters, st.lastMetrics, st.procStart, st.restartedAt = nil, time.Time{}, "", now
	}
}

func newScraper(cfg *Config, set receiver.Settings, t *target) *llamacppScraper {
	return &llamacppScraper{
		cfg:    cfg,
		set:    set,
		target: t,
		logger: set.Logger,
		srv:    serverState{mb: metadata.NewMetricsBuilder(cfg.metricsBuilderConfig(), set)},
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
	s.srv.mb.Reset(metadata.WithStartTime(pcommon.NewTimestampFromTime(s.now())))
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
// /props (once per server start; a router is scraped per model), /metrics, /slots and (once per
// server start) /v1/models.
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
		s.srv.mb.RecordLlamacppServerUpDataPoint(ts, 0, launcherHealth(s.target.launcherState()))
		return s.emit(), nil
	}

	var errs scrapererror.ScrapeErrors
	state, err := s.checkHealth(ctx, base, now)
	s.srv.mb.RecordLlamacppServerUpDataPoint(ts, up(state), state)
	if err != nil {
		errs.AddPartial(1, err)
	}
	if state == metadata.AttributeLlamacppServerStateOk {
		// /props first: its role says whether this is a router.
		s.refreshProps(ctx, base, &s.srv, &errs)
		if s.srv.props != nil && s.srv.props.Router {
			s.scrapeRouter(ctx, base, now, &errs)
		} else {
			s.models = nil
			fresh := s.srv.propsFresh
			s.scrapeMetrics(ctx, base, &s.srv, now, &errs)
			s.scrapeSlots(ctx, base, &s.srv, ts, &errs)
			if fresh && !s.srv.propsFresh { // /metrics showed a restart: the new server's props
				s.refreshProps(ctx, base, &s.srv, &errs)
			}
			s.refreshModel(ctx, base, &s.srv, &errs)
		}
	}
	return s.emit(), errs.Combine()
}

// newServer notes that the server (and, with a router, each of its models) was or is being
// replaced.
func (s *llamacppScraper) newServer(now time.Time) {
	s.srv.newServer(now)
	for _, st := range s.models {
		st.newServer(now)
	}
}

// scrapeRouter reads a router's /models, records each model's status, and scrapes each loaded
// model through the router. Models the router no longer lists are forgotten.
func (s *llamacppScraper) scrapeRouter(ctx context.Context, base string, now time.Time, errs *scrapererror.ScrapeErrors) {
	body, err := s.getOK(ctx, base, "/models")
	if err != nil {
		errs.AddPartial(1, err)
		return
	}
	list, err := parseRouterModels(body)
	if err != nil {
		errs.AddPartial(1, fmt.Errorf("scrape /models: %w", err))
		return
	}
	if len(list) > maxRouterModels {
		if !s.warnedMany {
			s.warnedMany = true
			s.logger.Warn("the router lists more models than the receiver scrapes; the rest are left out",
				zap.Int("models", len(list)), zap.Int("scraped", maxRouterModels))
		}
		list = list[:maxRouterModels]
	}
	ts := pcommon.NewTimestampFromTime(now)
	seen := make(map[string]bool, len(list))
	if s.models == nil {
		s.models = make(map[string]*serverState, len(list))
	}
	for _, m := range list {
		seen[m.ID] = true
		st := s.models[m.ID]
		if st == nil {
			st = &serverState{
				query: modelQuery(m.ID),
				mb:    metadata.NewMetricsBuilder(s.cfg.metricsBuilderConfig(), s.set, metadata.WithStartTime(ts)),
			}
			s.models[m.ID] = st
		}
		// The router's /models is the only source of the id (its /v1/models lists every model,
		// without meta, whatever ?model= says).
		st.model, st.modelFresh = &modelInfo{ID: m.ID}, true
		for _, v := range allModelStatuses {
			st.mb.RecordLlamacppRouterModelStatusDataPoint(ts, boolInt(m.Status == v), v)
		}
		if m.Status != metadata.AttributeLlamacppModelStatusLoaded {
			st.newServer(now)
			continue
		}
		if gone := s.scrapeMetrics(ctx, base, st, now, errs); gone {
			st.newServer(now)
			continue
		}
		s.scrapeSlots(ctx, base, st, ts, errs)
		s.refreshProps(ctx, base, st, errs)
	}
	for id := range s.models {
		if !seen[id] {
			delete(s.models, id)
		}
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
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
		s.forgetInfo()
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
		s.forgetInfo()
		return state, statusError("/health", resp.StatusCode, body)
	}
	return state, nil
}

// forgetInfo makes the next scrape read /props and /v1/models again.
func (s *llamacppScraper) forgetInfo() {
	s.srv.propsFresh, s.srv.modelFresh = false, false
	for _, st := range s.models {
		st.propsFresh = false
	}
}

// scrapeMetrics reads st's /metrics. gone reports a router's model that is no longer loaded (400
// or 503 through the router): nothing is recorded and it is not an error.
func (s *llamacppScraper) scrapeMetrics(ctx context.Context, base string, st *serverState, now time.Time, errs *scrapererror.ScrapeErrors) (gone bool) {
	path := "/metrics" + st.query
	a, err := s.get(ctx, base, path, maxMetricsBytes)
	switch {
	case err != nil:
		errs.AddPartial(1, err)
		return false
	case st.gone(a.status):
		return true
	case a.status == http.StatusNotImplemented:
		if !s.warnedMetric {
			s.warnedMetric = true
			s.logger.Warn("llama-server's /metrics is disabled: start it with --metrics to collect its counters")
		}
		return false
	case a.status != http.StatusOK:
		errs.AddPartial(1, statusError(path, a.status, a.body))
		return false
	}
	pm, err := decodeMetrics(a.body)
	if err != nil {
		errs.AddPartial(1, fmt.Errorf("scrape %s: %w", path, err))
		return false
	}

	counters := pm.counters()
	procStart := a.header.Get("Process-Start-Time-Unix")
	// A restart noticed before (newServer) already had /props read again at this scrape's start.
	start, known, detected := st.restartedAt, !st.restartedAt.IsZero(), false
	if !known && st.counters != nil &&
		(decreased(st.counters, counters) || (st.procStart != "" && procStart != "" && procStart != st.procStart)) {
		// The restart happened after the previous answer.
		start, detected = st.lastMetrics, true
	}
	if known || detected {
		s.logger.Info("llama-server restarted: its counters start again", zap.String("url", base+st.query))
		st.mb.Reset(metadata.WithStartTime(pcommon.NewTimestampFromTime(start)))
		if detected {
			st.propsFresh, st.modelFresh = false, st.query != "" // a router's model keeps the id /models gave
		}
	} else {
		st.recordThroughput(counters, now)
	}
	st.counters, st.lastMetrics, st.procStart, st.restartedAt = counters, now, procStart, time.Time{}

	if failed, err := pm.record(st.mb, pcommon.NewTimestampFromTime(now)); err != nil {
		errs.AddPartial(failed, fmt.Errorf("scrape %s: %w", path, err))
	}
	return false
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
func (st *serverState) recordThroughput(counters map[string]float64, now time.Time) {
	if st.counters == nil || st.lastMetrics.IsZero() {
		return
	}
	dt := now.Sub(st.lastMetrics).Seconds()
	if dt <= 0 {
		return
	}
	ts := pcommon.NewTimestampFromTime(now)
	rate := func(family string, rec func(pcommon.Timestamp, float64)) {
		cur, ok1 := counters[family]
		prev, ok2 := st.counters[family]
		if ok1 && ok2 {
			rec(ts, (cur-prev)/dt)
		}
	}
	rate(familyPromptTokens, st.mb.RecordLlamacppPromptThroughputDataPoint)
	rate(familyGenerationTokens, st.mb.RecordLlamacppGenerationThroughputDataPoint)
}

func (s *llamacppScraper) scrapeSlots(ctx context.Context, base string, st *serverState, ts pcommon.Timestamp, errs *scrapererror.ScrapeErrors) {
	path := "/slots" + st.query
	a, err := s.get(ctx, base, path, maxJSONBytes)
	switch {
	case err != nil:
		errs.AddPartial(1, err)
		return
	case st.gone(a.status):
		return // unloaded since /metrics was read
	case a.status == http.StatusNotImplemented:
		if !s.warnedSlots {
			s.warnedSlots = true
			s.logger.Warn("llama-server's /slots is disabled (--no-slots): per-slot metrics are not collected")
		}
		return
	case a.status != http.StatusOK:
		errs.AddPartial(1, statusError(path, a.status, a.body))
		return
	}
	slots, err := parseSlots(a.body)
	if err != nil {
		errs.AddPartial(1, fmt.Errorf("scrape %s: %w", path, err))
		return
	}
	recordSlots(st.mb, ts, slots)
}

// refreshProps reads st's /props when it was not read from the current server yet. A failure
// keeps the previous values (so the resource stays the same) and is retried at the next scrape.
func (s *llamacppScraper) refreshProps(ctx context.Context, base string, st *serverState, errs *scrapererror.ScrapeErrors) {
	if st.propsFresh {
		return
	}
	path := "/props" + st.query
	a, err := s.get(ctx, base, path, maxJSONBytes)
	switch {
	case err != nil:
		errs.AddPartial(0, err)
	case st.gone(a.status):
		// unloaded since /metrics was read: asked again once it is loaded
	case a.status != http.StatusOK:
		errs.AddPartial(0, statusError(path, a.status, a.body))
	default:
		if p, err := parseProps(a.body); err != nil {
			errs.AddPartial(0, fmt.Errorf("scrape %s: %w", path, err))
		} else {
			st.props, st.propsFresh = &p, true
		}
	}
}

// refreshModel reads /v1/models when it was not read from the current server yet. A failure
// keeps the previous values (so the resource stays the same) and is retried at the next scrape.
func (s *llamacppScraper) refreshModel(ctx context.Context, base string, st *serverState, errs *scrapererror.ScrapeErrors) {
	if !st.modelFresh {
		if body, err := s.getOK(ctx, base, "/v1/models"); err != nil {
			errs.AddPartial(0, err)
		} else if m, err := parseModels(body); err != nil {
			errs.AddPartial(0, fmt.Errorf("scrape /v1/models: %w", err))
		} else {
			st.model, st.modelFresh = &m, true
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

// emit returns the recorded metrics: the server's under its resource (kept for resource()), then,
// with a router, each model's under the model's resource, in id order.
func (s *llamacppScraper) emit() pmetric.Metrics {
	var lm *launcherapi.Model
	if s.srv.props == nil || !s.srv.props.Router {
		lm = s.launcherModel()
	}
	res := buildResource(s.srv.mb.NewResourceBuilder(), s.lastBase, s.srv.props, s.srv.model, lm, s.launcherGPUs())
	s.mu.Lock()
	s.res, s.hasRes = res, true
	s.mu.Unlock()
	md := s.srv.mb.Emit(metadata.WithResource(res))
	if len(s.models) == 0 {
		return md
	}
	ids := make([]string, 0, len(s.models))
	for id := range s.models {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		st := s.models[id]
		mres := buildResource(st.mb.NewResourceBuilder(), s.lastBase, st.props, st.model, nil, s.launcherGPUs())
		st.mb.Emit(metadata.WithResource(mres)).ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
	}
	return md
}
