// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package serverflags knows llama-server's command-line flags and checks the
// extra_args that users add to the llamalauncher configuration.
//
// # Why an allowlist
//
// The launcher starts llama-server from typed configuration, as an argument
// list and never through a shell. Following the collector's guideline on
// executing external processes, raw arguments from configuration are not
// passed through as they are: extra_args may only hold flags that
// llama-server (build b11669, see flags_table.go) really has, each followed
// by the values it takes, each value checked. Anything else is refused when
// the configuration is validated, with a message that names the entry
// (extra_args[N]) and says what to do, instead of llama-server failing later
// with a usage dump or, worse, silently doing something else.
//
// The rules follow how llama-server itself reads its arguments
// (common/arg.cpp):
//
//   - an element is either a flag or a value right after a flag that takes
//     one; there are no positional arguments;
//   - --flag=value is not accepted by llama-server, so it is refused here
//     too: give the flag and its value as two entries;
//   - no flag has an optional value: -fa, --fit, --log-colors and
//     --reasoning ([on|off|auto] in --help) always need one;
//     --control-vector-layer-range takes two;
//   - a value may start with "-" (negative numbers such as --seed -1), but a
//     value that is itself a flag name means the real value is missing;
//   - in names that start with "--", "_" reads as "-" (--ctx_size is
//     --ctx-size), so every spelling of an owned or denied flag is caught;
//   - numbers must be plain decimal numbers in range, words must be one of
//     the documented values (e.g. --cache-type-k q8_0), paths must not be
//     empty or start with "-", JSON must parse; no element may be empty or
//     hold a NUL, carriage return or newline;
//   - a flag may be given once; llama-server would keep only the last value.
//     Flags that accumulate (--reverse-prompt, --dry-sequence-breaker,
//     --logit-bias, --spec-type) may be repeated.
//
// # Owned flags
//
// The launcher sets these flags itself from typed configuration; extra_args
// may not hold them, and the error names the config key to use instead:
//
//	--host                                    host
//	--port                                    port
//	-m, --model                               model
//	-mu, --model-url, -hf, -hfr, --hf-repo,
//	-hff, --hf-file, -dr, --docker-repo       model (the model comes from one local file)
//	--api-key, --api-key-file                 api_key
//	-c, --ctx-size                            context_size
//	-np, --parallel                           parallel
//	-t, --threads                             threads
//	-ngl, --gpu-layers, --n-gpu-layers        gpu.layers
//	-mg, --main-gpu                           gpu.main_gpu
//	-sm, --split-mode                         gpu.split_mode
//	-ts, --tensor-split                       gpu.tensor_split
//	-fa, --flash-attn                         gpu.flash_attn
//	-dev, --device                            gpu.devices
//	--embedding, --embeddings                 embeddings
//	-a, --alias                               alias
//
// --metrics, --slots/--no-slots, --log-prefix/--no-log-prefix and
// --log-timestamps/--no-log-timestamps are always set by the launcher: it
// scrapes /metrics and /slots, and its log parser needs prefixed,
// timestamped lines.
//
// # Denied flags
//
// These flags are refused for other reasons, given in each error:
//
//   - they print something and exit, so the server would never start:
//     -h/--help/--usage, --version, -cl/--cache-list, --completion-bash,
//     --list-devices;
//   - they would break the launcher's view of the server: --log-disable,
//     --log-file, --log-colors, --log-jsonl (the launcher reads and parses
//     the text log on llama-server's output), --api-prefix (moves /health,
//     /metrics and /slots), --ssl-key-file/--ssl-cert-file (TLS changes the
//     scheme the launcher uses; terminate TLS in front instead),
//     --reuse-port (another process could share the port);
//   - they fetch things from the network, where the launcher runs local
//     files only: -hft/--hf-token, -hfd/--spec-draft-hf (use
//     --spec-draft-model), -mmu/--mmproj-url (use --mmproj), and the model
//     presets --embd-gemma-default, --fim-qwen-*, --gpt-oss-*-default,
//     --vision-gemma-*-default (they also override port, context and batch
//     settings);
//   - router mode's --models-preset (a preset may set any flag for each
//     model, past these checks; `models_dir` runs router mode) and
//     --models-autoload (a request naming a model loads it);
//   - they let API clients act on the host: --tools, --tools-runtime,
//     --mcp-servers-config, --mcp-servers-json, -ag/--agent, --ui-mcp-proxy;
//   - --video-ffmpeg-dir makes llama-server run programs from a configured
//     directory (put ffmpeg on the collector's PATH instead);
//   - flags that b11669 removed (--draft, --draft-min, --spec-ngram-size-n,
//     --spec-ngram-size-m, --spec-ngram-min-hits) and spellings of older
//     builds (--mlock, --mmap/--no-mmap, -dio/--direct-io, --log-format):
//     the error names the replacement, e.g. --load-mode mlock.
//
// Everything else that llama-server b11669 lists in --help is allowed, with
// its values checked: sampling defaults (--temp, --top-k, ...), batching
// and cache settings (-b, -ub, --cache-type-k, --cache-ram, ...), CPU
// placement, --fit/-fitt/-fitc, speculative decoding with a local draft
// model, LoRA adapters and control vectors from local files, chat template
// and reasoning options, --log-verbosity, --sleep-idle-seconds, and so on.
package serverflags
