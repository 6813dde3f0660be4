// Zipkin v1 spans (zipkincore) as Zipkin's v1 Thrift clients send them: POSTed to 9411
// /api/v1/spans as a binary-protocol list<Span>, or to the agent in `Agent.emitZipkinBatch`.
//
// Written for pyjaeger from the published contract; the field ids and types are the wire format
// and must match what the clients send. Only the structs are declared: pyjaeger serves no
// ZipkinCollector Thrift RPC, and the core annotation names ("cs", "sr", ...) live in the codec.

namespace py zipkincore

// ipv4 packs the address big-endian into the i32; ipv6 is 16 raw bytes.
struct Endpoint {
  1: i32 ipv4
  2: i16 port
  3: string service_name
  4: optional binary ipv6
}

struct Annotation {
  1: i64 timestamp
  2: string value
  3: optional Endpoint host
}

enum AnnotationType { BOOL, BYTES, I16, I32, I64, DOUBLE, STRING }

// value holds the bytes of annotation_type: big-endian integers and doubles, one byte for a bool.
struct BinaryAnnotation {
  1: string key,
  2: binary value,
  3: AnnotationType annotation_type,
  4: optional Endpoint host
}

// Field ids 2 and 7 were used by older versions of the contract and stay unused.
struct Span {
  1: i64 trace_id
  3: string name,
  4: i64 id,
  5: optional i64 parent_id,
  6: list<Annotation> annotations,
  8: list<BinaryAnnotation> binary_annotations
  9: optional bool debug = 0
  10: optional i64 timestamp,
  11: optional i64 duration
  12: optional i64 trace_id_high
}
