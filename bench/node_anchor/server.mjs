// The benchmark's anchor: the proxy a user would pick instead of ours, as the seed builds it (a
// Node.js function calling AgentCore with AWS SDK v3 InvokeAgentRuntimeCommand), with the same SSE
// translation as proxy/streaming_proxy (start, delta, done, error, keep-alive). The seed runs as a
// Lambda streaming handler (awslambda.streamifyResponse); here it is Node's own http server, so that
// it can be measured against the same fake upstream as the Python proxy. Minimal on purpose: no
// request validation beyond what the translation needs, no usage records, no metrics.
//
//   PORT=8123 AGENT_RUNTIME_ARN=arn:... AWS_REGION=us-west-2 AWS_ACCESS_KEY_ID=... \
//   AWS_SECRET_ACCESS_KEY=... AWS_ENDPOINT_URL_BEDROCK_AGENTCORE=http://127.0.0.1:9100 node server.mjs
//
// GET /_ready answers 200 once the SDK client is built and the server listens (the cold-start figure).

import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import {
  BedrockAgentCoreClient,
  InvokeAgentRuntimeCommand,
} from "@aws-sdk/client-bedrock-agentcore";

const runtimeArn = process.env.AGENT_RUNTIME_ARN;
if (!runtimeArn) throw new Error("AGENT_RUNTIME_ARN must be set");
const port = Number(process.env.PORT || 8080);
const keepaliveMs = Number(process.env.PROXY_KEEPALIVE_SECONDS || 15) * 1000;
const streamTimeoutMs = Number(process.env.PROXY_STREAM_TIMEOUT_SECONDS || 900) * 1000;
const MAX_STOP_REASON_CHARS = 64;
const KEEPALIVE = ": keep-alive\n";
const CONTENT_BLOCKED_MESSAGE =
  "The content guardrail blocked this request or its answer. Discard any partial answer and rephrase the request.";

// As the seed: one client for the process, credentials from the default chain (Lambda's environment).
const client = new BedrockAgentCoreClient({
  region: process.env.AWS_REGION || "us-west-2",
  ...(process.env.AWS_ENDPOINT_URL_BEDROCK_AGENTCORE ? { endpoint: process.env.AWS_ENDPOINT_URL_BEDROCK_AGENTCORE } : {}),
});

const sseEvent = (name, data) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
const streamError = (code, message, extra = {}) => sseEvent("error", { code, message, ...extra });

function usageOf(value) {
  if (value === null || typeof value !== "object") return undefined;
  const fields = ["inputTokens", "outputTokens", "totalTokens", "latencyMs"];
  return fields.every((name) => Number.isInteger(value[name]) && value[name] >= 0 && value[name] <= Number.MAX_SAFE_INTEGER)
    ? Object.fromEntries(fields.map((name) => [name, value[name]]))
    : undefined;
}

// One upstream event (the text of its `data:` field) as [the client's event or null, terminal?].
function translate(payload, sessionId) {
  let value;
  try {
    value = JSON.parse(payload);
  } catch {
    return [streamError("UPSTREAM_PROTOCOL_ERROR", "The agent sent an unreadable answer."), true];
  }
  if (typeof value === "string") return [sseEvent("delta", { text: value }), false];
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [null, false];
  if ("error" in value && "error_type" in value) {
    return [streamError("AGENT_ERROR", "The agent failed while answering."), true];
  }
  if (value.type === "delta" && typeof value.text === "string") return [sseEvent("delta", { text: value.text }), false];
  if (value.type === "blocked") {
    return [streamError("CONTENT_BLOCKED", CONTENT_BLOCKED_MESSAGE), true];
  }
  if (value.type === "done") {
    const done = { sessionId };
    if (typeof value.stopReason === "string" && value.stopReason.length > 0 && value.stopReason.length <= MAX_STOP_REASON_CHARS) {
      done.stopReason = value.stopReason;
    }
    const usage = usageOf(value.usage);
    if (usage) done.usage = usage;
    return [sseEvent("done", done), true];
  }
  if (typeof value.data === "string") return [sseEvent("delta", { text: value.data }), false];
  return [null, false];
}

// The `data:` payloads of complete SSE events in a byte stream (frames may split anywhere).
class SseDecoder {
  constructor() {
    this.tail = "";
    this.data = [];
    this.decoder = new TextDecoder();
  }

  feed(chunk) {
    const text = this.tail + this.decoder.decode(chunk, { stream: true });
    const payloads = [];
    let start = 0;
    for (let newline = text.indexOf("\n"); newline >= 0; newline = text.indexOf("\n", start)) {
      let line = text.slice(start, newline);
      start = newline + 1;
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line === "") {
        if (this.data.length) payloads.push(this.data.join("\n"));
        this.data = [];
      } else if (line.startsWith("data:")) {
        this.data.push(line.startsWith("data: ") ? line.slice(6) : line.slice(5));
      }
    }
    this.tail = text.slice(start);
    return payloads;
  }
}

