// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Command lazymain runs the nvml receiver for one scrape, as a collector would, and prints how
// many metrics it gave. lazy_test.go builds it with cgo to check how a binary that links the
// receiver is linked, and that it starts on a host without NVML.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/receiver/nvmlreceiver"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "lazymain:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	f := nvmlreceiver.NewFactory()
	cfg := f.CreateDefaultConfig()
	if err := cfg.(interface{ Validate() error }).Validate(); err != nil {
		return err
	}
	set := receivertest.NewNopSettings(f.Type())
	logger, err := zap.NewDevelopment()
	if err != nil {
		return err
	}
	set.Logger = logger
	sink := new(consumertest.MetricsSink)
	r, err := f.CreateMetrics(ctx, set, cfg, sink)
	if err != nil {
		return err
	}
	if err := r.Start(ctx, componenttest.NewNopHost()); err != nil {
		return err
	}
	time.Sleep(1500 * time.Millisecond) // initial_delay is 1s
	if err := r.Shutdown(ctx); err != nil {
		return err
	}
	fmt.Printf("ok scrapes=%d datapoints=%d\n", len(sink.AllMetrics()), sink.DataPointCount())
	return nil
}
