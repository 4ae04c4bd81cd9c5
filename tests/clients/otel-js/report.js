// A Node.js program instrumented with the official OpenTelemetry JavaScript metrics SDK in its
// default settings, driven by tests/server/test_otel_js_sdk.py.
//
//   node report.js <proto|json> <plan.json>
//
// Configured like any user's program: the exporter reads OTEL_EXPORTER_OTLP_ENDPOINT and
// OTEL_EXPORTER_OTLP_HEADERS (and OTEL_EXPORTER_OTLP_COMPRESSION when set), the resource is
// the SDK's default plus what the environment detector reads (OTEL_RESOURCE_ATTRIBUTES,
// OTEL_SERVICE_NAME) and the host, OS, process and service-instance detectors (all that
// @opentelemetry/sdk-node uses by default). Temporality and histogram buckets are the SDK's
// defaults (cumulative, explicit bounds); one histogram is exponential through a View, as
// the SDK documents.
//
// The plan lists rounds of measurements; each round is recorded, left to the periodic reader
// for a few short export intervals (cumulative totals exported again and again), then flushed.
// Shutdown exports once more. Prints one JSON line: the resource, the exports made and every
// failed one.
'use strict';

const fs = require('node:fs');
const { diag, DiagConsoleLogger, DiagLogLevel } = require('@opentelemetry/api');
const {
  defaultResource,
  detectResources,
  envDetector,
  hostDetector,
  osDetector,
  processDetector,
  serviceInstanceIdDetector,
} = require('@opentelemetry/resources');
const {
  AggregationType,
  MeterProvider,
  PeriodicExportingMetricReader,
} = require('@opentelemetry/sdk-metrics');

const EXPORTERS = {
  proto: '@opentelemetry/exporter-metrics-otlp-proto',
  json: '@opentelemetry/exporter-metrics-otlp-http',
};

function usage(message) {
  process.stderr.write(`report.js: ${message}\nusage: node report.js <proto|json> <plan.json>\n`);
  process.exit(2);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const [protocol, planPath] = process.argv.slice(2);
  if (!(protocol in EXPORTERS)) usage(`protocol must be proto or json, got ${protocol}`);
  if (!planPath) usage('missing the plan file');
  const plan = JSON.parse(fs.readFileSync(planPath, 'utf8'));
  // Warnings of the SDK (partial success, failed exports) go to stderr for the test to read.
  diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);

  const { OTLPMetricExporter } = require(EXPORTERS[protocol]);
  const exporter = new OTLPMetricExporter();
  const exports = { ok: 0, failed: [] };
  const send = exporter.export.bind(exporter);
  exporter.export = (metrics, done) =>
    send(metrics, (result) => {
      if (result.code === 0) exports.ok += 1;
      else exports.failed.push(String(result.error && result.error.message));
      done(result);
    });

  const resource = defaultResource().merge(
    // @opentelemetry/sdk-node's default detectors (OTEL_NODE_RESOURCE_DETECTORS=all), in its
    // order: the environment's attributes win, and service.instance.id is a random UUID
    // drawn at every start of the process.
    detectResources({
      detectors: [hostDetector, osDetector, serviceInstanceIdDetector, processDetector, envDetector],
    }),
  );
  if (resource.waitForAsyncAttributes) await resource.waitForAsyncAttributes();
  const reader = new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: plan.export_interval_ms,
    exportTimeoutMillis: plan.export_interval_ms,
  });
  const provider = new MeterProvider({
    resource,
    readers: [reader],
    views: [
      {
        instrumentName: plan.names.score,
        aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM },
      },
    ],
  });

  const meter = provider.getMeter('edgewatch-js-interop');
  const inferences = meter.createCounter(plan.names.count);
  const queue = meter.createUpDownCounter(plan.names.queue);
  const latency = meter.createHistogram(plan.names.latency, { unit: 's' });
  const score = meter.createHistogram(plan.names.score);
  const memory = meter.createObservableGauge(plan.names.memory, { unit: 'By' });
  let memoryBytes = null;
  memory.addCallback((result) => {
    if (memoryBytes !== null) result.observe(memoryBytes);
  });

  for (const round of plan.rounds) {
    for (const [seconds, outcome, value] of round.events) {
      inferences.add(1, { [plan.names.outcome]: outcome });
      latency.record(seconds);
      score.record(value);
    }
    queue.add(round.queue);
    memoryBytes = round.memory_bytes;
    await sleep(plan.round_pause_ms); // the periodic reader exports the same totals meanwhile
    await provider.forceFlush();
  }
  await provider.shutdown();
  process.stdout.write(`${JSON.stringify({ resource: resource.attributes, exports })}\n`);
}

main().catch((error) => {
  process.stderr.write(`report.js: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
