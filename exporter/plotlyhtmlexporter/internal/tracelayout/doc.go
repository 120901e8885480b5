// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package tracelayout computes deterministic 2D coordinates for a forest of
// spans, for drawing trace graphs (spans as nodes, parent->child edges).
//
// Nodes are addressed by index. The caller maps span IDs to indices (see
// IndexParents) and passes a parent array plus an ordering key (typically the
// span start time) that fixes the left-to-right order of siblings.
//
// Each tree is drawn with the tidy-tree algorithm of Reingold and Tilford in
// the linear-time formulation of Buchheim, Jünger and Leipert ("Improving
// Walker's Algorithm to Run in Linear Time", 2002): depth d is drawn at
// y = -d, nodes at the same depth are at least one unit apart, every parent is
// centred over its first and last child, and subtrees are packed as closely
// as that allows. Trees of a forest are placed side by side, in order of their
// roots' keys, with their bounding boxes separated by an empty gap of one
// unit.
//
// All traversals are iterative, so arbitrarily deep trees (long span chains)
// cannot overflow the stack, and malformed parent arrays (cycles, self
// references, out-of-range indices) are repaired rather than rejected.
//
// The layout is implemented here rather than imported: gonum's graph/layout
// offers only force-directed (Eades) and Isomap layouts, which are roughly
// quadratic for traces of this size and do not produce tree-shaped drawings,
// whereas a tidy tree is the standard way to draw span trees and runs in
// linear time.
package tracelayout
