// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

// A llama-server started without a model (`--models-dir`, `--models-preset`) is a router: its
// /props says "role":"router", /models lists the models it can serve with their status, and it
// runs each loaded model as a child process. The child's /metrics, /slots and /props are reached
// through the router with ?model=<id>; without it they answer 400. autoload=false makes a request
// for a model that is not loaded answer 400 instead of loading it, so scraping never loads one.
// (llama.cpp tools/server/server-models.cpp and README "Using multiple models".)

// maxRouterModels bounds the models scraped per scrape (a router serving more is told once in the
// log); the rest are left out until fewer are listed.
const maxRouterModels = 64

// routerModel is one entry of a router's /models.
type routerModel struct {
	ID     string
	Status metadata.AttributeLlamacppModelStatus // 0 when the router names a status this receiver does not know
	Raw    string                                // the status as the router names it
}

type rawRouterModels struct {
	Data []struct {
		ID     string `json:"id"`
		Status *struct {
			Value  string `json:"value"`
			Failed bool   `json:"failed"`
		} `json:"status"`
	} `json:"data"`
}

// parseRouterModels decodes a router's /models body, sorted by id, without empty or repeated ids
// (the first listed of repeated ones is kept).
func parseRouterModels(body []byte) ([]routerModel, error) {
	var raw rawRouterModels
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, err
	}
	if raw.Data == nil {
		return nil, errors.New("no `data` list")
	}
	out := make([]routerModel, 0, len(raw.Data))
	for _, d := range raw.Data {
		if d.ID == "" {
			continue
		}
		m := routerModel{ID: d.ID}
		if d.Status != nil {
			m.Raw = d.Status.Value
			m.Status = modelStatus(d.Status.Value, d.Status.Failed)
		}
		out = append(out, m)
	}
	// Stable: of repeated ids, the first listed is kept.
	slices.SortStableFunc(out, func(a, b routerModel) int { return strings.Compare(a.ID, b.ID) })
	return slices.CompactFunc(out, func(a, b routerModel) bool { return a.ID == b.ID }), nil
}

func modelStatus(value string, failed bool) metadata.AttributeLlamacppModelStatus {
	switch value {
	case "unloaded":
		if failed {
			return metadata.AttributeLlamacppModelStatusFailed
		}
		return metadata.AttributeLlamacppModelStatusUnloaded
	case "loading":
		return metadata.AttributeLlamacppModelStatusLoading
	case "loaded":
		return metadata.AttributeLlamacppModelStatusLoaded
	case "sleeping":
		return metadata.AttributeLlamacppModelStatusSleeping
	}
	return 0
}

// allModelStatuses are the values llamacpp.router.model.status is recorded for, one point each.
var allModelStatuses = []metadata.AttributeLlamacppModelStatus{
	metadata.AttributeLlamacppModelStatusUnloaded,
	metadata.AttributeLlamacppModelStatusLoading,
	metadata.AttributeLlamacppModelStatusLoaded,
	metadata.AttributeLlamacppModelStatusSleeping,
	metadata.AttributeLlamacppModelStatusFailed,
}

// modelQuery is the query that sends a request to one of a router's models without loading it.
func modelQuery(id string) string {
	return "?" + url.Values{"model": {id}, "autoload": {"false"}}.Encode()
}
