// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package genaimsg encodes chat messages as the JSON of the GenAI semantic conventions v1.41
// attributes gen_ai.input.messages and gen_ai.output.messages, following their schemas
// (gen-ai-input-messages.json, gen-ai-output-messages.json): a list of messages, each a role
// plus a list of typed parts.
//
//	[{"role":"user","parts":[{"type":"text","content":"Weather in Paris?"}]},
//	 {"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"get_weather","arguments":{"city":"Paris"}}],"finish_reason":"tool_call"}]
//
// It is the one encoder of these attributes in otelcol-llt: the llamacpp gateway renders the
// requests and answers it proxies with it, and genaienrich's normalize renders the messages it
// gathers from other instrumentations' attributes. [Marshal] and [Encoder] write the fields in
// a fixed order (role, parts, name, finish_reason; type, content, id, name, arguments,
// response, modality, uri) and escape strings as encoding/json does without HTML escaping, so
// equal messages give equal bytes.
package genaimsg // import "github.com/llamatelemetry/otelcol-llt/pkg/genaimsg"
