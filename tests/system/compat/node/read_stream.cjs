// Reads one answer from POST <url>/invoke with @microsoft/fetch-event-source under Node, using the
// handlers the README recommends, and prints what the library delivered as JSON lines on stdout:
//   {"type":"open","status":200,"sessionHeader":"...","contentType":"..."}
//   {"type":"message","event":"delta","data":{...},"at":<ms since start>}
//   {"type":"fatal","status":429,"code":"THROTTLED","retryAfter":"2"}   (or {"type":"fatal","message":...})
//   {"type":"end","attempts":1}
// Usage: node read_stream.cjs '{"url": "...", "body": {"prompt": "..."}}'
"use strict";

// fetch-event-source is written for browsers: it reads `document` (page visibility) and `window`
// (timers, fetch). Node 18+ has fetch and timers on globalThis; a page that is never hidden is enough.
globalThis.window = globalThis;
globalThis.document = { hidden: false, addEventListener() {}, removeEventListener() {} };

const { fetchEventSource } = require("@microsoft/fetch-event-source");

const options = JSON.parse(process.argv[2]);
const started = performance.now();
let attempts = 0;
let finished = false;
const print = (record) => process.stdout.write(JSON.stringify(record) + "\n");

// An error that must end the call: thrown from onopen/onclose/onmessage and rethrown by onerror, so
// the library never sends the prompt again on its own.
class FatalError extends Error {
  constructor(message, details) {
    super(message);
    this.details = details;
  }
}

async function main() {
  await fetchEventSource(`${options.url.replace(/\/+$/, "")}/invoke`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(options.body),
    openWhenHidden: true, // otherwise a hidden tab aborts the stream and POSTs the prompt again
    fetch: (...args) => {
      attempts += 1;
      return fetch(...args);
    },
    async onopen(response) {
      const contentType = response.headers.get("content-type") || "";
      if (response.ok && contentType.startsWith("text/event-stream")) {
        print({ type: "open", status: response.status, sessionHeader: response.headers.get("x-session-id"), contentType });
        return;
      }
      let error = {};
      try {
        error = (await response.json()).error || {};
      } catch (ignored) {}
      throw new FatalError(`HTTP ${response.status}`, {
        status: response.status,
        code: error.code,
        retryAfter: response.headers.get("retry-after"),
      });
    },
    onmessage(message) {
      // Every event of the contract carries a JSON object; a keep-alive never reaches this handler.
      const data = JSON.parse(message.data);
      print({ type: "message", event: message.event, data, at: performance.now() - started });
      if (message.event === "done" || message.event === "error") finished = true;
    },
    onclose() {
      if (!finished) throw new FatalError("the stream ended without a done or error event", {});
    },
    onerror(error) {
      throw error; // never retry: a second POST would run the agent again
    },
  });
}

main()
  .catch((error) => print({ type: "fatal", message: String(error.message), ...(error.details || {}) }))
  .finally(() => print({ type: "end", attempts }));
