#!/usr/bin/env node
// Emit one known trace with the real Node jaeger-client (3.19.0) over UDP, then describe it.
//
// Installed by tests/clients/venvs.py (`npm ci` into a cached folder); run with that folder's
// node_modules on NODE_PATH. Usage:
//
//     node send.js --host 127.0.0.1 --port 6832 --service e2e-node
//
// jaeger-client's UDPSender writes strict BINARY Thrift (`Agent.emitBatch`, message type CALL,
// seqid 0) whatever port it is pointed at, so --port 6831 sends binary to the compact port.
//
// The trace, all three spans in one datagram (flushed on close):
// - "GET /node" (root): string, number, bool tags; Node sends every number as a DOUBLE tag
// - "cache lookup" (child of root): a log {event: "cache miss", n: 1}, tag error=true
// - "compute" (child of "cache lookup")
// Start times carry a quarter millisecond, so the microseconds on the wire are not whole ms.
//
// On success prints one JSON line (ids as lowercase hex, zero-padded to 16 digits; each span as
// the client's own spanToThrift encodes it, tags as [key, jaeger-json-type, value]) and exits 0;
// exits 1 when the reporter logged an error or the trace could not be flushed.
'use strict';

const jaeger = require('jaeger-client');
// Not re-exported by the package's index; the paths are fixed by the pinned 3.19.0.
const UDPSender = require('jaeger-client/dist/src/reporters/udp_sender').default;
const ThriftUtils = require('jaeger-client/dist/src/thrift').default;

function parseArgs(argv) {
  const args = { host: '127.0.0.1', port: 6832, service: 'e2e-node' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in args) || i + 1 >= argv.length) {
      process.stderr.write(`usage: send.js --host HOST --port PORT --service NAME (bad: ${argv[i]})\n`);
      process.exit(2);
    }
    args[key] = key === 'port' ? Number(argv[i + 1]) : argv[i + 1];
  }
  return args;
}

const ROOT = 'GET /node';
const CHILD = 'cache lookup';
const GRANDCHILD = 'compute';

function main() {
  const args = parseArgs(process.argv.slice(2));
  const errors = [];
  const logger = {
    info: (msg) => process.stderr.write(`jaeger-client info: ${msg}\n`),
    error: (msg) => {
      errors.push(String(msg));
      process.stderr.write(`jaeger-client error: ${msg}\n`);
    },
  };
  const sender = new UDPSender({ host: args.host, port: args.port, logger });
  // A long flush interval: nothing leaves before close(), so the three spans share a datagram.
  const reporter = new jaeger.RemoteReporter(sender, { logger, bufferFlushInterval: 60000 });
  const tracer = new jaeger.Tracer(args.service, reporter, new jaeger.ConstSampler(true), {
    logger,
    tags: { 'e2e.client': 'node' },
  });

  // A whole millisecond a second ago, plus fractions that are exact in binary floating point.
  const base = Math.floor(Date.now()) - 1000;
  const root = tracer.startSpan(ROOT, { startTime: base + 0.25 });
  root.setTag('span.kind', 'server');
  root.setTag('http.method', 'GET');
  root.setTag('http.status_code', 200);
  root.setTag('e2e.ratio', 0.25);
  root.setTag('e2e.cached', false);
  const child = tracer.startSpan(CHILD, { childOf: root.context(), startTime: base + 1.5 });
  child.setTag('error', true);
  child.log({ event: 'cache miss', n: 1 }, base + 2.75);
  const grandchild = tracer.startSpan(GRANDCHILD, { childOf: child.context(), startTime: base + 3 });
  grandchild.finish(base + 4.5);
  child.finish(base + 5);
  root.finish(base + 6.25);

  // Each span as the client encodes it (its own spanToThrift), in the terms Jaeger renders.
  const TAG_TYPES = { STRING: 'string', DOUBLE: 'float64', BOOL: 'bool', LONG: 'int64', BINARY: 'binary' };
  const tagValue = (t) =>
    ({ STRING: t.vStr, DOUBLE: t.vDouble, BOOL: t.vBool, LONG: Number(t.vLong && t.vLong.readBigInt64BE()) })[
      t.vType
    ];
  const tags = (list) => (list || []).map((t) => [t.key, TAG_TYPES[t.vType], tagValue(t)]);
  const hex = (buf) => buf.toString('hex').padStart(16, '0');
  const micros = (buf) => Number(buf.readBigInt64BE());
  const describe = (span, parent) => {
    const wire = ThriftUtils.spanToThrift(span);
    return {
      span_id: hex(wire.spanId),
      parent: parent ? parent.operationName : null,
      parent_span_id: parent ? hex(wire.parentSpanId) : null,
      start_us: micros(wire.startTime),
      duration_us: micros(wire.duration),
      tags: tags(wire.tags),
      logs: (wire.logs || []).map((l) => ({ timestamp_us: micros(l.timestamp), fields: tags(l.fields) })),
      references: wire.references.length,
    };
  };
  const described = {
    trace_id: hex(root.context().traceId),
    service: args.service,
    spans: {
      [ROOT]: describe(root, null),
      [CHILD]: describe(child, root),
      [GRANDCHILD]: describe(grandchild, child),
    },
    process_tags: Object.fromEntries(tracer._process.tags.map((t) => [t.key, t.value])),
    port: args.port,
  };

  tracer.close(() => {
    // UDPSender.close() closes the socket after the last send's callback; give it a tick.
    setImmediate(() => {
      if (errors.length) {
        process.stderr.write(`send.js: reporter errors: ${JSON.stringify(errors)}\n`);
        process.exit(1);
      }
      process.stdout.write(JSON.stringify(described) + '\n');
      process.exit(0);
    });
  });
}

main();
