// Jaeger's span model as clients send it over Thrift (UDP agent ports 6831/6832, HTTP 14268).
//
// Written for pyjaeger from the published contract: the field ids, types, requiredness and names
// below are wire facts and must not change. Regenerate the Python with scripts/gen_thrift.sh.

namespace py jaeger

// How a Tag carries its value; note the numbering differs from api_v2's ValueType.
enum TagType { STRING = 0, DOUBLE = 1, BOOL = 2, LONG = 3, BINARY = 4 }

// A typed key/value. Only the field that vType names is meant to be set.
struct Tag {
  1: required string  key
  2: required TagType vType
  3: optional string  vStr
  4: optional double  vDouble
  5: optional bool    vBool
  6: optional i64     vLong
  7: optional binary  vBinary
}

// A timestamped event inside a span; timestamp is microseconds since the Unix epoch.
struct Log {
  1: required i64       timestamp
  2: required list<Tag> fields
}

enum SpanRefType { CHILD_OF = 0, FOLLOWS_FROM = 1 }

// A causal link to another span, possibly in another trace.
struct SpanRef {
  1: required SpanRefType refType
  2: required i64         traceIdLow
  3: required i64         traceIdHigh
  4: required i64         spanId
}

// Ids are signed on the wire and mean unsigned 64-bit values; traceIdHigh is 0 for 64-bit
// trace ids. parentSpanId 0 means no parent. Times are microseconds.
struct Span {
  1:  required i64           traceIdLow
  2:  required i64           traceIdHigh
  3:  required i64           spanId
  4:  required i64           parentSpanId
  5:  required string        operationName
  6:  optional list<SpanRef> references
  7:  required i32           flags
  8:  required i64           startTime
  9:  required i64           duration
  10: optional list<Tag>     tags
  11: optional list<Log>     logs
  // Field 12 was briefly `incomplete` upstream and then withdrawn: it is deliberately absent.
}

// The emitting service; one per Batch, shared by all its spans.
struct Process {
  1: required string    serviceName
  2: optional list<Tag> tags
}

// Client-side drop counters, reported with a batch.
struct ClientStats {
  1: required i64 fullQueueDroppedSpans
  2: required i64 tooLargeDroppedSpans
  3: required i64 failedToEmitSpans
}

// The unit clients send. seqNo increments per batch so that a receiver can count losses.
struct Batch {
  1: required Process     process
  2: required list<Span>  spans
  3: optional i64         seqNo
  4: optional ClientStats stats
}

struct BatchSubmitResponse {
  1: required bool ok
}

// The legacy TChannel collector interface (HTTP ingest takes a bare Batch instead).
service Collector {
  list<BatchSubmitResponse> submitBatches(1: list<Batch> batches)
}
