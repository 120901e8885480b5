// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package genaienrichprocessor

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
	"github.com/llamatelemetry/otelcol-llt/pkg/forward"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
	"github.com/llamatelemetry/otelcol-llt/pkg/utf8cut"
	"github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor/internal/embed"
	"github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor/internal/metadata"
)

// scopeName is the instrumentation scope of the spans genaienrich makes itself.
const scopeName = "github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor"

// attentionSampler takes one prompt in sample_every (and at most one per interval), and computes
// its attention matrices with the model's own weights on one background worker, so the spans
// that pass through the processor are never held back: the sampled span goes on at once, and the
// attention follows later as a span of its own (conventions.SpanAttention), a child of the
// sampled span in the same trace, sent to the next consumer of the pipeline.
type attentionSampler struct {
	cfg    AttentionConfig
	logger *zap.Logger
	tb     *metadata.TelemetryBuilder
	next   consumer.Traces

	file      *gguf.File
	model     *forward.Model
	modelName string
	// tokenize turns a prompt into token ids, without BOS.
	tokenize func(ctx context.Context, text string) ([]int32, error)
	bos      int32 // -1: the model adds none
	// pieces are the vocabulary's token texts, for the axes' labels; nil when captured content
	// must not leave the collector (drop_content), and then the axes show positions only.
	pieces   []string
	computed int   // blocks the forward pass computes
	layers   []int // resolved from attention::layers, ascending, unique, < computed
	maxText  int   // the most bytes of a prompt given to the tokenizer

	mu    sync.Mutex
	count uint64    // prompts seen
	last  time.Time // when the last sample was taken

	queue  chan attentionJob
	cancel context.CancelFunc
	done   chan struct{}
}

// attentionJob is one sampled prompt and what its span needs to know of the sampled request.
type attentionJob struct {
	text     string
	traceID  pcommon.TraceID
	parentID pcommon.SpanID
	start    pcommon.Timestamp
	reqModel string
	resource pcommon.Resource
}

// errAttentionLayers reports attention::layers outside the computed layers: a configuration
// error, so the collector does not start.
var errAttentionLayers = errors.New("attention::layers")

// newAttentionSampler opens the model (the launcher's, else models[0]) and its tokenizer. An
// error wrapping errAttentionLayers is a configuration error; others say why this model or
// machine cannot compute attention, and the caller logs them and goes on without it.
func newAttentionSampler(cfg *Config, l launcherapi.Launcher, next consumer.Traces, tb *metadata.TelemetryBuilder, logger *zap.Logger) (*attentionSampler, error) {
	ac := cfg.Attention
	path, err := modelPath(cfg, l)
	if err != nil {
		return nil, err
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	s := &attentionSampler{cfg: ac, logger: logger, tb: tb, next: next, file: f, bos: -1, maxText: ac.MaxTokens * 32}
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
		}
	}()
	if s.model, err = forward.New(f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	info := s.model.Info()
	s.modelName = info.Name
	if s.modelName == "" {
		s.modelName = strings.TrimSuffix(filepath.Base(path), ".gguf")
	}
	s.computed = info.Layers
	if ac.MaxLayers > 0 && ac.MaxLayers < s.computed {
		s.computed = ac.MaxLayers
	}
	if s.layers, err = resolveLayers(ac.Layers, s.computed); err != nil {
		return nil, err
	}
	if id, has := f.BOSTokenID(); has && id < uint64(info.Vocab) {
		add := true
		if v, has := f.KV(gguf.KeyAddBOSToken); has {
			if b, isBool := v.Bool(); isBool {
				add = b
			}
		}
		if add {
			s.bos = int32(id)
		}
	}
	if !cfg.Embeddings.Enabled || !cfg.Embeddings.DropContent {
		s.pieces, _ = f.Tokens()
	}
	spm, err := inProcessTokenizer(cfg.Embeddings.Tokenizer, f, path, logger)
	if err != nil {
		return nil, err
	}
	if spm != nil {
		s.tokenize = func(_ context.Context, text string) ([]int32, error) { return spm.Tokenize(text), nil }
	} else {
		srv, has := llamaServer(cfg, l)
		if !has {
			return nil, errors.New("the model's vocabulary is not SentencePiece and there is no llama-server to tokenize (set launcher or embeddings::endpoint)")
		}
		s.tokenize = func(ctx context.Context, text string) ([]int32, error) {
			u, err := srv.url()
			if err != nil {
				return nil, err
			}
			return (&embed.ServerTokenizer{BaseURL: u, APIKey: srv.apiKey, Client: srv.client}).Tokenize(ctx, text)
		}
	}
	ok = true
	return s, nil
}

