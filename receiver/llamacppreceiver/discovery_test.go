// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

// TestManyInstancesAsReceiverCreatorMakesThem creates receivers the way receiver_creator does for
// each endpoint an observer finds: the factory's default config, the template's keys and the
// discovered `endpoint` (host:port, no scheme) unmarshalled into it, and an ID of its own. Each
// instance scrapes its own server and carries its server.port, none starts a gateway, and
// stopping one leaves the others scraping and frees its entry in the shared map.
func TestManyInstancesAsReceiverCreatorMakesThem(t *testing.T) {
	const n = 3
	f := NewFactory()
	type instance struct {
		srv  *fakeServer
		port int64
		sink *consumertest.MetricsSink
		rcv  receiver.Metrics
		cfg  *Config
	}
	var all []*instance
	for i := range n {
		srv := newFakeServer(t, filepath.Join("testdata", "scraper", "debian-b11669-cpu"))
		u, err := url.Parse(srv.URL)
		require.NoError(t, err)
		port, err := strconv.ParseInt(u.Port(), 10, 64)
		require.NoError(t, err)

		cfg := f.CreateDefaultConfig().(*Config)
		require.NoError(t, confmap.NewFromStringMap(map[string]any{
			"collection_interval": "50ms",
			"initial_delay":       "0s",
			"endpoint":            u.Host, // what receiver_creator sets from host_observer's target
		}).Unmarshal(cfg))
		require.NoError(t, confmap.Validate(cfg))

		set := receivertest.NewNopSettings(metadata.Type)
		set.ID = component.NewIDWithName(metadata.Type,
			fmt.Sprintf(`servers/receiver_creator{endpoint=%q}/(host_observer)127.0.0.1-%d-TCP-%d`, u.Host, port, 1000+i))
		sink := &consumertest.MetricsSink{}
		rcv, err := f.CreateMetrics(context.Background(), set, cfg, sink)
		require.NoError(t, err)
		require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
		all = append(all, &instance{srv: srv, port: port, sink: sink, rcv: rcv, cfg: cfg})
	}
	t.Cleanup(func() {
		for _, in := range all {
			assert.NoError(t, in.rcv.Shutdown(context.Background()))
		}
	})

	ports := func(sink *consumertest.MetricsSink) map[int64]bool {
		seen := map[int64]bool{}
		for _, md := range sink.AllMetrics() {
			for i := 0; i < md.ResourceMetrics().Len(); i++ {
				if p, ok := md.ResourceMetrics().At(i).Resource().Attributes().Get("server.port"); ok {
					seen[p.Int()] = true
				}
			}
		}
		return seen
	}
	for _, in := range all {
		require.Eventually(t, func() bool { return in.srv.count("/metrics") >= 2 && len(in.sink.AllMetrics()) >= 2 },
			10*time.Second, 10*time.Millisecond, "instance on port %d never scraped", in.port)
		assert.Equal(t, map[int64]bool{in.port: true}, ports(in.sink), "each instance's series carry its own server's port")
		r, ok := receivers.Load(in.cfg)
		require.True(t, ok)
		assert.Nil(t, r.Unwrap().gateway, "no gateway unless the template configures one")
	}

	// receiver_creator shuts a receiver down when its endpoint goes away.
	gone := all[0]
	require.NoError(t, gone.rcv.Shutdown(context.Background()))
	_, ok := receivers.Load(gone.cfg)
	assert.False(t, ok, "a stopped instance leaves the shared map")
	hits := gone.srv.count("/metrics")
	before := []int{all[1].srv.count("/metrics"), all[2].srv.count("/metrics")}
	time.Sleep(300 * time.Millisecond)
	assert.Equal(t, hits, gone.srv.count("/metrics"), "a stopped instance scrapes no more")
	assert.Greater(t, all[1].srv.count("/metrics"), before[0], "the others keep scraping")
	assert.Greater(t, all[2].srv.count("/metrics"), before[1], "the others keep scraping")
}
