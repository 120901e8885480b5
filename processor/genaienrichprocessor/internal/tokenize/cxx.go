// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package tokenize

import "math/bits"

// This file replicates two algorithms of libstdc++ (GCC's C++ standard library, which the
// Debian/Ubuntu and most other llama.cpp builds use) step for step, so that the order in which
// llama.cpp processes equal elements is reproduced exactly:
//
//   - std::priority_queue (std::push_heap, std::pop_heap: __push_heap, __adjust_heap) holds the
//     SPM bigrams. With scores that compare as a strict weak order the pop order does not
//     depend on the heap layout, but with NaN scores it does.
//   - std::sort (__introsort_loop, __unguarded_partition_pivot, __final_insertion_sort,
//     __partial_sort) orders the special tokens cache by text length. std::sort is not stable:
//     with more than 16 special tokens, the relative order of equally long ones depends on it.

// bigram is llm_bigram_spm: two adjacent symbols whose concatenation is the token of score.
type bigram struct {
	left, right int32
	score       float32
	size        int32
	node        int32 // vocabTrie node of the merged text (not part of llm_bigram_spm)
}

// bigramLess is llm_bigram_spm::comparator: the queue's top is the greatest element, that is
// the highest score and, among equal scores, the lowest left index.
func bigramLess(l, r *bigram) bool {
	return l.score < r.score || (l.score == r.score && l.left > r.left)
}

// heapPush is std::priority_queue::push: push_back, then std::push_heap.
func heapPush(h []bigram, v bigram) []bigram {
	h = append(h, v)
	bigramSiftUp(h, len(h)-1, 0, v)
	return h
}

// heapPop is std::priority_queue::top followed by pop: std::pop_heap, then pop_back.
func heapPop(h []bigram) (bigram, []bigram) {
	top := h[0]
	n := len(h)
	if n > 1 {
		last := n - 1
		v := h[last]
		h[last] = h[0]
		bigramAdjust(h, 0, last, v)
	}
	return top, h[:n-1]
}

// bigramSiftUp is libstdc++'s __push_heap.
func bigramSiftUp(h []bigram, hole, top int, v bigram) {
	parent := (hole - 1) / 2
	for hole > top && bigramLess(&h[parent], &v) {
		h[hole] = h[parent]
		hole = parent
		parent = (hole - 1) / 2
	}
	h[hole] = v
}

// bigramAdjust is libstdc++'s __adjust_heap on h[:n].
func bigramAdjust(h []bigram, hole, n int, v bigram) {
	top := hole
	child := hole
	for child < (n-1)/2 {
		child = 2 * (child + 1)
		if bigramLess(&h[child], &h[child-1]) {
			child--
		}
		h[hole] = h[child]
		hole = child
	}
	if n&1 == 0 && child == (n-2)/2 {
		child = 2 * (child + 1)
		h[hole] = h[child-1]
		hole = child - 1
	}
	bigramSiftUp(h, hole, top, v)
}

// sortThreshold is libstdc++'s _S_threshold.
const sortThreshold = 16

// cxxSort sorts a as libstdc++'s std::sort(a.begin(), a.end(), less) does, element moves
// included. less must be a strict weak order; the bounds checks that libstdc++'s unguarded
// loops leave out are kept only so that a broken order cannot make it panic.
func cxxSort(a []int32, less func(x, y int32) bool) {
	if len(a) == 0 {
		return
	}
	introsortLoop(a, 2*(bits.Len(uint(len(a)))-1), less)
	finalInsertionSort(a, less)
}

func introsortLoop(a []int32, depth int, less func(x, y int32) bool) {
	for len(a) > sortThreshold {
		if depth == 0 {
			makeHeap(a, less) // __partial_sort(first, last, last) = __heap_select + __sort_heap
			sortHeap(a, less)
			return
		}
		depth--
		cut := unguardedPartitionPivot(a, less)
		introsortLoop(a[cut:], depth, less)
		a = a[:cut]
	}
}

func unguardedPartitionPivot(a []int32, less func(x, y int32) bool) int {
	mid := len(a) / 2
	moveMedianToFirst(a, 0, 1, mid, len(a)-1, less)
	return unguardedPartition(a, 1, len(a), 0, less)
}

func moveMedianToFirst(a []int32, result, x, y, z int, less func(x, y int32) bool) {
	var m int
	switch {
	case less(a[x], a[y]):
		switch {
		case less(a[y], a[z]):
			m = y
		case less(a[x], a[z]):
			m = z
		default:
			m = x
		}
	case less(a[x], a[z]):
		m = x
	case less(a[y], a[z]):
		m = z
	default:
		m = y
	}
	a[result], a[m] = a[m], a[result]
}

func unguardedPartition(a []int32, first, last, pivot int, less func(x, y int32) bool) int {
	for {
		for first < len(a)-1 && less(a[first], a[pivot]) {
			first++
		}
		last--
		for last > 0 && less(a[pivot], a[last]) {
			last--
		}
		if first >= last {
			return first
		}
		a[first], a[last] = a[last], a[first]
		first++
	}
}

func finalInsertionSort(a []int32, less func(x, y int32) bool) {
	if len(a) <= sortThreshold {
		insertionSort(a, less)
		return
	}
	insertionSort(a[:sortThreshold], less)
	for i := sortThreshold; i < len(a); i++ { // __unguarded_insertion_sort
		unguardedLinearInsert(a, i, less)
	}
}

func insertionSort(a []int32, less func(x, y int32) bool) {
	for i := 1; i < len(a); i++ {
		if less(a[i], a[0]) {
			v := a[i]
			copy(a[1:i+1], a[:i])
			a[0] = v
		} else {
			unguardedLinearInsert(a, i, less)
		}
	}
}

func unguardedLinearInsert(a []int32, i int, less func(x, y int32) bool) {
	v := a[i]
	for j := i - 1; j >= 0 && less(v, a[j]); j-- {
		a[i] = a[j]
		i = j
	}
	a[i] = v
}

// makeHeap is libstdc++'s __make_heap.
func makeHeap(a []int32, less func(x, y int32) bool) {
	n := len(a)
	if n < 2 {
		return
	}
	for parent := (n - 2) / 2; ; parent-- {
		adjustHeap(a, parent, n, a[parent], less)
		if parent == 0 {
			return
		}
	}
}

// sortHeap is libstdc++'s __sort_heap.
func sortHeap(a []int32, less func(x, y int32) bool) {
	for n := len(a); n > 1; {
		n--
		v := a[n]
		a[n] = a[0]
		adjustHeap(a, 0, n, v, less)
	}
}

// adjustHeap is libstdc++'s __adjust_heap on a[:n], followed by its __push_heap.
func adjustHeap(a []int32, hole, n int, v int32, less func(x, y int32) bool) {
	top := hole
	child := hole
	for child < (n-1)/2 {
		child = 2 * (child + 1)
		if less(a[child], a[child-1]) {
			child--
		}
		a[hole] = a[child]
		hole = child
	}
	if n&1 == 0 && child == (n-2)/2 {
		child = 2 * (child + 1)
		a[hole] = a[child-1]
		hole = child - 1
	}
	parent := (hole - 1) / 2
	for hole > top && less(a[parent], v) {
		a[hole] = a[parent]
		hole = parent
		parent = (hole - 1) / 2
	}
	a[hole] = v
}
