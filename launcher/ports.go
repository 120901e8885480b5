// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package launcher

import (
	"fmt"
	"sync"

	"go.opentelemetry.io/collector/component"
)

// portClaims are the fixed ports of the launchers started in this process, so that two launchers
// configured with one port fail at start with an error that names both, instead of one of them
// restarting forever behind "port is not available". A launcher with port 0 claims nothing (it
// picks a free port at every start).
var portClaims = struct {
	mu     sync.Mutex
	claims map[*llamaLauncher]portClaim
}{claims: map[*llamaLauncher]portClaim{}}

type portClaim struct {
	id   component.ID
	host string
	port int
}

// clashes reports whether c and o would bind the same address: the same port on the same host,
// or on any host when either binds every address.
func (c portClaim) clashes(o portClaim) bool {
	return c.port == o.port && (c.host == o.host || wildcard(c.host) || wildcard(o.host))
}

func wildcard(host string) bool {
	switch host {
	case "", "0.0.0.0", "::", "[::]":
		return true
	}
	return false
}

// claimPort records l's fixed port, or fails when another started launcher has claimed it.
func claimPort(l *llamaLauncher) error {
	if l.cfg.Port == 0 {
		return nil
	}
	c := portClaim{id: l.id, host: l.cfg.Host, port: l.cfg.Port}
	portClaims.mu.Lock()
	defer portClaims.mu.Unlock()
	for other, o := range portClaims.claims {
		if other != l && c.clashes(o) {
			return fmt.Errorf("`port` %d on %s: %s and %s (on %s) both have it; give each launcher its own `port`, or 0 for a free one",
				c.port, c.host, c.id, o.id, o.host)
		}
	}
	portClaims.claims[l] = c
	return nil
}

// releasePort forgets l's claim (Shutdown).
func releasePort(l *llamaLauncher) {
	portClaims.mu.Lock()
	defer portClaims.mu.Unlock()
	delete(portClaims.claims, l)
}
