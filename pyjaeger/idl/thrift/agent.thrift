// The UDP agent interface: one datagram carries one complete `emitBatch` or `emitZipkinBatch`
// message.
//
// Written for pyjaeger from the published contract.

include "jaeger.thrift"
include "zipkincore.thrift"

namespace py agent

service Agent {
  oneway void emitZipkinBatch(1: list<zipkincore.Span> spans)
  oneway void emitBatch(1: jaeger.Batch batch)
}
