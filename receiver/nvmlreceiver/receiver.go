// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package nvmlreceiver

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/scraper"
	"go.opentelemetry.io/collector/scraper/scraperhelper"

	"github.com/llamatelemetry/otelcol-llt/receiver/nvmlreceiver/internal/metadata"
)

// nvmlReceiver starts the scraper itself (NVML's Init, device discovery) and runs the scraper
// controller only when a GPU can be read. On a host without NVML or GPUs it starts, the scraper
// warns once, and nothing at all goes down the pipeline: the controller would otherwise send an
// empty batch every collection interval.
type nvmlReceiver struct {
	scraper    *nvmlScraper
	controller receiver.Metrics
	running    bool
}

func newReceiver(cfg *Config, set receiver.Settings, next consumer.Metrics) (*nvmlReceiver, error) {
	s := newScraper(cfg, set)
	// Start and shutdown are the receiver's, not the controller's: see nvmlReceiver.
	sc, err := scraper.NewMetrics(s.scrape)
	if err != nil {
		return nil, err
	}
	ctrl, err := scraperhelper.NewMetricsController(&cfg.ControllerConfig, set, next,
		scraperhelper.AddMetricsScraper(metadata.Type, sc))
	if err != nil {
		return nil, err
	}
	return &nvmlReceiver{scraper: s, controller: ctrl}, nil
}

// Start initialises NVML and starts scraping when at least one GPU can be read. It fails only
// when the configured launcher does not exist.
func (r *nvmlReceiver) Start(ctx context.Context, host component.Host) error {
	if err := r.scraper.start(ctx, host); err != nil {
		return err
	}
	if r.scraper.lib == nil {
		return nil
	}
	if err := r.controller.Start(ctx, host); err != nil {
		return errors.Join(err, r.scraper.shutdown(ctx))
	}
	r.running = true
	return nil
}

// Shutdown stops scraping, waits for a scrape in progress, then releases NVML. It is safe to
// call without Start and more than once.
func (r *nvmlReceiver) Shutdown(ctx context.Context) error {
	var err error
	if r.running {
		r.running = false
		err = r.controller.Shutdown(ctx)
	}
	return errors.Join(err, r.scraper.shutdown(ctx))
}
