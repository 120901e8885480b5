// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graphistryexporter // import "github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter"

import (
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter/internal/metadata"
	"github.com/llamatelemetry/otelcol-llt/internal/sharedcomponent"
)

// Dataset is a dataset that a graphistry exporter uploaded.
type Dataset struct {
	// Name is the dataset's name on the server (the time range of its spans).
	Name string
	// URL opens the dataset in Graphistry's viewer. It carries no token.
	URL string
	// Time is when the upload finished.
	Time time.Time
}

// Datasets is what another component sees of a running graphistry exporter: the datasets it
// uploaded.
type Datasets interface {
	// Newest returns the dataset uploaded last, or false before the first upload.
	Newest() (Dataset, bool)
}

// exporters holds the graphistry exporters of the running collector by component ID. An
// exporter serves one signal, so nothing is shared between pipelines: the map is how a component
// that names this exporter in its config (the plotlyhtml exporter's `graphistry: graphistry`)
// finds it, since the collector hands a component no way to reach an exporter (component.Host
// offers extensions only). The factory adds each exporter it creates; Shutdown removes it.
var exporters = sharedcomponent.NewMap[component.ID, *graphistryExporter]()

// Find returns the graphistry exporter with this ID. It is meant for a component's Start: every
// exporter of the collector's pipelines is created before any component starts.
func Find(id component.ID) (Datasets, error) {
	if id.Type() != metadata.Type {
		return nil, fmt.Errorf("%q is not a graphistry exporter", id)
	}
	c, ok := exporters.Load(id)
	if !ok {
		return nil, fmt.Errorf("no graphistry exporter %q in the collector's pipelines", id)
	}
	return c.Unwrap(), nil
}

// Newest returns the dataset this exporter uploaded last.
func (e *graphistryExporter) Newest() (Dataset, bool) {
	d := e.newest.Load()
	if d == nil {
		return Dataset{}, false
	}
	return *d, true
}
