// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package sharedcomponent lets one component instance serve several signals of a pipeline set,
// as the otlp receiver does: the factory creates the instance for the first signal and hands the
// same one to the others, and Start and Shutdown run once however many signals share it. A Map
// keyed by component ID also lets a component that another one names by ID in its config find it
// (Load): the graphistry exporter that a plotlyhtml exporter's `graphistry` setting names.
// (The collector's own sharedcomponent package is internal to its module.)
package sharedcomponent // import "github.com/llamatelemetry/otelcol-llt/internal/sharedcomponent"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
)

// Map keeps one Component per key (usually the component's *Config).
type Map[K comparable, V component.Component] struct {
	mu    sync.Mutex
	items map[K]*Component[V]
}

// NewMap returns an empty Map.
func NewMap[K comparable, V component.Component]() *Map[K, V] {
	return &Map[K, V]{items: map[K]*Component[V]{}}
}

// LoadOrStore returns the Component for key, creating it with create when there is none. The
// entry is removed when the Component shuts down, so a reloaded collector builds a new one.
func (m *Map[K, V]) LoadOrStore(key K, create func() (V, error)) (*Component[V], error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.items[key]; ok {
		return c, nil
	}
	v, err := create()
	if err != nil {
		return nil, err
	}
	c := &Component[V]{value: v, remove: func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.items, key)
	}}
	m.items[key] = c
	return c, nil
}

// Load returns the Component stored for key, if any: how a component that another one names by
// ID in its config finds it, since component.Host offers only extensions.
func (m *Map[K, V]) Load(key K) (*Component[V], bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.items[key]
	return c, ok
}

// Component wraps a shared value so that Start and Shutdown reach it once.
type Component[V component.Component] struct {
	value    V
	remove   func()
	start    sync.Once
	startErr error
	shutdown sync.Once
	stopErr  error
}

// Unwrap returns the shared value.
func (c *Component[V]) Unwrap() V { return c.value }

// Start starts the shared value the first time it is called and returns that result every time.
func (c *Component[V]) Start(ctx context.Context, host component.Host) error {
	c.start.Do(func() { c.startErr = c.value.Start(ctx, host) })
	return c.startErr
}

// Shutdown shuts the shared value down the first time it is called and forgets it.
func (c *Component[V]) Shutdown(ctx context.Context) error {
	c.shutdown.Do(func() {
		c.stopErr = c.value.Shutdown(ctx)
		if c.remove != nil {
			c.remove()
		}
	})
	return c.stopErr
}
