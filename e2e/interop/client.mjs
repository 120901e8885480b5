#!/usr/bin/env node
// Interop client: runs one GenAI instrumentation SDK (OpenInference, OpenLLMetry or OpenLIT) around the
// official `openai` client, makes N pairs of chat completions (one plain, one streamed) against an
// OpenAI-compatible endpoint, flushes and shuts the SDK's providers down, and prints ONE JSON line on
// stdout. Everything else goes to stderr. Exit status 1 on any error, 2 on a usage error.
//
//   node client.mjs --sdk openinference|openllmetry|openlit --propagate true|false \
//     --base-url http://127.0.0.1:8081/v1 --otlp http://127.0.0.1:4318 --model demo --calls 1
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

// stdout carries the result line only: whatever a library prints (console.log included) goes to stderr.
const stdoutWrite = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr);

const log = (...args) => console.error('interop-client:', ...args);

const USAGE = `usage: node client.mjs --sdk openinference|openllmetry|openlit --propagate true|false
         --base-url URL (OpenAI-compatible, ending in /v1) --otlp URL (OTLP/HTTP base, no /v1/traces)
         [--model NAME (default demo)] [--calls N (default 1)] [--service-name NAME (default interop-<sdk>)]`;

function usage(msg) {
  console.error(`interop-client: ${msg}\n${USAGE}`);
  process.exit(2);
}

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        sdk: { type: 'string' },
        propagate: { type: 'string', default: 'false' },
        'base-url': { type: 'string' },
        otlp: { type: 'string' },
        model: { type: 'string', default: 'demo' },
        calls: { type: 'string', default: '1' },
        'service-name': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    usage(e.message);
  }
  if (values.help) {
    console.error(USAGE);
    process.exit(0);
  }
  const sdks = ['openinference', 'openllmetry', 'openlit'];
  if (!sdks.includes(values.sdk)) usage(`--sdk must be one of ${sdks.join(', ')}`);
  if (!['true', 'false'].includes(values.propagate)) usage('--propagate must be true or false');
  for (const k of ['base-url', 'otlp']) {
    if (!values[k]) usage(`--${k} is required`);
    try {
      new URL(values[k]);
    } catch {
      usage(`--${k} is not a URL: ${values[k]}`);
    }
  }
  const calls = Number(values.calls);
  if (!Number.isInteger(calls) || calls < 1) usage('--calls must be a positive integer');
  return {
    sdk: values.sdk,
    propagate: values.propagate === 'true',
    baseURL: values['base-url'],
    otlp: values.otlp.replace(/\/+$/, ''),
    model: values.model,
    calls,
    serviceName: values['service-name'] || `interop-${values.sdk}`,
  };
}

const opts = parseOptions();
const require = createRequire(import.meta.url);
const api = await import('@opentelemetry/api');

// Collect OpenTelemetry's own errors (failed exports included): any of them fails the run.
const diagErrors = [];
const diagLogger = {
  error: (msg, ...args) => {
    diagErrors.push(String(msg));
    console.error('otel error:', msg, ...args);
  },
  warn: (msg, ...args) => console.error('otel warn:', msg, ...args),
  info: () => {},
  debug: () => {},
  verbose: () => {},
};
const installDiag = () =>
  api.diag.setLogger(diagLogger, { logLevel: api.DiagLogLevel.WARN, suppressOverrideMessage: true });
installDiag();

// The ESM build of openai: require hooks never see it, so each SDK patches this class explicitly.
const { default: OpenAI } = await import('openai');

// propagationInstrumentations: what --propagate true adds, so that the openai client's fetch
// (undici, Node's built-in fetch) and any node:http request carry `traceparent`.
async function propagationInstrumentations() {
  const { UndiciInstrumentation } = await import('@opentelemetry/instrumentation-undici');
  const { HttpInstrumentation } = await import('@opentelemetry/instrumentation-http');
  return [new UndiciInstrumentation(), new HttpInstrumentation()];
}

