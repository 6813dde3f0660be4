"""`pyjaeger demo`: four small services that call each other over HTTP and report their spans.

Only `cli` and `options` load without the OpenTelemetry SDK (the `demo` extra): the server's code
paths import `cli` to register the sub-command and must never pull the SDK in.
"""
