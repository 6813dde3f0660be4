#!/usr/bin/env node
// Emit one known two-service trace with zipkin-js (zipkin + zipkin-transport-http 0.22.0) as
// Zipkin v2 JSON over HTTP, then describe it.
//
// Installed by tests/clients/venvs.py (`npm ci` into a cached folder); run with that folder's
// node_modules on NODE_PATH. Usage:
//
//     node send.js --endpoint http://127.0.0.1:9411/api/v2/spans --service-a e2e-a --service-b e2e-b
//
// The trace, all three spans in one POST (one HttpLogger shared by both tracers' recorders):
// - "get /checkout" in service A (SERVER, root): tags http.path=/checkout, http.status_code=200
// - "get /inventory" in A (CLIENT, child of root): annotation "cache miss", tag error="timeout"
// - "get /inventory" in B (SERVER): B joins A's client context the B3 way, so it reports the
//   *same* span id as A's client span, with `shared: true`. Jaeger's ZipkinSpanIDUniquifier gives
//   it a fresh id and makes it a child of the client span.
// Timestamps are explicit microseconds, a second in the past.
//
// node-fetch is only a peer dependency of zipkin-transport-http (pinned so the lock is exact);
// Node 18+ has a global fetch, which HttpLogger prefers.
//
// On success prints one JSON line (ids as lowercase hex) and exits 0; exits 1 when the POST failed
// or was not answered 2xx.
'use strict';

const zipkin = require('zipkin');
const HttpLogger = require('zipkin-transport-http').HttpLogger;

const { Annotation, BatchRecorder, ExplicitContext, Tracer, jsonEncoder } = zipkin;

function parseArgs(argv) {
  const args = { endpoint: 'http://127.0.0.1:9411/api/v2/spans', 'service-a': 'e2e-a', 'service-b': 'e2e-b' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in args) || i + 1 >= argv.length) {
      process.stderr.write(`usage: send.js --endpoint URL --service-a NAME --service-b NAME (bad: ${argv[i]})\n`);
      process.exit(2);
    }
    args[key] = argv[i + 1];
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const posts = [];
  const fetchImplementation = (url, options) => {
    const p = fetch(url, options);
    posts.push(p);
    return p;
  };
  const errors = [];
  const log = {
    info: (msg) => process.stderr.write(`zipkin info: ${msg}\n`),
    error: (msg) => {
      errors.push(String(msg));
      process.stderr.write(`zipkin error: ${msg}\n`);
    },
  };
  // A long interval: nothing leaves before processQueue below, so the spans share one POST.
  const logger = new HttpLogger({
    endpoint: args.endpoint,
    jsonEncoder: jsonEncoder.JSON_V2,
    httpInterval: 60000,
    fetchImplementation,
    log,
  });
  logger.on('error', (err) => {
    errors.push(String(err));
    process.stderr.write(`zipkin error: ${err}\n`);
  });
  const ctxImpl = new ExplicitContext();
  const tracerA = new Tracer({ ctxImpl, recorder: new BatchRecorder({ logger }), localServiceName: args['service-a'], traceId128Bit: true, log });
  const tracerB = new Tracer({ ctxImpl: new ExplicitContext(), recorder: new BatchRecorder({ logger }), localServiceName: args['service-b'], log });

  const base = (Date.now() - 1000) * 1000; // microseconds
  const rootId = tracerA.createRootId();
  tracerA.setId(rootId);
  tracerA.recordServiceName(args['service-a']);
  tracerA.recordRpc('GET /checkout');
  tracerA.recordAnnotation(new Annotation.ServerRecv(), base);
  tracerA.recordBinary('http.path', '/checkout');
  tracerA.recordBinary('http.status_code', '200');

  const clientId = tracerA.createChildId();
  tracerA.setId(clientId);
  tracerA.recordServiceName(args['service-a']);
  tracerA.recordRpc('GET /inventory');
  tracerA.recordAnnotation(new Annotation.ClientSend(), base + 100);
  tracerA.recordAnnotation(new Annotation.Message('cache miss'), base + 150);
  tracerA.recordBinary('error', 'timeout');

  // Service B joins the propagated context: same trace, same span id, marked shared.
  const serverId = tracerB.join(clientId);
  tracerB.setId(serverId);
  tracerB.recordServiceName(args['service-b']);
  tracerB.recordRpc('GET /inventory');
  tracerB.recordAnnotation(new Annotation.ServerRecv(), base + 200);
  tracerB.recordBinary('db.rows', '42');
  tracerB.recordAnnotation(new Annotation.ServerSend(), base + 700);

  tracerA.setId(clientId);
  tracerA.recordAnnotation(new Annotation.ClientRecv(), base + 800);
  tracerA.setId(rootId);
  tracerA.recordAnnotation(new Annotation.ServerSend(), base + 1000);

  logger.processQueue(fetchImplementation);
  if (posts.length !== 1) {
    process.stderr.write(`expected one POST, got ${posts.length}\n`);
    process.exit(1);
  }
  const response = await posts[0];
  await new Promise((resolve) => setImmediate(resolve)); // let the logger's own .then run
  if (errors.length || (response.status !== 202 && response.status !== 200)) {
    process.stderr.write(`POST answered ${response.status}: ${await response.text()}\n`);
    process.exit(1);
  }
  const out = {
    client: 'zipkin-js',
    version: require('zipkin/package.json').version,
    status: response.status,
    trace_id: rootId.traceId,
    spans: {
      root: { span_id: rootId.spanId, parent_span_id: null, start_us: base, duration_us: 1000 },
      client: { span_id: clientId.spanId, parent_span_id: rootId.spanId, start_us: base + 100, duration_us: 700 },
      server: { span_id: serverId.spanId, parent_span_id: rootId.spanId, start_us: base + 200, duration_us: 500 },
    },
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
