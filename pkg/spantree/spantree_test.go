// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package spantree

import (
	"testing"
)

func TestBreakCycles(t *testing.T) {
	for name, tc := range map[string]struct {
		parent []int32
		less   func(a, b int32) bool
		want   []int32
		cut    int
	}{
		"forest":      {[]int32{-1, 0, 0, 1}, nil, []int32{-1, 0, 0, 1}, 0},
		"self loop":   {[]int32{0, 0}, nil, []int32{-1, 0}, 1},
		"loop":        {[]int32{1, 2, 0, 2}, nil, []int32{-1, 2, 0, 2}, 1},
		"loop, least": {[]int32{1, 2, 0, 2}, func(a, b int32) bool { return a > b }, []int32{1, 2, -1, 2}, 1},
		"two loops":   {[]int32{1, 0, 3, 2, -1}, nil, []int32{-1, 0, -1, 2, -1}, 2},
		"tail":        {[]int32{1, 2, 3, 1}, nil, []int32{1, -1, 3, 1}, 1},
	} {
		t.Run(name, func(t *testing.T) {
			got := append([]int32(nil), tc.parent...)
			if cut := BreakCycles(got, tc.less); cut != tc.cut {
				t.Errorf("cut %d loops, want %d", cut, tc.cut)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("parents %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// FuzzBreakCycles: any in-range parent array becomes a forest: every walk to the root ends.
func FuzzBreakCycles(f *testing.F) {
	f.Add([]byte{1, 2, 0, 2})
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		n := len(b)
		parent := make([]int32, n)
		for i, x := range b {
			parent[i] = int32(int(x)%(n+1)) - 1
		}
		BreakCycles(parent, func(a, c int32) bool { return b[a] < b[c] })
		for i := range parent {
			steps := 0
			for v := int32(i); v >= 0; v = parent[v] {
				if steps++; steps > n {
					t.Fatalf("loop left from node %d: %v", i, parent)
				}
			}
		}
	})
}
