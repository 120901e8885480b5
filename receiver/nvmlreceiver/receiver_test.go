// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package nvmlreceiver

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/llamatelemetry/otelcol-llt/receiver/nvmlreceiver/internal/metadata"
)

func fastConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.InitialDelay = 0
	cfg.CollectionInterval = 10 * time.Millisecond
	return cfg
}

// TestReceiverSendsNothingWithoutNVML: on this host (no NVIDIA driver, or a build without cgo)
// the receiver starts and not even an empty batch goes down the pipeline.
func TestReceiverSendsNothingWithoutNVML(t *testing.T) {
	if _, err := os.Stat("/dev/nvidiactl"); err == nil {
		t.Skip("this host has an NVIDIA GPU")
	}
	sink := new(consumertest.MetricsSink)
	r, err := NewFactory().CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), fastConfig(), sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))
	require.NoError(t, r.Shutdown(context.Background()))
	assert.Empty(t, sink.AllMetrics())
}

func TestReceiverScrapesAndReleasesNVML(t *testing.T) {
	lib := newFakeLibrary(h200(0), h200(1))
	sink := new(consumertest.MetricsSink)
	r, err := newReceiver(fastConfig(), receivertest.NewNopSettings(metadata.Type), sink)
	require.NoError(t, err)
	r.scraper.newLibrary = func(string) gpuLibrary { return lib }
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.Eventually(t, func() bool { return len(sink.AllMetrics()) >= 3 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))
	require.NoError(t, r.Shutdown(context.Background()))
	assert.Equal(t, 2, sink.AllMetrics()[0].ResourceMetrics().Len())
	assert.Equal(t, 1, lib.count("Shutdown"))
	assert.Empty(t, lib.violations, "no NVML call after Shutdown: the scrape loop stopped first")
}

func TestReceiverShutdownWithoutStart(t *testing.T) {
	r, err := NewFactory().CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), createDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Shutdown(context.Background()))
}

func TestReceiverLauncherMissing(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Launcher = &launcherID
	r, err := newReceiver(cfg, receivertest.NewNopSettings(metadata.Type), consumertest.NewNop())
	require.NoError(t, err)
	r.scraper.newLibrary = func(string) gpuLibrary { return newFakeLibrary(h200(0)) }
	require.ErrorContains(t, r.Start(context.Background(), componenttest.NewNopHost()), "no such extension")
	require.NoError(t, r.Shutdown(context.Background()))
}