// resolveLayers turns attention::layers into ascending, unique indexes below computed; a negative
// index counts from the end (-1 is the last computed layer).
func resolveLayers(want []int, computed int) ([]int, error) {
	var out []int
	for _, l := range want {
		r := l
		if r < 0 {
			r += computed
		}
		if r < 0 || r >= computed {
			return nil, fmt.Errorf("%w: layer %d is outside the %d computed layers (0..%d, or -%d..-1 from the end; attention::max_layers bounds them)",
				errAttentionLayers, l, computed, computed-1, computed)
		}
		out = append(out, r)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// start runs the worker.
func (s *attentionSampler) start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.queue = make(chan attentionJob, s.cfg.QueueSize)
	s.done = make(chan struct{})
	go s.work(ctx)
	s.logger.Info("attention: sampling prompts",
		zap.String("model", s.modelName), zap.Int("sample_every", s.cfg.SampleEvery), zap.Duration("interval", s.cfg.Interval),
		zap.Ints("layers", s.layers), zap.Int("computed_layers", s.computed), zap.Int("max_tokens", s.cfg.MaxTokens),
		zap.Bool("token_labels", s.pieces != nil))
}

// shutdown stops the worker (a sample being computed is cancelled) and closes the model.
func (s *attentionSampler) shutdown() {
	if s.cancel != nil {
		s.cancel()
		<-s.done
	}
	_ = s.file.Close()
}

// hasInput reports whether a span carries captured input, the prompts that can be sampled.
func hasInput(attrs pcommon.Map) bool {
	if _, ok := attrs.Get(conventions.AttrGenAIInputMessages); ok {
		return true
	}
	_, ok := attrs.Get("gen_ai.prompt")
	return ok
}

// offer samples the span's prompt: one in sample_every, at most one per interval. It is on the
// hot path: a counter and a clock comparison for most spans, and for a sampled one the prompt's
// text and a non-blocking send.
func (s *attentionSampler) offer(span ptrace.Span, res pcommon.Resource, now time.Time) {
	attrs := span.Attributes()
	if !hasInput(attrs) {
		return
	}
	s.mu.Lock()
	n := s.count
	s.count++
	take := n%uint64(s.cfg.SampleEvery) == 0 && (s.last.IsZero() || now.Sub(s.last) >= s.cfg.Interval)
	if take {
		s.last = now
	}
	s.mu.Unlock()
	if !take {
		return
	}
	text := utf8cut.Prefix(inputText(attrs, s.maxText), s.maxText)
	if text == "" {
		return
	}
	job := attentionJob{
		text: text, traceID: span.TraceID(), parentID: span.SpanID(), start: span.StartTimestamp(),
		resource: pcommon.NewResource(),
	}
	if v, ok := attrs.Get(conventions.AttrGenAIRequestModel); ok {
		job.reqModel = v.AsString()
	}
	res.CopyTo(job.resource)
	select {
	case s.queue <- job:
	default:
		s.tb.GenaienrichAttentionDropped.Add(context.Background(), 1)
	}
}

func (s *attentionSampler) work(ctx context.Context) {
	defer close(s.done)
	for {
		select {
		case <-ctx.Done():
			return
		case job := <-s.queue:
			if err := s.sample(ctx, job); err != nil {
				if ctx.Err() != nil {
					return
				}
				s.tb.GenaienrichAttentionFailures.Add(context.Background(), 1)
				s.logger.Debug("attention: no sample for this prompt", zap.Error(err))
			}
		}
	}
}

// sample computes one prompt's attention and sends its span on. A panic of the forward pass
// (a bug, or a model file changed under the collector) costs the sample, not the collector.
func (s *attentionSampler) sample(ctx context.Context, job attentionJob) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.logger.Error("attention: the forward pass failed; this sample is lost", zap.Any("panic", r), zap.Stack("stack"))
			err = fmt.Errorf("forward pass panicked: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	toks, err := s.tokenize(ctx, job.text)
	if err != nil {
		return fmt.Errorf("tokenizing: %w", err)
	}
	if s.bos >= 0 {
		toks = append([]int32{s.bos}, toks...)
	}
	toks = toks[:min(len(toks), s.cfg.MaxTokens)]
	if len(toks) == 0 {
		return errors.New("the prompt has no tokens")
	}
	began := time.Now()
	res, err := s.model.Run(ctx, toks, forward.Options{Layers: s.computed, Attention: s.layers})
	if err != nil {
		return fmt.Errorf("forward pass: %w", err)
	}
	td := s.span(job, toks, res, began, time.Now())
	if err := s.next.ConsumeTraces(ctx, td); err != nil {
		return fmt.Errorf("sending the attention span: %w", err)
	}
	s.tb.GenaienrichAttentionSamples.Add(context.Background(), 1)
	return nil
}

// span builds the llt.attention span of a sample (see pkg/conventions for its attributes).
func (s *attentionSampler) span(job attentionJob, toks []int32, res *forward.Result, began, ended time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	job.resource.MoveTo(rs.Resource())
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(scopeName)
	sp := ss.Spans().AppendEmpty()
	sp.SetName(conventions.SpanAttention)
	sp.SetKind(ptrace.SpanKindInternal)
	sp.SetTraceID(job.traceID)
	sp.SetParentSpanID(job.parentID)
	sp.SetSpanID(newSpanID())
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(began))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(ended))
	a := sp.Attributes()
	a.PutStr(conventions.AttrLLTAttentionModel, s.modelName)
	if job.reqModel != "" {
		a.PutStr(conventions.AttrGenAIRequestModel, job.reqModel)
	}
	a.PutInt(conventions.AttrLLTAttentionRequestStart, int64(job.start))
	ls := a.PutEmptySlice(conventions.AttrLLTAttentionLayers)
	heads := 0
	for _, at := range res.Attention {
		ls.AppendEmpty().SetInt(int64(at.Layer))
		heads = at.Heads
	}
	a.PutInt(conventions.AttrLLTAttentionLayerCount, int64(s.model.Info().Layers))
	a.PutInt(conventions.AttrLLTAttentionHeads, int64(heads))
	a.PutInt(conventions.AttrLLTAttentionTokens, int64(len(toks)))
	if s.pieces != nil {
		lab := a.PutEmptySlice(conventions.AttrLLTAttentionTokenLabels)
		lab.EnsureCapacity(len(toks))
		for _, t := range toks {
			if int(t) < len(s.pieces) {
				lab.AppendEmpty().SetStr(s.pieces[t])
			} else {
				lab.AppendEmpty().SetStr(fmt.Sprintf("<%d>", t))
			}
		}
	}
	a.PutEmptyBytes(conventions.AttrLLTAttentionProbs).FromRaw(packAttention(res.Attention))
	return td
}

// packAttention encodes the matrices as conventions.AttrLLTAttentionProbs says: half floats,
// little-endian, per layer, per head, per query q the keys 0..q.
func packAttention(ats []forward.Attention) []byte {
	size := 0
	for _, at := range ats {
		size += at.Heads * at.Tokens * (at.Tokens + 1) / 2
	}
	out := make([]byte, 0, 2*size)
	for _, at := range ats {
		n := at.Tokens
		for h := range at.Heads {
			for q := range n {
				row := at.Probs[(h*n+q)*n:]
				for k := 0; k <= q; k++ {
					out = binary.LittleEndian.AppendUint16(out, gguf.Float32ToFloat16(row[k]))
				}
			}
		}
	}
	return out
}

func newSpanID() pcommon.SpanID {
	var id pcommon.SpanID
	_, _ = rand.Read(id[:])
	return id
}
