// The UDP agent interface: one datagram carries one complete `emitBatch` message.
//
// Written for pyjaeger from the published contract. Upstream also declares
// `oneway void emitZipkinBatch(1: list<zipkincore.Span> spans)`; it is left out until Zipkin
// Thrift ingest exists, and the codec rejects that method by name before reading arguments.

include "jaeger.thrift"

namespace py agent

service Agent {
  oneway void emitBatch(1: jaeger.Batch batch)
}
