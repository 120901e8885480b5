// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"fmt"
	"math"
)

// latencySurface is the mean request latency over (time bucket, prompt-length bucket).
func latencySurface(d *Data) *Figure {
	const id, title = "unified-latency-surface", "Latency surface: mean latency by time and prompt length"
	var rs []*Request
	for i := range d.Requests {
		r := &d.Requests[i]
		if r.In >= 0 && finite(r.Latency) {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return emptyPanel(id, title, needSurface, false)
	}
	tmin, tmax := rs[0].EndMs, rs[0].EndMs
	pmin, pmax := rs[0].In, rs[0].In
	for _, r := range rs {
		tmin, tmax = min(tmin, r.EndMs), max(tmax, r.EndMs)
		pmin, pmax = min(pmin, r.In), max(pmax, r.In)
	}
	const nt, np = surfaceTimeBuckets, surfacePromptBuckets
	tw := float64(tmax-tmin) / nt
	pw := float64(pmax-pmin) / np
	bucket := func(v, lo, w float64, n int) int {
		if w <= 0 {
			return 0
		}
		return min(max(int((v-lo)/w), 0), n-1)
	}
	var sum, cnt [np][nt]float64
	tSeen, pSeen := map[int]bool{}, map[int]bool{}
	for _, r := range rs {
		ti := bucket(float64(r.EndMs-tmin), 0, tw, nt)
		pi := bucket(float64(r.In-pmin), 0, pw, np)
		tSeen[ti], pSeen[pi] = true, true
		sum[pi][ti] += r.Latency * 1000
		cnt[pi][ti]++
	}
	if len(tSeen) < 2 || len(pSeen) < 2 {
		return emptyPanel(id, title, needSurface, false)
	}
	x := make([]int64, nt)
	for i := range x {
		x[i] = tmin + int64((float64(i)+0.5)*tw)
	}
	y := make(Nums, np)
	for j := range y {
		y[j] = float64(pmin) + (float64(j)+0.5)*pw
	}
	z := make([]Nums, np)
	text := make([][]string, np)
	// The bucket means also as markers: a cell without a neighbouring cell draws no surface.
	var mx []int64
	var my, mz Nums
	var mt []string
	for j := range z {
		z[j] = make(Nums, nt)
		text[j] = make([]string, nt)
		for i := range z[j] {
			z[j][i] = math.NaN()
			text[j][i] = fmt.Sprintf("%.0f requests", cnt[j][i])
			if cnt[j][i] > 0 {
				z[j][i] = sum[j][i] / cnt[j][i]
				mx, my, mz, mt = append(mx, x[i]), append(my, y[j]), append(mz, z[j][i]), append(mt, text[j][i])
			}
		}
	}
	lay := Obj{
		"scene": Obj{
			"xaxis": Obj{"title": Obj{"text": "time (UTC)"}, "type": "date"},
			"yaxis": Obj{"title": Obj{"text": "prompt tokens"}},
			"zaxis": Obj{"title": Obj{"text": "mean latency (ms)"}},
		},
		"margin": Obj{"l": 0, "r": 0, "t": 30, "b": 10},
	}
	return &Figure{ID: id, Title: title, Height: internals3DHeight, Layout: lay, Data: []Obj{{
		"type": "surface", "x": x, "y": y, "z": z, "text": text, "connectgaps": false,
		"colorscale": "Viridis", "colorbar": Obj{"title": Obj{"text": "ms"}},
		"hovertemplate": "%{x}<br>prompt ≈ %{y:.0f} tokens<br>mean latency %{z:.0f} ms<br>%{text}<extra></extra>",
	}, {
		"type": "scatter3d", "mode": "markers", "name": "bucket means", "x": mx, "y": my, "z": mz, "text": mt,
		"marker": Obj{"size": 3, "color": "#333"}, "showlegend": false,
		"hovertemplate": "%{x}<br>prompt ≈ %{y:.0f} tokens<br>mean latency %{z:.0f} ms<br>%{text}<extra></extra>",
	}}}
}
