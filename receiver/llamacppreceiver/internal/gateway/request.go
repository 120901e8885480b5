package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
)

// requestDoc is the part of an inference request body the span records. Pointers tell a field
// that was sent from one that was not. encoding/json skips a field of the wrong type and goes
// on, so one odd field does not lose the others.
type requestDoc struct {
	Model            string     `json:"model"`
	Temperature      optNumber  `json:"temperature"`
	TopP             optNumber  `json:"top_p"`
	TopK             optNumber  `json:"top_k"`
	MaxTokens        optNumber  `json:"max_tokens"`
	MaxCompletion    optNumber  `json:"max_completion_tokens"`
	NPredict         optNumber  `json:"n_predict"`
	Seed             optNumber  `json:"seed"`
	Stream           optBool    `json:"stream"`
	FrequencyPenalty optNumber  `json:"frequency_penalty"`
	PresencePenalty  optNumber  `json:"presence_penalty"`
	Stop             stopList   `json:"stop"`
	N                optNumber  `json:"n"`
	ResponseFormat   *formatDoc `json:"response_format"`
}

type formatDoc struct {
	Type string `json:"type"`
}

// requestInfo is what the gateway learnt from a request body.
type requestInfo struct {
	parsed bool // the body is a JSON object
	doc    requestDoc
}

// maxTokens is max_tokens, else max_completion_tokens, else llama.cpp's n_predict.
func (r *requestInfo) maxTokens() (int64, bool) {
	for _, n := range [...]optNumber{r.doc.MaxTokens, r.doc.MaxCompletion, r.doc.NPredict} {
		if v, ok := n.int(); ok {
			return v, true
		}
	}
	return 0, false
}

// outputType maps response_format.type to gen_ai.output.type.
func (r *requestInfo) outputType() string {
	if r.doc.ResponseFormat == nil {
		return ""
	}
	switch r.doc.ResponseFormat.Type {
	case "json_object", "json_schema":
		return "json"
	case "text":
		return "text"
	}
	return ""
}

// optNumber is a JSON number that may be absent. A value of another type (a string, null)
// leaves it absent rather than zero.
type optNumber struct {
	v   float64
	set bool
}

// UnmarshalJSON implements json.Unmarshaler; it never fails, so one odd field does not stop
// the others from decoding.
func (n *optNumber) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		if f, err := strconv.ParseFloat(string(b), 64); err == nil {
			*n = optNumber{v: f, set: true}
		}
	}
	return nil
}

// int returns the number when it is an integer that fits an int64.
func (n optNumber) int() (int64, bool) {
	if !n.set || n.v != math.Trunc(n.v) || n.v < math.MinInt64 || n.v >= math.MaxInt64 {
		return 0, false
	}
	return int64(n.v), true
}

// optBool is a JSON boolean that may be absent; a value of another type leaves it absent.
type optBool struct {
	v, set bool
}

// UnmarshalJSON implements json.Unmarshaler; it never fails.
func (o *optBool) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "true":
		*o = optBool{v: true, set: true}
	case "false":
		*o = optBool{v: false, set: true}
	}
	return nil
}

// parseRequest reads the attributes of a request body. A body that is not a JSON object gives
// parsed == false and no attributes.
func parseRequest(body []byte) requestInfo {
	var info requestInfo
	if !looksLikeObject(body) {
		return info
	}
	err := json.Unmarshal(body, &info.doc)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		info.parsed = true
	case errors.As(err, &typeErr) && typeErr.Field != "":
		info.parsed = true // one field of an unexpected type; the others were decoded
	default:
		info.doc = requestDoc{}
	}
	return info
}

func looksLikeObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// stopList is a `stop` field: one string or a list of strings.
type stopList []string

// UnmarshalJSON accepts a string or an array of strings, and ignores anything else: an error
// here would stop the whole body from decoding.
func (s *stopList) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var one string
		if json.Unmarshal(b, &one) == nil {
			*s = stopList{one}
		}
		return nil
	}
	var many []string
	if json.Unmarshal(b, &many) == nil && many != nil {
		*s = many
	}
	return nil
}
