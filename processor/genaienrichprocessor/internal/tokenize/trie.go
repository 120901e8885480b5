// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package tokenize

import (
	"slices"
	"strings"
)

// specialTrie finds, in one pass over a text, which special tokens occur in it, so that
// partition tries only those (a model may have thousands of special tokens, and a prompt
// usually contains none).
type specialTrie struct {
	first [256]bool // bytes that start a special token
	// edges maps node<<8|byte to the child node; node 0 is the root.
	edges map[uint64]uint32
	// ends[node] lists the indexes into SPM.specials of the tokens that end at node.
	ends [][]int32
}

// newSpecialTrie builds the trie of the texts of specials (token ids).
func newSpecialTrie(texts []string, specials []int32) specialTrie {
	tr := specialTrie{edges: map[uint64]uint32{}, ends: [][]int32{nil}}
	for k, id := range specials {
		text := texts[id]
		tr.first[text[0]] = true
		node := uint32(0)
		for i := 0; i < len(text); i++ {
			key := uint64(node)<<8 | uint64(text[i])
			child, ok := tr.edges[key]
			if !ok {
				child = uint32(len(tr.ends))
				tr.ends = append(tr.ends, nil)
				tr.edges[key] = child
			}
			node = child
		}
		tr.ends[node] = append(tr.ends[node], int32(k))
	}
	return tr
}

// find appends to cands the indexes into SPM.specials of the special tokens that occur in text,
// in increasing order (the cache order), each once.
func (tr *specialTrie) find(text string, cands []int32) []int32 {
	if len(tr.ends) == 1 {
		return cands
	}
	start := len(cands)
	for i := 0; i < len(text); i++ {
		if !tr.first[text[i]] {
			continue
		}
		node := uint32(0)
		for j := i; j < len(text); j++ {
			child, ok := tr.edges[uint64(node)<<8|uint64(text[j])]
			if !ok {
				break
			}
			node = child
			cands = append(cands, tr.ends[node]...)
		}
	}
	found := cands[start:]
	slices.Sort(found)
	return append(cands[:start], slices.Compact(found)...)
}

// vocabTrie is a byte trie of all token texts. The SPM session keeps, for every symbol, the node
// its text leads to, so that whether two adjacent symbols form a token costs a walk over the
// right symbol's bytes only: no hashing, and an immediate no when the left symbol is not the
// start of any token. It answers exactly what llama_vocab::text_to_token does.
type vocabTrie struct {
	token     []int32  // token id of the text that ends at each node, or noToken
	edgeStart []uint32 // each node's children are edgeByte/edgeNode[edgeStart : edgeStart+edgeCount]
	edgeCount []uint16
	dense     []int32 // index into tables for nodes with many children, else -1
	edgeByte  []byte  // sorted within a node
	edgeNode  []int32
	tables    [][256]int32 // child by byte (0: none; the root is nobody's child)
}

// denseMin is the number of children from which a node gets a 256-entry table.
const denseMin = 12

// newVocabTrie builds the trie of texts (token id = index; texts are distinct).
func newVocabTrie(texts []string) *vocabTrie {
	order := make([]int32, len(texts))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(texts[a], texts[b]) })
	tr := &vocabTrie{}
	tr.build(texts, order, 0)
	for n := range tr.token {
		if tr.edgeCount[n] < denseMin {
			continue
		}
		var table [256]int32
		start := tr.edgeStart[n]
		for k := uint32(0); k < uint32(tr.edgeCount[n]); k++ {
			table[tr.edgeByte[start+k]] = tr.edgeNode[start+k]
		}
		tr.dense[n] = int32(len(tr.tables))
		tr.tables = append(tr.tables, table)
	}
	return tr
}

// build adds the node of the common prefix of length depth of the sorted keys texts[order[...]]
// and, below it, the nodes of all longer prefixes; it returns the node's index.
func (tr *vocabTrie) build(texts []string, order []int32, depth int) int32 {
	node := int32(len(tr.token))
	tr.token = append(tr.token, noToken)
	tr.edgeStart = append(tr.edgeStart, 0)
	tr.edgeCount = append(tr.edgeCount, 0)
	tr.dense = append(tr.dense, -1)
	if len(order) > 0 && len(texts[order[0]]) == depth { // the prefix itself sorts first
		tr.token[node] = order[0]
		order = order[1:]
	}
	type group struct {
		b      byte
		lo, hi int
	}
	var groups []group
	for i := 0; i < len(order); {
		b := texts[order[i]][depth]
		j := i + 1
		for j < len(order) && texts[order[j]][depth] == b {
			j++
		}
		groups = append(groups, group{b, i, j})
		i = j
	}
	start := uint32(len(tr.edgeByte))
	tr.edgeStart[node], tr.edgeCount[node] = start, uint16(len(groups))
	for _, g := range groups {
		tr.edgeByte = append(tr.edgeByte, g.b)
		tr.edgeNode = append(tr.edgeNode, 0)
	}
	for k, g := range groups {
		child := tr.build(texts, order[g.lo:g.hi], depth+1)
		tr.edgeNode[start+uint32(k)] = child
	}
	return node
}

// child returns the node below node by byte c, or -1.
func (tr *vocabTrie) child(node int32, c byte) int32 {
	if d := tr.dense[node]; d >= 0 {
		if n := tr.tables[d][c]; n != 0 {
			return n
		}
		return -1
	}
	start := tr.edgeStart[node]
	bs := tr.edgeByte[start : start+uint32(tr.edgeCount[node])]
	for k, b := range bs {
		if b >= c {
			if b == c {
				return tr.edgeNode[start+uint32(k)]
			}
			break
		}
	}
	return -1
}

// walk returns the node reached from node over text, or -1.
func (tr *vocabTrie) walk(node int32, text []byte) int32 {
	for _, c := range text {
		if node = tr.child(node, c); node < 0 {
			return -1
		}
	}
	return node
}
