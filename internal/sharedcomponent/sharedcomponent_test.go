// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package sharedcomponent

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
)

type counting struct {
	starts, stops int
	startErr      error
}

func (c *counting) Start(context.Context, component.Host) error { c.starts++; return c.startErr }
func (c *counting) Shutdown(context.Context) error              { c.stops++; return nil }

func TestOneInstancePerKey(t *testing.T) {
	m := NewMap[string, *counting]()
	created := 0
	create := func() (*counting, error) { created++; return &counting{}, nil }
	a, err := m.LoadOrStore("k", create)
	require.NoError(t, err)
	b, err := m.LoadOrStore("k", create)
	require.NoError(t, err)
	assert.Same(t, a, b)
	assert.Equal(t, 1, created)

	host := componenttest.NewNopHost()
	require.NoError(t, a.Start(context.Background(), host))
	require.NoError(t, b.Start(context.Background(), host))
	assert.Equal(t, 1, a.Unwrap().starts)
	require.NoError(t, a.Shutdown(context.Background()))
	require.NoError(t, b.Shutdown(context.Background()))
	assert.Equal(t, 1, a.Unwrap().stops)

	c, err := m.LoadOrStore("k", create)
	require.NoError(t, err)
	assert.NotSame(t, a, c, "a shut down instance is forgotten")
}

func TestErrors(t *testing.T) {
	m := NewMap[int, *counting]()
	_, err := m.LoadOrStore(1, func() (*counting, error) { return nil, errors.New("boom") })
	require.EqualError(t, err, "boom")

	c, err := m.LoadOrStore(2, func() (*counting, error) { return &counting{startErr: errors.New("no")}, nil })
	require.NoError(t, err)
	require.EqualError(t, c.Start(context.Background(), componenttest.NewNopHost()), "no")
	require.EqualError(t, c.Start(context.Background(), componenttest.NewNopHost()), "no")
	assert.Equal(t, 1, c.Unwrap().starts)
}

func TestLoad(t *testing.T) {
	m := NewMap[string, *counting]()
	_, ok := m.Load("k")
	assert.False(t, ok)
	a, err := m.LoadOrStore("k", func() (*counting, error) { return &counting{}, nil })
	require.NoError(t, err)
	b, ok := m.Load("k")
	require.True(t, ok)
	assert.Same(t, a, b)
	require.NoError(t, a.Shutdown(context.Background()))
	_, ok = m.Load("k")
	assert.False(t, ok, "a shut down instance is forgotten")
}
