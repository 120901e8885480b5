// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamalog

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed files in testdata/fuzz/")

// FuzzParseLine parses arbitrary lines. ParseLine must never panic, must
// keep the line, and must return a record within its documented ranges; a
// line fed through Scan must give the same record.
//
// The seeds are the seed-* files in testdata/fuzz/FuzzParseLine, which
// TestFuzzCorpus keeps in step with seedLines; other files there are
// inputs the fuzzer once found failing, kept as regression cases.
func FuzzParseLine(f *testing.F) {
	f.Fuzz(func(t *testing.T, line string) {
		r := ParseLine(line)
		checkRecord(t, r)
		if want := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"); r.Line != want {
			t.Fatalf("Line = %q, want %q", r.Line, want)
		}
		if again := ParseLine(line); again != r {
			t.Fatalf("not deterministic: %+v then %+v", r, again)
		}
		if line == "" || strings.Contains(line, "\n") || len(line) > MaxLineBytes {
			return
		}
		var scanned []Record
		if err := Scan(strings.NewReader(line), func(r Record) { scanned = append(scanned, r) }); err != nil {
			t.Fatalf("Scan: %v", err)
		}
		if len(scanned) != 1 {
			t.Fatalf("Scan gave %d records for one line", len(scanned))
		}
		s := scanned[0]
		s.Line = r.Line
		if s != r {
			t.Fatalf("Scan and ParseLine differ:\n%+v\n%+v", s, r)
		}
	})
}

// FuzzScan reads arbitrary streams: one record per line, none longer than
// MaxLineBytes, none with colour codes or carriage returns left.
//
// The seeds are the seed-* files in testdata/fuzz/FuzzScan.
func FuzzScan(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var got []Record
		if err := Scan(bytes.NewReader(data), func(r Record) { got = append(got, r) }); err != nil {
			t.Fatalf("Scan: %v", err)
		}
		lines := bytes.Split(data, []byte("\n"))
		if len(lines[len(lines)-1]) == 0 {
			lines = lines[:len(lines)-1]
		}
		if len(got) != len(lines) {
			t.Fatalf("%d records for %d lines", len(got), len(lines))
		}
		for i, r := range got {
			checkRecord(t, r)
			if len(r.Line) > MaxLineBytes {
				t.Fatalf("record %d: line of %d bytes", i, len(r.Line))
			}
			if r.Truncated != (len(lines[i]) > MaxLineBytes) {
				t.Fatalf("record %d: Truncated = %v for a line of %d bytes", i, r.Truncated, len(lines[i]))
			}
			if strings.ContainsAny(r.Line, "\x1b\r") {
				t.Fatalf("record %d: control bytes left in %q", i, r.Line)
			}
		}
	})
}

// checkRecord fails t when r is outside the ranges Record documents.
func checkRecord(t *testing.T, r Record) {
	t.Helper()
	if r.SlotID < -1 || r.TaskID < -1 {
		t.Fatalf("SlotID %d, TaskID %d below -1", r.SlotID, r.TaskID)
	}
	if r.Level < LevelUnspecified || r.Level > LevelError {
		t.Fatalf("Level %d outside the enum", r.Level)
	}
	if r.Elapsed < 0 || (!r.HasElapsed && r.Elapsed != 0) {
		t.Fatalf("Elapsed %v with HasElapsed %v", r.Elapsed, r.HasElapsed)
	}
	if r.Message != strings.TrimSpace(r.Message) {
		t.Fatalf("Message %q not trimmed", r.Message)
	}
	if strings.ContainsAny(r.Message, "\x1b\r") {
		t.Fatalf("control bytes left in Message %q", r.Message)
	}
	for _, c := range []byte(r.Module) {
		if !isLower(c) {
			t.Fatalf("Module %q", r.Module)
		}
	}
	if strings.ContainsAny(r.Function, " :") {
		t.Fatalf("Function %q", r.Function)
	}
	if tm, ok := r.Timing(); ok {
		if tm.Tokens < 0 || (tm.Kind != TimingPromptEval && tm.Kind != TimingEval && tm.Kind != TimingTotal) {
			t.Fatalf("Timing %+v", tm)
		}
	}
}

