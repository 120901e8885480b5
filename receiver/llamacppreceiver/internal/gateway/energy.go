// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
)

// GPU attributes of a gateway span, when the launcher's llama-server runs on GPUs that the nvml
// receiver reads (Settings.Energy). Not semantic conventions, except hw.id, hw.name and
// hw.model, which name the GPUs as the nvml receiver's resources do.
const (
	attrGPUEnergy          = conventions.AttrLLTGPUEnergy
	attrGPUEnergyPerOutput = conventions.AttrLLTGPUEnergyPerOutputToken
	attrGPUTime            = conventions.AttrLLTGPUTime
	attrGPUEnergyMethod    = conventions.AttrLLTGPUEnergyMethod
	attrHWID               = conventions.AttrHWID
	attrHWName             = conventions.AttrHWName
	attrHWModel            = conventions.AttrHWModel
)

// timeline is what the energy ledger needs of a finished request.
func timeline(ex *exchange, sum *responseSummary, tok tokenCounts) launcherapi.Timeline {
	tl := launcherapi.Timeline{End: ex.end}
	if t := sum.timings; t != nil && t.PromptMS != nil && t.PredictedMS != nil {
		tl.HasTimings = true
		tl.PromptDuration = msDuration(t.PromptMS)
		tl.OutputDuration = msDuration(t.PredictedMS)
		if t.PromptN != nil {
			tl.PromptTokens = int(*t.PromptN)
		}
		if t.PredictedN != nil {
			tl.OutputTokens = int(*t.PredictedN)
		}
		return tl
	}
	tl.PromptTokens, tl.OutputTokens = int(tok.input), int(tok.output)
	return tl
}

// heldSpans are a request's spans waiting for its energy.
type heldSpans struct {
	id     uint64
	spans  ptrace.SpanSlice // the gateway span first
	output int64            // gen_ai.usage.output_tokens; 0 when unknown
}

// putGPUAttrs writes the GPUs and, when known, the energy on the gateway span.
func putGPUAttrs(a pcommon.Map, gpus []launcherapi.GPU, e launcherapi.RequestEnergy, known bool, output int64) {
	switch len(gpus) {
	case 0:
	case 1:
		a.PutStr(attrHWID, gpus[0].ID)
		a.PutStr(attrHWName, gpus[0].Name)
		if gpus[0].Model != "" {
			a.PutStr(attrHWModel, gpus[0].Model)
		}
	default:
		ids, names := a.PutEmptySlice(attrHWID), a.PutEmptySlice(attrHWName)
		for _, g := range gpus {
			ids.AppendEmpty().SetStr(g.ID)
			names.AppendEmpty().SetStr(g.Name)
		}
		if gpus[0].Model != "" {
			a.PutStr(attrHWModel, gpus[0].Model)
		}
	}
	if !known {
		return
	}
	a.PutDouble(attrGPUEnergy, e.Joules)
	a.PutDouble(attrGPUTime, e.GPUSeconds)
	if output > 0 {
		a.PutDouble(attrGPUEnergyPerOutput, e.Joules/float64(output))
	}
	if e.ByTime {
		a.PutStr(attrGPUEnergyMethod, "time")
	} else {
		a.PutStr(attrGPUEnergyMethod, "tokens")
	}
}
