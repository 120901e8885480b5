// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package genaienrichprocessor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
	"github.com/llamatelemetry/otelcol-llt/pkg/utf8cut"
	"github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor/internal/embed"
	"github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor/internal/tokenize"
)

const (
	attrProjection = conventions.AttrLLTEmbeddingProjection
	attrCategory   = conventions.AttrLLTEmbeddingCategory
	// embedWorkers bounds the concurrent calls to llama-server for one batch.
	embedWorkers = 4
)

// contentKeys are the span attributes that can carry captured prompts or answers; drop_content
// removes them. contentPrefixes are the indexed families (OpenLLMetry, OpenInference).
var (
	contentKeys = []string{
		conventions.AttrGenAIInputMessages, conventions.AttrGenAIOutputMessages, conventions.AttrGenAISystemInstructions,
		"gen_ai.prompt", "gen_ai.completion", "input.value", "output.value",
	}
	contentPrefixes = []string{"gen_ai.prompt.", "gen_ai.completion.", "llm.input_messages.", "llm.output_messages.", "llm.prompts."}
)

// vectorizer turns a text into a vector.
type vectorizer interface {
	vector(ctx context.Context, text string) ([]float32, error)
}

// server says where llama-server is for each call: the launcher's llama-server gets its
// address only once it runs, and a new one after a restart.
type server struct {
	baseURL func() string
	apiKey  string
	client  *http.Client
}

func (s server) url() (string, error) {
	u := s.baseURL()
	if u == "" {
		return "", errors.New("llama-server is not running yet")
	}
	return u, nil
}

// llamaServer is the llama-server that tokenizes and embeds: embeddings::endpoint, else the
// launcher's (whose address changes with restarts); false when there is neither.
func llamaServer(cfg *Config, l launcherapi.Launcher) (server, bool) {
	endpoint := cfg.Embeddings.Endpoint
	srv := server{baseURL: func() string { return endpoint }, client: &http.Client{}}
	if l != nil {
		if endpoint == "" {
			srv.baseURL = l.BaseURL
		}
		srv.apiKey = l.APIKey()
	}
	return srv, l != nil || endpoint != ""
}

// errNoModelFile says that no GGUF file names the model to read.
var errNoModelFile = errors.New("no model file: the launcher runs llama-server in router mode (`models_dir`) or there is no launcher; name the GGUF file under `models`")

// modelPath is the GGUF file of the served model: the launcher's (none in router mode), else
// models[0]'s; errNoModelFile when neither names one.
func modelPath(cfg *Config, l launcherapi.Launcher) (string, error) {
	if l != nil {
		if p := l.Model().Path; p != "" {
			return p, nil
		}
	}
	if len(cfg.Models) > 0 {
		return cfg.Models[0].GGUF, nil
	}
	return "", errNoModelFile
}

type ggufVectorizer struct {
	srv  server
	rows *embed.TokenEmbeddings
	spm  *tokenize.SPM // nil: tokens come from llama-server's /tokenize
}

func (g *ggufVectorizer) vector(ctx context.Context, text string) ([]float32, error) {
	if g.spm != nil {
		return g.rows.Mean(g.spm.Tokenize(text))
	}
	u, err := g.srv.url()
	if err != nil {
		return nil, err
	}
	tok := &embed.ServerTokenizer{BaseURL: u, APIKey: g.srv.apiKey, Client: g.srv.client}
	toks, err := tok.Tokenize(ctx, text)
	if err != nil {
		return nil, err
	}
	return g.rows.Mean(toks)
}

// inProcessTokenizer returns the tokenizer embeddings::tokenizer asks for from the model's
// vocabulary, or nil when tokens are to come from llama-server (server, or auto with a
// vocabulary the collector cannot tokenize itself).
func inProcessTokenizer(mode string, f *gguf.File, path string, logger *zap.Logger) (*tokenize.SPM, error) {
	if mode == TokenizerServer {
		return nil, nil
	}
	spm, err := tokenize.NewSPM(f)
	switch {
	case err == nil:
		logger.Info("genaienrich tokenizes prompts in the collector, from the model's SentencePiece vocabulary", zap.String("model", path))
		return spm, nil
	case mode == TokenizerGGUF:
		return nil, fmt.Errorf("embeddings::tokenizer gguf: %s: %w", path, err)
	default:
		model, _ := f.TokenizerModel()
		logger.Info("genaienrich tokenizes prompts with llama-server's /tokenize: the collector tokenizes SentencePiece vocabularies only",
			zap.String("model", path), zap.String("tokenizer.ggml.model", model))
		return nil, nil
	}
}