// setup* return the function that flushes and shuts down everything the SDK started.
async function setupOpenInference() {
  const { NodeTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-node');
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  const { registerInstrumentations } = await import('@opentelemetry/instrumentation');
  const { OpenAIInstrumentation } = await import('@arizeai/openinference-instrumentation-openai');

  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${opts.otlp}/v1/traces` }))],
  });
  provider.register();
  const instrumentation = new OpenAIInstrumentation();
  registerInstrumentations({
    instrumentations: [instrumentation, ...(opts.propagate ? await propagationInstrumentations() : [])],
  });
  instrumentation.manuallyInstrument(OpenAI);
  return async () => {
    await provider.forceFlush();
    await provider.shutdown();
  };
}

async function setupOpenLLMetry() {
  const traceloop = await import('@traceloop/node-server-sdk');
  traceloop.initialize({
    baseUrl: opts.otlp, // spans go to <baseUrl>/v1/traces (OTLP/HTTP protobuf)
    headers: {}, // no Authorization header: the collector needs no Traceloop API key
    appName: opts.serviceName,
    traceloopSyncEnabled: false,
    silenceInitializationMessage: true,
    instrumentModules: { openAI: OpenAI },
  });
  if (opts.propagate) {
    const { registerInstrumentations } = await import('@opentelemetry/instrumentation');
    registerInstrumentations({ instrumentations: await propagationInstrumentations() });
  }
  return async () => {
    await traceloop.forceFlush();
    await sdkTracerProvider()?.shutdown();
  };
}

async function setupOpenLIT() {
  // openlit is CommonJS: under ESM its `default` is module.exports, so take the named class.
  const { Openlit } = await import('openlit');
  api.diag.disable(); // openlit.init installs its own diag logger; ours comes back right after
  Openlit.init({
    otlpEndpoint: opts.otlp, // traces, logs and metrics go to <otlpEndpoint>/v1/{traces,logs,metrics}
    applicationName: opts.serviceName,
    environment: 'interop',
    instrumentations: { openai: OpenAI },
    // OpenLIT registers instrumentation-http and -undici by itself whenever they are installed: leave
    // them out unless asked, as an application without them would have.
    disabledInstrumentors: opts.propagate ? [] : ['http', 'undici'],
    pricingJson: {}, // no download of the price list
  });
  installDiag();
  // OpenLIT exposes no shutdown: its providers are the global ones.
  const apiLogs = createRequire(require.resolve('openlit'))('@opentelemetry/api-logs');
  return async () => {
    const tp = sdkTracerProvider();
    const lp = apiLogs.logs.getLoggerProvider();
    const mp = api.metrics.getMeterProvider();
    for (const [name, p] of [['tracer', tp], ['logger', lp], ['meter', mp]]) {
      if (typeof p?.shutdown !== 'function') throw new Error(`OpenLIT registered no SDK ${name} provider`);
    }
    await tp.forceFlush();
    await lp.forceFlush();
    // The meter provider's shutdown collects and exports once more: no forceFlush, or metrics go twice.
    await Promise.all([tp.shutdown(), lp.shutdown(), mp.shutdown()]);
  };
}

// sdkTracerProvider: the SDK tracer provider behind the global proxy, if one was registered.
function sdkTracerProvider() {
  const p = api.trace.getTracerProvider();
  const d = typeof p.getDelegate === 'function' ? p.getDelegate() : p;
  return typeof d.shutdown === 'function' ? d : undefined;
}

// Instrumentations wrap methods with shimmer, which marks the wrapper with __wrapped.
function assertPatched() {
  const create = OpenAI.Chat?.Completions?.prototype?.create;
  if (!create || create.__wrapped !== true) {
    throw new Error(`${opts.sdk} did not patch openai's Chat.Completions.prototype.create`);
  }
}

const nowUnixNano = () => (BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n).toString();

async function run() {
  const setup = { openinference: setupOpenInference, openllmetry: setupOpenLLMetry, openlit: setupOpenLIT }[opts.sdk];
  const shutdown = await setup();
  const calls = [];
  const traceIds = [];
  let failure;
  try {
    assertPatched();
    // The SDK runs the request inside its span's context: read that span where the request leaves.
    let activeTraceId;
    const client = new OpenAI({
      baseURL: opts.baseURL,
      apiKey: 'none',
      maxRetries: 0,
      fetch: (url, init) => {
        const sc = api.trace.getActiveSpan()?.spanContext();
        activeTraceId = sc && api.isSpanContextValid(sc) ? sc.traceId : undefined;
        return globalThis.fetch(url, init);
      },
    });
    const base = { model: opts.model, max_tokens: 8, temperature: 0 };
    for (let i = 0; i < opts.calls; i++) {
      for (const stream of [false, true]) {
        const messages = [{ role: 'user', content: `Say hello ${opts.sdk} ${stream ? "stream" : "plain"} ${i}` }];
        activeTraceId = undefined;
        const start = nowUnixNano();
        let rec;
        if (!stream) {
          const r = await client.chat.completions.create({ ...base, messages });
          rec = { id: r.id, model: r.model, usage: r.usage, content: r.choices?.[0]?.message?.content ?? '' };
        } else {
          const s = await client.chat.completions.create({
            ...base,
            messages,
            stream: true,
            stream_options: { include_usage: true },
          });
          rec = { content: '' };
          for await (const chunk of s) {
            rec.id ??= chunk.id;
            rec.model ??= chunk.model;
            if (chunk.usage) rec.usage = chunk.usage;
            rec.content += chunk.choices?.[0]?.delta?.content ?? '';
          }
        }
        const end = nowUnixNano();
        if (!rec.id) throw new Error(`call ${calls.length}: the response has no id`);
        if (!rec.usage) throw new Error(`call ${calls.length}: the response has no usage`);
        calls.push({
          stream,
          response_id: rec.id,
          model: rec.model,
          usage: { prompt_tokens: rec.usage.prompt_tokens, completion_tokens: rec.usage.completion_tokens },
          prompt: messages[0].content,
          content: rec.content,
          start_unix_nano: start,
          end_unix_nano: end,
        });
        traceIds.push(activeTraceId);
        log(`call ${calls.length} stream=${stream} id=${rec.id} trace=${activeTraceId ?? '-'}`);
      }
    }
  } catch (e) {
    failure = e;
  }
  // A streamed call's span ends when the SDK's own copy of the stream is drained, possibly a little
  // after the caller's loop: give it a moment before the final flush.
  await new Promise((resolve) => setTimeout(resolve, 200));
  try {
    await shutdown();
  } catch (e) {
    failure ??= new Error(`flushing the SDK failed: ${e?.message ?? e}`);
  }
  if (failure) throw failure;
  if (diagErrors.length) throw new Error(`OpenTelemetry reported ${diagErrors.length} error(s): ${diagErrors[0]}`);
  const result = { sdk: opts.sdk, propagate: opts.propagate, calls };
  if (traceIds.every(Boolean)) result.trace_ids = traceIds;
  else log('no active span during some requests: trace_ids left out');
  return result;
}

run().then(
  (result) => stdoutWrite(`${JSON.stringify(result)}\n`, () => process.exit(0)),
  (e) => {
    console.error('interop-client: error:', e); // with its cause, if any
    process.exit(1);
  },
);
