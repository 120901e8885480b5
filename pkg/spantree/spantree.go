// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package spantree cuts the parent loops out of a span tree. Spans name their parents by id, and
// nothing stops a malformed trace from making a span its own ancestor; code that walks parents
// (the graphistry exporter's graph, the plotlyhtml exporter's trace layout) first makes the
// parent array a forest with BreakCycles.
package spantree // import "github.com/llamatelemetry/otelcol-llt/pkg/spantree"

// BreakCycles cuts every loop in parent (a node index per node, -1 for none; every index must be
// in range) by making one node of each loop a root (-1), and returns how many loops it cut. With
// less nil, the node cut is the one at which a walk from the lowest-indexed node of the loop's
// tree comes back; otherwise it is the least node of the loop by less. Each node is visited once,
// without recursion.
func BreakCycles(parent []int32, less func(a, b int32) bool) int {
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]uint8, len(parent))
	var path []int32
	cut := 0
	for i := range parent {
		if state[i] != unseen {
			continue
		}
		path = path[:0]
		v := int32(i)
		for v >= 0 && state[v] == unseen {
			state[v] = onPath
			path = append(path, v)
			v = parent[v]
		}
		if v >= 0 && state[v] == onPath {
			// v closes a loop made of v and the nodes after it on path.
			best := v
			if less != nil {
				for k := len(path) - 1; path[k] != v; k-- {
					if less(path[k], best) {
						best = path[k]
					}
				}
			}
			parent[best] = -1
			cut++
		}
		for _, u := range path {
			state[u] = done
		}
	}
	return cut
}