function upstreamFailure(error) {
  if (error?.name === "ThrottlingException") {
    return streamError("THROTTLED", "The agent is busy; retry after a short wait.", { retryAfterSeconds: 1 });
  }
  if (error?.name === "AbortError") return null;
  return streamError("UPSTREAM_ERROR", "The agent could not be reached.");
}

async function readBody(request) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

function refuse(response, status, code, message, requestId) {
  response.writeHead(status, { "Content-Type": "application/json", "X-Request-Id": requestId });
  response.end(JSON.stringify({ error: { code, message, requestId } }));
}

async function invoke(request, response) {
  const requestId = randomUUID();
  let body;
  try {
    body = JSON.parse(await readBody(request));
  } catch {
    return refuse(response, 400, "INVALID_BODY", "The body must be a JSON object.", requestId);
  }
  if (body === null || typeof body !== "object" || typeof body.prompt !== "string" || body.prompt === "") {
    return refuse(response, 400, "MISSING_FIELD", "prompt is required: a non-empty string.", requestId);
  }
  // AgentCore wants a session id of at least 33 characters.
  const sessionId = typeof body.sessionId === "string" && body.sessionId ? body.sessionId : `session-${randomUUID()}`;
  response.writeHead(200, {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
    "X-Session-Id": sessionId,
    "X-Request-Id": requestId,
  });
  const abort = new AbortController();
  let finished = false;
  // One idle timer per stream: refreshed by every write, it sends a keep-alive after a silence.
  const idle = setTimeout(function keepAlive() {
    if (!finished) {
      response.write(KEEPALIVE);
      idle.refresh();
    }
  }, keepaliveMs);
  const deadline = setTimeout(() => {
    finish(streamError("STREAM_TIMEOUT", "The answer took too long and was cut off."));
    abort.abort();
  }, streamTimeoutMs);
  function finish(last) {
    if (finished) return;
    finished = true;
    clearTimeout(idle);
    clearTimeout(deadline);
    if (last) response.write(last);
    response.end();
  }
  // The client went away: stop reading the agent.
  response.on("close", () => {
    if (!finished) {
      finished = true;
      clearTimeout(idle);
      clearTimeout(deadline);
      abort.abort();
    }
  });
  async function write(text) {
    idle.refresh();
    if (!response.write(text)) {
      // Backpressure: a slow client stops the reading of the agent's answer.
      await new Promise((resolve) => {
        response.once("drain", resolve);
        response.once("close", resolve);
      });
    }
  }
  await write(sseEvent("start", { sessionId, requestId }));
  let output;
  try {
    output = await client.send(
      new InvokeAgentRuntimeCommand({
        agentRuntimeArn: runtimeArn,
        runtimeSessionId: sessionId,
        payload: new TextEncoder().encode(JSON.stringify({ prompt: body.prompt })),
        qualifier: "DEFAULT",
      }),
      { abortSignal: abort.signal },
    );
  } catch (error) {
    return finish(upstreamFailure(error));
  }
  const decoder = new SseDecoder();
  let answered = false;
  try {
    for await (const chunk of output.response) {
      // After the last event, read the answer to its end: its connection then goes back to the pool.
      if (answered) continue;
      for (const payload of decoder.feed(chunk)) {
        const [event, terminal] = translate(payload, sessionId);
        if (terminal) {
          finish(event);
          answered = true;
          break;
        }
        if (event) await write(event);
      }
      if (finished && !answered) return; // the client went away; abort() stops the upstream read
    }
    finish(streamError("UPSTREAM_INTERRUPTED", "The agent's answer broke off."));
  } catch {
    finish(streamError("UPSTREAM_INTERRUPTED", "The agent's answer broke off."));
  }
}

const server = createServer((request, response) => {
  if (request.method === "GET" && request.url === "/_ready") {
    response.writeHead(200, { "Content-Type": "text/plain" });
    return response.end("ready");
  }
  if (request.url !== "/invoke") return refuse(response, 404, "NOT_FOUND", "No such route.", randomUUID());
  if (request.method !== "POST") return refuse(response, 405, "METHOD_NOT_ALLOWED", "Use POST.", randomUUID());
  invoke(request, response).catch((error) => {
    console.error(JSON.stringify({ level: "ERROR", message: "stream failed", error: String(error?.name) }));
    if (!response.headersSent) refuse(response, 500, "INTERNAL_ERROR", "A fault in the proxy.", randomUUID());
    else response.end();
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, "127.0.0.1", () => {
  console.log(JSON.stringify({ level: "INFO", message: "listening", port }));
});
