// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package serverflags

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"empty", nil},
		{"realistic", []string{
			"--temp", "0.7", "--top-k", "40", "-b", "512", "--cont-batching",
			"--load-mode", "mlock", "--cache-type-k", "q8_0", "--log-verbosity", "4",
		}},
		{"negative numbers", []string{"--seed", "-1", "-n", "-1", "--keep", "-1", "--reasoning-budget", "-1", "--prio", "-1"}},
		{"signed and exponent floats", []string{"--top-p", ".95", "--min-p", "5e-2", "--presence-penalty", "-0.5", "--yarn-ext-factor", "+1.0"}},
		{"negated switches", []string{"--no-warmup", "--no-cont-batching", "-nkvo", "--no-context-shift", "--no-webui"}},
		{"int with words", []string{"--spec-draft-ngl", "all", "--sleep-idle-seconds", "-1"}},
		{"sleep seconds", []string{"--sleep-idle-seconds", "300"}},
		{"fit", []string{"--fit", "off", "-fitt", "512,1024", "-fitc", "8192"}},
		{"reasoning", []string{"-rea", "off", "--reasoning-format", "deepseek-legacy", "--reasoning-effort", "high", "--jinja"}},
		{"two values", []string{"--control-vector-layer-range", "10", "20"}},
		{"repeatable flags", []string{"-r", "User:", "--reverse-prompt", "###", "--dry-sequence-breaker", "none", "--dry-sequence-breaker", ":", "--spec-type", "ngram-mod", "--spec-type", "ngram-simple,ngram-map-k"}},
		{"logit bias", []string{"-l", "15043+1", "--logit-bias", "2-inf", "-l", "7-0.5"}},
		{"json", []string{"--chat-template-kwargs", `{"enable_thinking": false}`, "-j", `{"type": "object"}`, "--ui-config", `{}`}},
		{"overrides", []string{"-ot", `blk\.[0-9]+\.ffn_.*=CPU,output=CUDA0`, "--override-kv", "tokenizer.ggml.add_bos_token=bool:false,x.y=int:-3,a=str:hello world,b=float:0.5"}},
		{"paths", []string{"--lora", "a.gguf,/b/c.gguf", "--lora-scaled", "a.gguf:0.5,b.gguf:1", "--grammar-file", "g.gbnf", "--slot-save-path", "/var/lib/slots", "--spec-draft-model", "./-odd.gguf"}},
		{"cpu placement", []string{"-C", "0xff", "-Cr", "0-7", "--cpu-strict", "1", "--poll", "50", "--prio-batch", "2"}},
		{"rpc", []string{"--rpc", "10.0.0.2:50052,[::1]:50053,gpu-host:1"}},
		{"speculative", []string{"-md", "draft.gguf", "-ngld", "99", "--spec-draft-n-max", "16", "--spec-draft-p-min", "0.75", "-ctkd", "q8_0", "--spec-draft-sampling", "probabilistic"}},
		{"underscore spelling", []string{"--top_k", "40", "--cache_type_v", "f16"}},
		{"unicode text", []string{"--reverse-prompt", "ユーザー:", "--tags", "é,ü", "--reasoning-budget-message", "…stop thinking"}},
		{"string value starting with dash", []string{"--reverse-prompt", "---"}},
		{"fit and offline", []string{"--offline", "--spec-default", "--props", "--no-mmproj"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Validate(tt.args); err != nil {
				t.Fatalf("Validate(%q) = %v, want nil", tt.args, err)
			}
		})
	}
}