type serverVectorizer struct{ srv server }

func (v serverVectorizer) vector(ctx context.Context, text string) ([]float32, error) {
	u, err := v.srv.url()
	if err != nil {
		return nil, err
	}
	return (&embed.ServerEmbedder{BaseURL: u, APIKey: v.srv.apiKey, Client: v.srv.client}).Embed(ctx, text)
}

// embedder makes the 3D points of spans with captured input.
// Pacing of the PCA refits (embed.Projector.SetFitPacing).
const (
	refitMinInterval = 10 * time.Second
	refitMaxShare    = 0.01
)

type embedder struct {
	cfg    EmbeddingsConfig
	logger *zap.Logger
	// failures counts the spans that got no vector (otelcol_genaienrich_embedding_failures).
	failures metric.Int64Counter
	vec      vectorizer
	proj     *embed.Projector
	cats     *embed.Categorizer
	closeFns []func()
}

func newEmbedder(_ context.Context, cfg *Config, l launcherapi.Launcher, logger *zap.Logger, failures metric.Int64Counter) (*embedder, error) {
	ec := cfg.Embeddings
	srv, ok := llamaServer(cfg, l)
	if !ok {
		return nil, errors.New("no llama-server: set launcher or embeddings::endpoint")
	}
	e := &embedder{cfg: ec, logger: logger, failures: failures, proj: embed.NewProjector(ec.Window, max(ec.Window/20, 1))}
	// A fit of a wide model's window takes long (0.2 s for 256 x 4096): fit in the background and
	// project with the previous fit meanwhile, so spans are not held back.
	e.proj.SetBackgroundFits(true)
	// Under load window/20 vectors come in well under a second, and a refit of 2000 vectors costs
	// tens of milliseconds to seconds with the model's width: refit at most every 10 s and within
	// 1% of a core, which keeps the fits' share of a request's CPU small at any request rate.
	e.proj.SetFitPacing(refitMinInterval, refitMaxShare)
	var rules []embed.Rule
	for _, c := range ec.Categories {
		rules = append(rules, embed.Rule{Name: c.Name, Match: regexp.MustCompile(c.Match)}) // validated in Config.Validate
	}
	e.cats = embed.NewCategorizer(rules, ec.Clusters)
	switch ec.Source {
	case SourceServer:
		e.vec = serverVectorizer{srv}
	default:
		path, err := modelPath(cfg, l)
		if err != nil {
			return nil, err
		}
		rows, err := embed.OpenTokenEmbeddings(path)
		if err != nil {
			return nil, fmt.Errorf("token embeddings of %s: %w", path, err)
		}
		e.closeFns = append(e.closeFns, func() { _ = rows.Close() })
		spm, err := inProcessTokenizer(ec.Tokenizer, rows.File(), path, logger)
		if err != nil {
			_ = rows.Close()
			return nil, err
		}
		e.vec = &ggufVectorizer{srv: srv, rows: rows, spm: spm}
	}
	return e, nil
}

func (e *embedder) close() {
	e.proj.Wait()
	for _, f := range e.closeFns {
		f()
	}
}

type embedJob struct {
	span ptrace.Span
	text string
}

// job returns the work for a span: its captured input text. Spans without it only lose their
// content attributes (when drop_content is set).
func (e *embedder) job(span ptrace.Span) (embedJob, bool) {
	text := inputText(span.Attributes(), e.cfg.MaxTextBytes)
	if text == "" {
		if e.cfg.DropContent {
			dropContent(span)
		}
		return embedJob{}, false
	}
	return embedJob{span: span, text: text}, true
}