// seedLines is the seed corpus of FuzzParseLine: one line of each shape.
func seedLines() map[string]string {
	return map[string]string{
		"srv":             "0.00.004.176 I srv  llama_server: initializing ...",
		"srv-warn":        "0.00.014.550 W srv  llama_server: security: no API key is set and CORS allows all origins",
		"cmn":             "0.00.029.623 I cmn          init: llama threadpool init, n_threads = 2",
		"slot-no-task":    "0.04.217.070 I slot get_availabl: id  0 | task -1 | selected slot by LRU, n_tokens = 0, t_last = -1",
		"slot-timing":     "0.04.225.905 I slot print_timing: id  0 | task 1 | prompt eval time =       3.69 ms /    67 tokens (    0.06 ms per token, 18142.43 tokens per second)",
		"slot-total":      "0.04.225.945 I slot print_timing: id  0 | task 1 |       total time =       8.54 ms /    83 tokens",
		"slot-cut":        "0.04.602.196 I slot print_timing: id  0 | task 18 |        eval time =       1",
		"lambda":          `0.07.139.794 W srv    operator(): got exception: {"error":{"code":400}}`,
		"minutes":         "12.03.004.176 E srv  load_model: failed",
		"no-letter":       "0.00.001.000 srv  update_slots: all slots are idle",
		"letter-only":     "I srv    load_model: loading model '/m.gguf'",
		"plain-srv":       "srv  update_slots: all slots are idle",
		"plain-slot":      "slot launch_slot_: id  0 | task 0 | processing task",
		"main":            "main: server is listening on http://127.0.0.1:8080 - starting the main loop",
		"loader":          "llama_model_loader: loaded meta data with 21 key-value pairs and 201 tensors",
		"device":          "  Device 0: NVIDIA H200, compute capability 9.0, VMM: yes",
		"error":           "error: failed to load model '/m.gguf'",
		"exiting":         "main: exiting due to model loading error",
		"blank":           "",
		"crlf":            "srv  update_slots: all slots are idle\r\n",
		"colours":         "\x1b[34m0.00.004.176\x1b[0m \x1b[32mI \x1b[0msrv  llama_server: initializing ...",
		"jsonl":           `{"type":"log","time":4225905,"level":"info","msg":"slot print_timing: id  0 | task 1 |        eval time =       4.85 ms /    16 tokens (    0.32 ms per token,  3094.06 tokens per second)\n"}`,
		"jsonl-event":     `{"type":"fit_memory_breakdown","data":{"unit":"MiB","rows":[]}}`,
		"timing-nan":      "prompt eval time =       0.00 ms /     0 tokens (    -nan ms per token,      inf tokens per second)",
		"big-numbers":     "99999999999.59.999.999 I slot x: id 9999999999 | task -9 | y",
		"invalid-utf8":    "0.00.000.001 I srv  \xff\xfe: \xc3",
		"osc":             "\x1b]0;title\x07slot x: id 1 | task 2 |",
		"only-separators": "slot x: id  | task  |",
	}
}

// seedStreams is the seed corpus of FuzzScan.
func seedStreams() map[string][]byte {
	head, err := os.ReadFile(filepath.Join("testdata", "server-log-head.txt"))
	if err != nil {
		panic(err)
	}
	return map[string][]byte{
		"fixture-head": head,
		"crlf-colours": []byte("\x1b[34m0.00.004.176\x1b[0m \x1b[32mI \x1b[0msrv  llama_server: initializing ...\r\nmain: x\r\n\n"),
		"long-line":    append(bytes.Repeat([]byte("a"), MaxLineBytes+3), "\nb"...),
		"empty":        {},
	}
}

func corpusFile(typ string, v any) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n%s(%q)\n", typ, v)
}

// TestFuzzCorpus checks that the committed seed files match seedLines and
// seedStreams; run with -update-corpus to rewrite them.
func TestFuzzCorpus(t *testing.T) {
	want := map[string][]byte{}
	for name, line := range seedLines() {
		want[filepath.Join("FuzzParseLine", "seed-"+name)] = corpusFile("string", line)
	}
	for name, data := range seedStreams() {
		want[filepath.Join("FuzzScan", "seed-"+name)] = corpusFile("[]byte", data)
	}
	for name, content := range want {
		path := filepath.Join("testdata", "fuzz", name)
		if *updateCorpus {
			require.NoError(t, os.WriteFile(path, content, 0o644))
		}
		got, err := os.ReadFile(path)
		if assert.NoError(t, err, "run go test -run TestFuzzCorpus -update-corpus") {
			assert.Equal(t, string(content), string(got), path)
		}
	}
}
