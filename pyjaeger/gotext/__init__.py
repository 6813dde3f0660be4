"""Go-compatible text: the one home for every rule that must read or write text as Go does.

Jaeger is a Go program, and what it reads and writes (query parameters, error messages the UI
shows verbatim, stored JSON, tag values as search compares them) is Go's text. Each module mirrors
one Go package: `strconv` (parsing, quoting, `%g`), `json` (`encoding/json` writing and the
errors of `json.Unmarshal`), `duration` (`time.Duration` syntax and `String()`), `time`
(`time.Parse` of RFC 3339).
"""