// run makes the vectors (in parallel, within the timeout), projects them in order, and drops the
// captured text when configured: with drop_content no captured text leaves, whether or not a
// point could be made.
func (e *embedder) run(ctx context.Context, jobs []embedJob) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	vecs := make([][]float32, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(embedWorkers, len(jobs)) {
		wg.Go(func() {
			for i := range next {
				vecs[i], errs[i] = e.vec.vector(ctx, jobs[i].text)
			}
		})
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	failed := 0
	var firstErr error
	for i, j := range jobs {
		if errs[i] == nil {
			if p, ok := e.proj.Add(vecs[i]); ok {
				s := j.span.Attributes().PutEmptySlice(attrProjection)
				s.EnsureCapacity(3)
				for _, x := range p {
					s.AppendEmpty().SetDouble(x)
				}
				if c := e.cats.Category(j.text, p); c != "" {
					j.span.Attributes().PutStr(attrCategory, c)
				}
			}
		} else {
			failed++
			if firstErr == nil {
				firstErr = errs[i]
			}
		}
		if e.cfg.DropContent {
			dropContent(j.span)
		}
	}
	if failed > 0 {
		e.failures.Add(ctx, int64(failed))
		e.logger.Debug("embeddings: no vector for some spans; they pass without a point",
			zap.Int("failed", failed), zap.Int("spans", len(jobs)), zap.Error(firstErr))
	}
}

// inputText is the text of the captured input: the text parts of gen_ai.input.messages (and
// gen_ai.system_instructions), else a legacy gen_ai.prompt string. At most maxBytes.
func inputText(attrs pcommon.Map, maxBytes int) string {
	var b strings.Builder
	if v, ok := attrs.Get(conventions.AttrGenAIInputMessages); ok {
		appendParts(&b, v)
	}
	if b.Len() == 0 {
		if v, ok := attrs.Get("gen_ai.prompt"); ok && v.Type() == pcommon.ValueTypeStr {
			b.WriteString(v.Str())
		}
	}
	s := strings.TrimSpace(b.String())
	return utf8cut.Prefix(s, maxBytes)
}

// appendParts writes the text parts of a v1.41 messages value (a JSON string, or a structured
// slice of maps as some SDKs send).
func appendParts(b *strings.Builder, v pcommon.Value) {
	var msgs []struct {
		Parts []struct {
			Type    string          `json:"type"`
			Content json.RawMessage `json:"content"`
		} `json:"parts"`
	}
	var raw []byte
	switch v.Type() {
	case pcommon.ValueTypeStr:
		raw = []byte(v.Str())
	case pcommon.ValueTypeSlice:
		var err error
		if raw, err = json.Marshal(v.Slice().AsRaw()); err != nil {
			return
		}
	default:
		return
	}
	if json.Unmarshal(raw, &msgs) != nil {
		return
	}
	for _, m := range msgs {
		for _, p := range m.Parts {
			if p.Type != "text" {
				continue
			}
			var s string
			if json.Unmarshal(p.Content, &s) == nil && s != "" {
				if b.Len() > 0 {
					b.WriteByte('\n')
				}
				b.WriteString(s)
			}
		}
	}
}

// dropContent removes every attribute that can carry captured text from the span and its events.
func dropContent(span ptrace.Span) {
	dropContentAttrs(span.Attributes())
	evs := span.Events()
	for i := 0; i < evs.Len(); i++ {
		dropContentAttrs(evs.At(i).Attributes())
	}
}

// dropContentAttrs removes the attributes that can carry captured text.
func dropContentAttrs(m pcommon.Map) {
	for _, k := range contentKeys {
		m.Remove(k)
	}
	m.RemoveIf(func(k string, _ pcommon.Value) bool {
		for _, p := range contentPrefixes {
			if strings.HasPrefix(k, p) {
				return true
			}
		}
		return false
	})
}

// contentBodyKeys are the keys of a GenAI event's body that hold text: the events of earlier
// GenAI semantic conventions (gen_ai.user.message, gen_ai.choice, ...) carry the message there.
var contentBodyKeys = []string{"content", "message", "tool_calls"}

// dropLogContent removes captured text from a log record: its content attributes, and for a
// GenAI event (event name gen_ai.*) the text fields of a structured body.
func dropLogContent(lr plog.LogRecord) {
	dropContentAttrs(lr.Attributes())
	name := lr.EventName()
	if v, ok := lr.Attributes().Get("event.name"); ok && name == "" {
		name = v.AsString()
	}
	if strings.HasPrefix(name, "gen_ai.") && lr.Body().Type() == pcommon.ValueTypeMap {
		body := lr.Body().Map()
		for _, k := range contentBodyKeys {
			body.Remove(k)
		}
	}
}