func TestValidateRefuses(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		err   error
		index int
		msg   string
	}{
		{
			name: "unknown flag", args: []string{"--temp", "0.7", "--jinja", "--foo"},
			err: ErrUnknownFlag, index: 3,
			msg: `extra_args[3]: unknown llama-server flag "--foo"`,
		},
		{
			name: "flag=value", args: []string{"--temp=0.7"},
			err: ErrUnknownFlag, index: 0,
			msg: `extra_args[0]: llama-server does not accept "--temp=0.7": give "--temp" and its value as two entries`,
		},
		{
			name: "repeated switch", args: []string{"--jinja", "--jinja", "--port", "8080"},
			err: ErrRepeatedFlag, index: 1,
			msg: `extra_args[1]: "--jinja" repeats extra_args[0] ("--jinja"): give the flag once`,
		},
		{
			name: "owned", args: []string{"--port", "8080"},
			err: ErrOwnedFlag, index: 0,
			msg: "extra_args[0]: \"--port\" is set by the launcher: use `port`",
		},
		{
			name: "owned underscore spelling", args: []string{"--temp", "1", "--ctx_size", "4096"},
			err: ErrOwnedFlag, index: 2,
			msg: "extra_args[2]: \"--ctx_size\" is set by the launcher: use `context_size`",
		},
		{
			name: "always set", args: []string{"--metrics"},
			err: ErrOwnedFlag, index: 0,
			msg: `extra_args[0]: "--metrics" is always set by the launcher: remove it`,
		},
		{
			name: "denied", args: []string{"--log-file", "/tmp/x.log"},
			err: ErrDeniedFlag, index: 0,
			msg: `extra_args[0]: "--log-file" is not allowed: the launcher reads llama-server's log from its output streams; use the collector's own logging`,
		},
		{
			name: "denied legacy spelling", args: []string{"--mlock"},
			err: ErrDeniedFlag, index: 0,
			msg: `extra_args[0]: "--mlock" is not allowed: llama-server b11669 no longer accepts it: use --load-mode mlock (or mmap+mlock)`,
		},
		{
			name: "denied removed flag", args: []string{"--draft", "8"},
			err: ErrDeniedFlag, index: 0,
			msg: `extra_args[0]: "--draft" is not allowed: llama-server removed it: use --spec-draft-n-max or --spec-ngram-mod-n-max`,
		},
		{
			name: "denied exits", args: []string{"--version"},
			err: ErrDeniedFlag, index: 0,
			msg: `extra_args[0]: "--version" is not allowed: it prints information and exits, so the server would never start`,
		},
		{
			name: "value missing at end", args: []string{"--jinja", "--temp"},
			err: ErrMissingValue, index: 1,
			msg: `extra_args[1]: "--temp" needs a value`,
		},
		{
			name: "value missing before flag", args: []string{"--temp", "--jinja"},
			err: ErrMissingValue, index: 0,
			msg: `extra_args[0]: "--temp" needs a value`,
		},
		{
			name: "bare -fa of old builds", args: []string{"--fit", "--jinja"},
			err: ErrMissingValue, index: 0,
			msg: `extra_args[0]: "--fit" needs a value`,
		},
		{
			name: "two values missing", args: []string{"--control-vector-layer-range", "1"},
			err: ErrMissingValue, index: 0,
			msg: `extra_args[0]: "--control-vector-layer-range" needs 2 values`,
		},
		{
			name: "invalid number", args: []string{"--jinja", "--top-k", "40", "--temp", "abc"},
			err: ErrInvalidValue, index: 4,
			msg: `extra_args[4]: "abc" is not a valid value for "--temp" (want a number)`,
		},
		{
			name: "hex float", args: []string{"--temp", "0x1p-2"},
			err: ErrInvalidValue, index: 1,
			msg: `extra_args[1]: "0x1p-2" is not a valid value for "--temp" (want a number)`,
		},
		{
			name: "trailing garbage", args: []string{"--top-k", "12abc"},
			err: ErrInvalidValue, index: 1,
			msg: `extra_args[1]: "12abc" is not a valid value for "--top-k" (want an integer)`,
		},
		{
			name: "out of range", args: []string{"--prio", "5"},
			err: ErrInvalidValue, index: 1,
			msg: `extra_args[1]: "5" is not a valid value for "--prio" (want an integer from -1 to 3)`,
		},
		{
			name: "int or words", args: []string{"--spec-draft-ngl", "most"},
			err: ErrInvalidValue, index: 1,
			msg: `extra_args[1]: "most" is not a valid value for "--spec-draft-ngl" (want an integer or one of: auto, all)`,
		},
		{
			name: "sleep zero", args: []string{"--sleep-idle-seconds", "0"},
			err: ErrInvalidValue, index: 1,
			msg: `extra_args[1]: "0" is not a valid value for "--sleep-idle-seconds" (want an integer of at least 1 or one of: -1)`,
		},
		{
			name: "enum", args: []string{"--cache-type-k", "Q8_0"},
			err: ErrInvalidValue, index: 1,
			msg: `extra_args[1]: "Q8_0" is not a valid value for "--cache-type-k" (want one of: f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0, q5_1)`,
		},
		{
			name: "enum list", args: []string{"--spec-type", "ngram-mod,bogus"},
			err: ErrInvalidValue, index: 1,
			msg: `extra_args[1]: "ngram-mod,bogus" is not a valid value for "--spec-type" (want a comma-separated list of: ` + strings.Join(specTypes, ", ") + `)`,
		},
		{
			name: "empty path", args: []string{"--grammar-file", ""},
			err: ErrInvalidValue, index: 1,
			msg: `extra_args[1]: "" is not a valid value for "--grammar-file" (want a path that does not start with "-")`,
		},
		{
			name: "empty string", args: []string{"--chat-template", ""},
			err: ErrInvalidValue, index: 1,
			msg: `extra_args[1]: "" is not a valid value for "--chat-template" (want non-empty text)`,
		},
		{
			name: "json object", args: []string{"--chat-template-kwargs", `["x"]`},
			err: ErrInvalidValue, index: 1,
			msg: `extra_args[1]: "[\"x\"]" is not a valid value for "--chat-template-kwargs" (want a JSON object)`,
		},
		{
			name: "not a flag", args: []string{"--jinja", "x"},
			err: ErrNotAFlag, index: 1,
			msg: `extra_args[1]: "x" is not a flag (values follow their flag)`,
		},
		{
			name: "stray negative number", args: []string{"--jinja", "-1"},
			err: ErrNotAFlag, index: 1,
			msg: `extra_args[1]: "-1" is not a flag (values follow their flag)`,
		},
		{
			name: "repeated through another spelling", args: []string{"--temp", "0.7", "--temperature", "0.8"},
			err: ErrRepeatedFlag, index: 2,
			msg: `extra_args[2]: "--temperature" repeats extra_args[0] ("--temp"): give the flag once`,
		},
		{
			name: "repeated through negation", args: []string{"--warmup", "--no-warmup"},
			err: ErrRepeatedFlag, index: 1,
			msg: `extra_args[1]: "--no-warmup" repeats extra_args[0] ("--warmup"): give the flag once`,
		},
		{
			name: "newline in flag", args: []string{"--jinja\n"},
			err: ErrBadCharacters, index: 0,
			msg: `extra_args[0]: "--jinja\n" contains a NUL or line-break character: remove it`,
		},
		{
			name: "newline in value", args: []string{"--chat-template", "{{ x }}\n"},
			err: ErrBadCharacters, index: 1,
			msg: `extra_args[1]: the value of "--chat-template" contains a NUL or line-break character: remove it`,
		},
		{
			name: "unknown near a known name", args: []string{"--api-prefix-x", "a"},
			err: ErrUnknownFlag, index: 0,
			msg: `extra_args[0]: unknown llama-server flag "--api-prefix-x"`,
		},
		{
			name: "NUL", args: []string{"--temp", "0.7\x00"},
			err: ErrBadCharacters, index: 1,
			msg: `extra_args[1]: the value of "--temp" contains a NUL or line-break character: remove it`,
		},
		{
			name: "long value is shortened", args: []string{"--temp", strings.Repeat("9", 100) + "x"},
			err: ErrInvalidValue, index: 1,
			msg: `extra_args[1]: "` + strings.Repeat("9", 80) + `"... is not a valid value for "--temp" (want a number)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.args)
			if err == nil {
				t.Fatalf("Validate(%q) = nil, want %v", tt.args, tt.err)
			}
			if got := err.Error(); got != tt.msg {
				t.Errorf("message:\n got %s\nwant %s", got, tt.msg)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.err)
			}
			var ae *ArgError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T is not an *ArgError", err)
			}
			if ae.Index != tt.index || ae.Arg != tt.args[tt.index] {
				t.Errorf("Index, Arg = %d, %q; want %d, %q", ae.Index, ae.Arg, tt.index, tt.args[tt.index])
			}
		})
	}
}

// ownedSpellings lists every spelling of every flag the launcher sets, with
// the config key the error must name.
var ownedSpellings = map[string]string{
	"--host":              "host",
	"--port":              "port",
	"-m":                  "model",
	"--model":             "model",
	"-mu":                 "model",
	"--model-url":         "model",
	"-hf":                 "model",
	"-hfr":                "model",
	"--hf-repo":           "model",
	"-hff":                "model",
	"--hf-file":           "model",
	"-dr":                 "model",
	"--docker-repo":       "model",
	"--api-key":           "api_key",
	"--api-key-file":      "api_key",
	"-c":                  "context_size",
	"--ctx-size":          "context_size",
	"-np":                 "parallel",
	"--parallel":          "parallel",
	"-t":                  "threads",
	"--threads":           "threads",
	"-ngl":                "gpu.layers",
	"--gpu-layers":        "gpu.layers",
	"--n-gpu-layers":      "gpu.layers",
	"-mg":                 "gpu.main_gpu",
	"--main-gpu":          "gpu.main_gpu",
	"-sm":                 "gpu.split_mode",
	"--split-mode":        "gpu.split_mode",
	"-ts":                 "gpu.tensor_split",
	"--tensor-split":      "gpu.tensor_split",
	"-fa":                 "gpu.flash_attn",
	"--flash-attn":        "gpu.flash_attn",
	"-dev":                "gpu.devices",
	"--device":            "gpu.devices",
	"--embedding":         "embeddings",
	"--embeddings":        "embeddings",
	"-a":                  "alias",
	"--alias":             "alias",
	"--models-dir":        "models_dir",
	"--models-max":        "models_max",
	"--metrics":           "",
	"--slots":             "",
	"--no-slots":          "",
	"--log-prefix":        "",
	"--no-log-prefix":     "",
	"--log-timestamps":    "",
	"--no-log-timestamps": "",
}

func TestOwnedFlagsRefused(t *testing.T) {
	for name, key := range ownedSpellings {
		spellings := []string{name}
		if strings.HasPrefix(name, "--") && strings.Contains(name[2:], "-") {
			spellings = append(spellings, "--"+strings.ReplaceAll(name[2:], "-", "_"))
		}
		for _, s := range spellings {
			t.Run(s, func(t *testing.T) {
				f, ok := Lookup(s)
				if !ok {
					t.Fatalf("Lookup(%q) found nothing", s)
				}
				args := []string{"--jinja", s}
				for range f.values() {
					args = append(args, "1")
				}
				err := Validate(args)
				want := "extra_args[1]: \"" + s + "\" is set by the launcher: use `" + key + "`"
				if key == "" {
					want = `extra_args[1]: "` + s + `" is always set by the launcher: remove it`
				}
				if err == nil || err.Error() != want {
					t.Fatalf("Validate(%q) = %v, want %s", args, err, want)
				}
				if !errors.Is(err, ErrOwnedFlag) {
					t.Errorf("errors.Is(err, ErrOwnedFlag) = false")
				}
			})
		}
	}
	// And the other way round: the table owns nothing else.
	for _, f := range Flags() {
		if f.OwnedBy == "" {
			continue
		}
		for _, n := range f.Names {
			if _, ok := ownedSpellings[n]; !ok {
				t.Errorf("%q is owned by %q but not listed in ownedSpellings", n, f.OwnedBy)
			}
		}
	}
}

func TestDeniedFlagsRefused(t *testing.T) {
	for _, f := range Flags() {
		if f.Denied == "" {
			continue
		}
		for _, n := range f.Names {
			args := []string{n}
			for range f.values() {
				args = append(args, "1")
			}
			err := Validate(args)
			want := `extra_args[0]: "` + n + `" is not allowed: ` + f.Denied
			if err == nil || err.Error() != want || !errors.Is(err, ErrDeniedFlag) {
				t.Errorf("Validate(%q) = %v, want %s", args, err, want)
			}
		}
	}
	for _, n := range []string{
		"--log-disable", "--log-file", "--log-colors", "--log-jsonl", "--no-log-jsonl", "--help", "--list-devices",
		"-hft", "--hf-token", "-hfd", "--spec-draft-hf", "-mmu", "--models-preset", "--no-models-autoload",
		"--tools", "--agent", "--ui-mcp-proxy", "--mcp-servers-json", "--ssl-key-file", "--ssl-cert-file",
		"--api-prefix", "--reuse-port", "--gpt-oss-20b-default", "--video-ffmpeg-dir",
	} {
		if f, ok := Lookup(n); !ok || f.Denied == "" {
			t.Errorf("%q should be denied", n)
		}
	}
}

func TestOddInputDoesNotPanic(t *testing.T) {
	odd := []string{
		"", "-", "--", "---", "-=", "--=", "=", "--temp=", "=0.7", " ", " --temp", "--temp ",
		"é", "-é", "--é", "日本語", "--日本語", "\x00", "\n", "\r", "\xff\xfe", "-\xff", "--\xff",
		"-1", "--1", "-1e5", "-.5", "-inf", "-nan", "+", "0x10", "--temp", "-fa", "--control-vector-layer-range",
		strings.Repeat("-", 1000), strings.Repeat("x", 10000),
	}
	for _, a := range odd {
		for _, args := range [][]string{{a}, {a, a}, {"--temp", a}, {a, "--temp"}, {"--jinja", a, "0"}, {"-cvlr", a}} {
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("Validate(%q) panicked: %v", args, r)
					}
				}()
				err := Validate(args)
				if err != nil && !strings.HasPrefix(err.Error(), "extra_args[") {
					t.Errorf("Validate(%q) = %q: no index", args, err)
				}
			}()
		}
		if _, ok := Lookup(a); ok && !strings.HasPrefix(a, "-") {
			t.Errorf("Lookup(%q) found a flag", a)
		}
	}
	for _, args := range [][]string{{""}, {"-"}, {"é"}} {
		if err := Validate(args); !errors.Is(err, ErrNotAFlag) {
			t.Errorf("Validate(%q) = %v, want ErrNotAFlag", args, err)
		}
	}
	for _, args := range [][]string{{"--"}, {"---"}, {"--é"}} {
		if err := Validate(args); !errors.Is(err, ErrUnknownFlag) {
			t.Errorf("Validate(%q) = %v, want ErrUnknownFlag", args, err)
		}
	}
}

func TestLookup(t *testing.T) {
	f, ok := Lookup("--ctx_size")
	if !ok || f.Names[0] != "-c" || f.OwnedBy != "context_size" {
		t.Fatalf("Lookup(--ctx_size) = %+v, %v", f, ok)
	}
	if _, ok := Lookup("-c_x"); ok {
		t.Error("Lookup(-c_x) found a flag; only names starting with -- read _ as -")
	}
	if _, ok := Lookup("--temp=0.7"); ok {
		t.Error("Lookup(--temp=0.7) found a flag")
	}
	f, _ = Lookup("-ctk")
	f.Names[0] = "changed"
	f.Enum[0] = "changed"
	if g, _ := Lookup("-ctk"); g.Names[0] != "-ctk" || g.Enum[0] != "f32" {
		t.Errorf("Lookup returned the table's own slices: %+v", g)
	}
	f, _ = Lookup("--prio")
	f.Range.Max = 99
	if g, _ := Lookup("--prio"); g.Range.Max != 3 {
		t.Errorf("Lookup returned the table's own range")
	}
}

func TestValueChecks(t *testing.T) {
	tests := []struct {
		flag string
		good []string
		bad  []string
	}{
		{"--temp", []string{"0", "0.7", "-1", "1e3", "+2.5", ".5", "5."}, []string{"", "abc", "0x10", "inf", "nan", "1e39", "1,5", " 1", "1e", "."}},
		{"--top-k", []string{"0", "40", "-1", "+3", "2147483647"}, []string{"", "4.0", "2147483648", "1e3", "0x10", "forty"}},
		{"--poll", []string{"0", "100"}, []string{"-1", "101", "+5"}},
		{"--seed", []string{"-1", "0", "4294967295"}, []string{"-2", "4294967296"}},
		{"-fitt", []string{"0", "512,1024"}, []string{"", "-1", "1,", ",1", "1;2", "1.5"}},
		{"--spec-synth-rates", []string{"0.9", "0.9,0.5,0"}, []string{"", "a", "0.9,"}},
		{"-C", []string{"ff", "0xFF", "0X0f1"}, []string{"", "0x", "fg", "-1"}},
		{"-Cr", []string{"0-7", "3-3", "0-511"}, []string{"", "-7", "7-", "7-3", "0-512", "a-b", "1-2-3"}},
		{"-j", []string{`{}`, `true`, `{"type":"object"}`}, []string{"", "{", "{'a':1}"}},
		{"-l", []string{"15043+1", "1-1.5", "2-inf", "0+0"}, []string{"", "15043", "+1", "-1+1", "a+1", "1+", "1+-1", "1*1"}},
		{"--override-kv", []string{"k=int:1", "k=float:0.5,j=bool:true", "k=str:"}, []string{"", "k", "k=1", "=int:1", "k=int:x", "k=bool:yes", "k=char:c", "k=int:1,"}},
		{"-ot", []string{"exps=CPU", `blk\.(0|1)\.=CUDA0,x=CPU`}, []string{"", "exps", "=CPU", "exps=", "a=b=c"}},
		{"--lora-scaled", []string{"a.gguf:1", "a:0.5,b:2"}, []string{"", "a.gguf", "a:b", "a:1:2", ":1", "-a:1"}},
		{"--rpc", []string{"h:1", "10.0.0.1:50052", "[::1]:65535"}, []string{"", "h", ":1", "h:0", "h:65536", "h:x", "h:1,"}},
		{"--lora", []string{"a", "a,b", "/x/y.gguf"}, []string{"", "-a", "a,,b", "a,-b"}},
		{"--tags", []string{"a", "a,b c"}, []string{"", "a,", ",a"}},
		{"--pooling", []string{"none", "rank"}, []string{"", "None", "max"}},
		{"-ngld", []string{"auto", "all", "0", "99"}, []string{"", "none", "1.5"}},
		{"--repeat-penalty", []string{"1", "1.1", "0.5"}, []string{"0", "-1", "0.0", "1e-50", "x"}},
		{"--n-cpu-moe", []string{"0", "30", "4096"}, []string{"-1", "4097", "2147483647"}},
	}
	for _, tt := range tests {
		f, ok := Lookup(tt.flag)
		if !ok {
			t.Fatalf("Lookup(%q) found nothing", tt.flag)
		}
		for _, v := range tt.good {
			if want := checkValue(&f, v); want != "" {
				t.Errorf("%s %q refused (want %s)", tt.flag, v, want)
			}
		}
		for _, v := range tt.bad {
			if checkValue(&f, v) == "" {
				t.Errorf("%s %q accepted", tt.flag, v)
			}
		}
	}
}
