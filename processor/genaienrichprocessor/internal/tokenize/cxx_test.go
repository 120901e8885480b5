// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package tokenize

import (
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLibstdcxxReplica checks cxxSort and the bigram heap against what the real libstdc++
// std::sort and std::priority_queue did on the same inputs (testdata/libstdcxx/oracle.cpp made
// want.txt from cases.txt): sorts of more than 16 elements with many equal keys, whose result
// std::sort's instability decides, and queues with tied and NaN scores.
func TestLibstdcxxReplica(t *testing.T) {
	cases, err := os.ReadFile("testdata/libstdcxx/cases.txt")
	require.NoError(t, err)
	want, err := os.ReadFile("testdata/libstdcxx/want.txt")
	require.NoError(t, err)
	in := strings.Split(strings.TrimSuffix(string(cases), "\n"), "\n")
	out := strings.Split(strings.TrimSuffix(string(want), "\n"), "\n")
	require.Len(t, out, len(in))

	num := func(s string) int {
		n, err := strconv.Atoi(s)
		require.NoError(t, err)
		return n
	}
	sorts, queues := 0, 0
	for i, line := range in {
		f := strings.Fields(line)
		var got []string
		switch f[0] {
		case "S":
			n := num(f[1])
			lens := make([]int, n)
			ids := make([]int32, n)
			for j := range n {
				lens[j] = num(f[2+j])
				ids[j] = int32(j)
			}
			cxxSort(ids, func(a, b int32) bool { return lens[a] > lens[b] })
			for _, id := range ids {
				got = append(got, strconv.Itoa(int(id)))
			}
			sorts++
		case "Q":
			var h []bigram
			for j := 2; j < len(f); j++ {
				if f[j] == "o" {
					var b bigram
					b, h = heapPop(h)
					got = append(got, strconv.Itoa(int(b.left)))
					continue
				}
				left := num(f[j+1])
				score := float32(math.NaN())
				if f[j+2] != "NaN" {
					score = float32(num(f[j+2]))
				}
				h = heapPush(h, bigram{left: int32(left), right: int32(left + 1), score: score, size: 1})
				j += 2
			}
			queues++
		}
		require.Equal(t, strings.Fields(out[i]), append([]string{}, got...), "line %d: %.60s", i+1, line)
	}
	require.Positive(t, sorts)
	require.Positive(t, queues)
}
