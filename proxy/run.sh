#!/bin/bash
# Lambda Web Adapter starts this script as the function's handler (AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap)
# and relays each API Gateway event to the server it starts, in response_stream mode. The local stack
# runs the same script on a laptop, with the proxy's directory as the working directory and the
# repository root on PYTHONPATH for streaming_shared/ (which the zip carries at its root, beside this script).
set -euo pipefail
cd "$(dirname "$0")"
# One worker: Lambda sends one request at a time to an execution environment; locally the event loop
# serves many streams at once. No access log: the app writes its own structured lines. The event loop
# is uvicorn's "auto", i.e. uvloop, which requirements.txt ships. The HTTP protocol is the guarded h11
# one: it drops clients that send their headers or body too slowly (uvicorn alone has no such limit),
# and h11 rather than httptools because httptools refuses a request line it cannot parse (an unknown
# method such as "A") with uvicorn's plain-text 400, where h11 lets the app answer the contract's JSON 405.
exec python -m uvicorn --factory streaming_proxy.app:create_app_from_environment \
  --http streaming_proxy.http_guard:GuardedH11Protocol \
  --host 127.0.0.1 \
  --port "${AWS_LWA_PORT:-${PORT:-8080}}" \
  --no-access-log \
  --timeout-graceful-shutdown 5
