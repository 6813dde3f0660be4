"""A stand-in app: one span every INTERVAL seconds to the Jaeger agent over UDP (compact Thrift),
at JAEGER_AGENT_HOST:JAEGER_AGENT_PORT, the variables Jaeger's client libraries read."""

import os
import random
import socket
import time

from pyjaeger.codecs.jaeger_thrift import encode_agent_message
from pyjaeger.model import KeyValue, Process, Span, ValueType

agent = (os.environ.get("JAEGER_AGENT_HOST", "localhost"), int(os.environ.get("JAEGER_AGENT_PORT", "6831")))
process = Process(os.environ.get("JAEGER_SERVICE_NAME", "example-app"))
interval = float(os.environ.get("INTERVAL", "5"))
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print(f"sending a span every {interval}s to {agent[0]}:{agent[1]}/udp", flush=True)
while True:
    span = Span(
        trace_id=random.getrandbits(63) + 1,
        span_id=random.getrandbits(63) + 1,
        operation_name="GET /hello",
        references=[],
        flags=1,  # sampled
        start_time=time.time_ns() // 1000,
        duration=1500,
        tags=[KeyValue("span.kind", ValueType.STRING, "server")],
        logs=[],
        process=process,
    )
    sock.sendto(encode_agent_message([span]), agent)
    time.sleep(interval)
