// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/scraper"
	"go.opentelemetry.io/collector/scraper/scraperhelper"
	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/gateway"
	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

// llamacppReceiver is the one instance behind every pipeline that uses a llamacpp config: a
// scraper controller for metrics, the gateway for traces (and its latency metrics), and a log
// subscription for logs. Consumers are set by the factory before Start.
type llamacppReceiver struct {
	cfg *Config
	set receiver.Settings

	metrics consumer.Metrics
	traces  consumer.Traces
	logs    consumer.Logs

	target     *target
	scraper    *llamacppScraper
	controller receiver.Metrics
	gateway    *gateway.Gateway
	logForward *logForwarder
	tb         *metadata.TelemetryBuilder // the gateway's counters (otelcol_llamacpp_gateway_*)
}

func newReceiver(cfg *Config, set receiver.Settings) *llamacppReceiver {
	return &llamacppReceiver{cfg: cfg, set: set}
}

// Start finds the llama-server (the launcher, or the endpoint), then starts the gateway, the
// scraper and the log forwarding that the configured pipelines need. It does not wait for a
// launcher's model to load.
func (r *llamacppReceiver) Start(ctx context.Context, host component.Host) error {
	t := &target{apiKey: string(r.cfg.APIKey)}
	if r.cfg.Endpoint != "" {
		base, err := endpointURL(r.cfg.Endpoint)
		if err != nil {
			return err
		}
		t.endpoint = base
	}
	if r.cfg.Launcher != nil {
		l, err := launcherapi.Find(host, *r.cfg.Launcher)
		if err != nil {
			return fmt.Errorf("`launcher`: %w", err)
		}
		t.launcher = l
	}
	r.target = t
	r.scraper = newScraper(r.cfg, r.set, t)

	if r.cfg.Gateway.HasValue() && (r.traces != nil || r.metrics != nil) {
		if err := r.startGateway(ctx, host); err != nil {
			return err
		}
	}
	if r.metrics != nil {
		s, err := scraper.NewMetrics(r.scrape, scraper.WithStart(r.scraper.start), scraper.WithShutdown(r.scraper.shutdown))
		if err != nil {
			return err
		}
		r.controller, err = scraperhelper.NewMetricsController(&r.cfg.ControllerConfig, r.set, r.metrics,
			scraperhelper.AddMetricsScraper(metadata.Type, s))
		if err != nil {
			return err
		}
		if err := r.controller.Start(ctx, host); err != nil {
			return err
		}
	}
	if r.logs != nil {
		if t.launcher == nil {
			r.set.Logger.Warn("the logs pipeline gets llama-server's log lines only through a launcher (`launcher:`); with `endpoint:` it stays empty")
		} else {
			obs, err := newObsReport(r.set, "pipe")
			if err != nil {
				return err
			}
			r.logForward = newLogForwarder(observedLogs{Logs: r.logs, obs: obs}, r.set, t.launcher)
			r.logForward.start()
		}
	}
	return nil
}

func (r *llamacppReceiver) startGateway(ctx context.Context, host component.Host) error {
	gcfg := r.cfg.Gateway.Get().gatewayConfig()
	gcfg.DisabledMetrics = r.cfg.disabledGatewayMetrics()
	var traces consumer.Traces
	if r.traces != nil {
		obs, err := newObsReport(r.set, "http")
		if err != nil {
			return err
		}
		traces = observedTraces{Traces: r.traces, obs: obs}
	}
	var ledger launcherapi.EnergyLedger
	if gl, ok := r.target.launcher.(launcherapi.GPULauncher); ok && len(gl.GPUDevices()) > 0 {
		// Requests are reported to the launcher's energy ledger; it splits energy once an nvml
		// receiver names the same launcher and attaches its meter, and does nothing before.
		ledger = gl.EnergyLedger()
	}
	tb, err := metadata.NewTelemetryBuilder(r.set.TelemetrySettings)
	if err != nil {
		return err
	}
	r.tb = tb
	var waitReady func(context.Context) error
	var serverError func() error
	if r.target.launcher != nil {
		waitReady = r.target.launcher.WaitReady
		if er, ok := r.target.launcher.(launcherapi.ErrorReporter); ok {
			serverError = er.LastError
		}
	}
	gw, err := gateway.New(gcfg, gateway.Settings{
		Upstream:         r.target.baseURL,
		WaitReady:        waitReady,
		ServerError:      serverError,
		Traces:           traces,
		Resource:         r.scraper.resource,
		Telemetry:        r.set.TelemetrySettings,
		ScopeName:        metadata.ScopeName,
		ScopeVersion:     r.set.BuildInfo.Version,
		Energy:           ledger,
		TelemetryBuilder: tb,
	})
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	if err := gw.Start(ctx, host); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	r.gateway = gw
	r.set.Logger.Info("llama.cpp gateway listening", zap.String("endpoint", gw.Addr()))
	return nil
}

// scrape is the scraper's result plus the gateway's latency and token metrics, under one
// resource.
func (r *llamacppReceiver) scrape(ctx context.Context) (pmetric.Metrics, error) {
	md, err := r.scraper.scrape(ctx)
	if r.gateway != nil {
		rms := md.ResourceMetrics()
		if rms.Len() == 0 {
			rm := rms.AppendEmpty()
			r.scraper.resource().CopyTo(rm.Resource())
		}
		sms := rms.At(0).ScopeMetrics()
		if sms.Len() == 0 {
			sm := sms.AppendEmpty()
			sm.Scope().SetName(metadata.ScopeName)
			sm.Scope().SetVersion(r.set.BuildInfo.Version)
		}
		r.gateway.AppendMetrics(sms.At(0).Metrics(), pcommon.NewTimestampFromTime(time.Now()))
	}
	return md, err
}

// Shutdown stops what Start started, in reverse order. It is safe without Start.
func (r *llamacppReceiver) Shutdown(ctx context.Context) error {
	var errs []error
	if r.logForward != nil {
		r.logForward.stop()
	}
	if r.controller != nil {
		errs = append(errs, r.controller.Shutdown(ctx))
	}
	if r.gateway != nil {
		errs = append(errs, r.gateway.Shutdown(ctx))
	}
	if r.tb != nil {
		r.tb.Shutdown()
	}
	return errors.Join(errs...)
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}
