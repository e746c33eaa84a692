// The chat page: POST <API URL>/invoke, read the SSE answer as it streams, render it as markdown.
// Plain browser JavaScript with no build step. Answers are markdown: the vendored `marked` turns the
// text so far into HTML and the vendored DOMPurify cleans it into a DOM fragment, which replaces the
// answer's children; no HTML string from the model ever reaches the page unsanitized.
"use strict";

const SETTINGS_KEY = "agentcore-streaming.settings";

// -- SSE parsing ----------------------------------------------------------------------------------

// Incremental parser for text/event-stream (the WHATWG rules the public contract follows). Chunks
// may split anywhere, even between "\r" and "\n"; feed() keeps the unfinished line for next time.
class SseParser {
  constructor() {
    this.buffer = "";
    this.eventName = "";
    this.dataLines = [];
    this.comments = 0;
  }

  // Returns the events completed by this chunk: [{name, data}], data being the raw text.
  feed(text) {
    this.buffer += text;
    const events = [];
    let start = 0;
    while (start < this.buffer.length) {
      const lf = this.buffer.indexOf("\n", start);
      const cr = this.buffer.indexOf("\r", start);
      let end;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // A lone "\r" at the very end may be the first half of "\r\n": wait for the next chunk.
        if (cr === this.buffer.length - 1) break;
        end = cr;
      } else if (lf !== -1) {
        end = lf;
      } else {
        break;
      }
      const line = this.buffer.slice(start, end);
      start = end + (this.buffer[end] === "\r" && this.buffer[end + 1] === "\n" ? 2 : 1);
      const event = this.readLine(line);
      if (event) events.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  get hasPartialEvent() {
    return this.buffer.length > 0 || this.dataLines.length > 0 || this.eventName !== "";
  }

  readLine(line) {
    if (line === "") {
      const event = this.dataLines.length ? { name: this.eventName || "message", data: this.dataLines.join("\n") } : null;
      this.eventName = "";
      this.dataLines = [];
      return event;
    }
    if (line.startsWith(":")) {
      this.comments += 1; // ": keep-alive" while the agent is silent
      return null;
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.eventName = value;
    else if (field === "data") this.dataLines.push(value);
    // "id" and "retry" mean nothing here: the page never reconnects on its own.
    return null;
  }
}

// -- settings: the API, and the key for it --------------------------------------------------------

// Saved in localStorage as {apiUrl, apiKeys: {<API origin>: key}}: a key belongs to the origin it was
// entered for and is only ever sent there. The page calls the API saved in Settings, else the one
// config.js names. A link's ?api= on any other origin is only a proposal until the person accepts it
// (apiLinkProposal): until then the page sends nothing, and an accepted API starts with no key and
// no sign-in, so a link cannot lead a saved key, an ID token or a prompt anywhere.

function configuredApiUrl() {
  const config = window.AGENTCORE_STREAMING_CONFIG || {};
  return typeof config.apiUrl === "string" ? config.apiUrl : "";
}

// The URL to POST to, or null when apiUrl is not an http(s) URL.
function invokeUrl(apiUrl) {
  let url;
  try {
    url = new URL(apiUrl.trim());
  } catch (error) {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  const path = url.pathname.replace(/\/+$/, "");
  url.pathname = path.endsWith("/invoke") ? path : `${path}/invoke`;
  return url.toString();
}

// The origin an API URL's requests go to ("https://abc.execute-api.us-east-1.amazonaws.com"), or ""
// when it is not an http(s) URL.
function apiOrigin(apiUrl) {
  const url = invokeUrl(apiUrl);
  return url ? new URL(url).origin : "";
}

function readStoredSettings() {
  let stored = parseJson(window.localStorage.getItem(SETTINGS_KEY) || "null");
  if (!stored || typeof stored !== "object") stored = {};
  const apiUrl = typeof stored.apiUrl === "string" ? stored.apiUrl : "";
  const apiKeys = {};
  for (const [origin, key] of Object.entries(stored.apiKeys && typeof stored.apiKeys === "object" ? stored.apiKeys : {})) {
    if (typeof key === "string" && key) apiKeys[origin] = key;
  }
  // Saved before keys were kept per API: the one key went to the API the page used then (the saved
  // URL, else the configured one), and stays with it.
  const earlierOrigin = apiOrigin(apiUrl || configuredApiUrl());
  if (typeof stored.apiKey === "string" && stored.apiKey && earlierOrigin && !Object.hasOwn(apiKeys, earlierOrigin)) {
    apiKeys[earlierOrigin] = stored.apiKey;
  }
  return { apiUrl, apiKeys };
}

function writeStoredSettings(apiUrl, apiKeys) {
  window.localStorage.setItem(SETTINGS_KEY, JSON.stringify({ apiUrl, apiKeys }));
}

function storedKey(stored, origin) {
  return origin && Object.hasOwn(stored.apiKeys, origin) ? stored.apiKeys[origin] : "";
}

function linkedApiUrl() {
  return (new URLSearchParams(window.location.search).get("api") || "").trim();
}

// An API the person chose already: on the saved API's origin or the configured one's.
function isKnownApi(apiUrl, stored) {
  const origin = apiOrigin(apiUrl);
  return origin !== "" && (origin === apiOrigin(stored.apiUrl) || origin === apiOrigin(configuredApiUrl()));
}

// The link's ?api= when it names an API the person has not chosen (or no usable URL at all), else "".
function apiLinkProposal() {
  const linked = linkedApiUrl();
  return linked && !isKnownApi(linked, readStoredSettings()) ? linked : "";
}

// The API to call, its origin and the key saved for that origin. A link's ?api= on a known API's
// origin (another stage, say) is used as it is; any other waits in apiLinkProposal.
function currentApi() {
  const stored = readStoredSettings();
  const linked = linkedApiUrl();
  const apiUrl = linked && isKnownApi(linked, stored) ? linked : stored.apiUrl || configuredApiUrl();
  const origin = apiOrigin(apiUrl);
  return { apiUrl, origin, apiKey: storedKey(stored, origin) };
}

// Takes parameters out of the address bar (and so out of the history and any bookmark).
function removeFromQuery(names) {
  const params = new URLSearchParams(window.location.search);
  for (const name of names) params.delete(name);
  const rest = params.toString();
  window.history.replaceState(null, "", window.location.pathname + (rest ? `?${rest}` : "") + window.location.hash);
}

// -- markdown -------------------------------------------------------------------------------------

// Only what answers need: text structure, code, links and tables. Everything else (script, style,
// img, svg, math, iframe, form controls, event handlers, style attributes) is dropped by DOMPurify.
const ALLOWED_TAGS = [
  "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre", "blockquote",
  "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
];
const ALLOWED_ATTR = ["href", "title", "start", "align"];
// Links may only leave for the web or a mail client: no javascript:, data:, relative or other schemes.
const SAFE_LINK = /^(?:https?:\/\/|mailto:)/i;
// A hidden tab gets no animation frames; a timer then renders instead, at most this often.
const RENDER_FALLBACK_MS = 100;

function configureSanitizer() {
  window.DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (node.nodeName !== "A") return;
    const href = node.getAttribute("href");
    if (href !== null && !SAFE_LINK.test(href.trim())) node.removeAttribute("href");
    if (node.hasAttribute("href")) {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    }
  });
}

// The answer's markdown so far, re-rendered at most once per animation frame: a long answer costs
// one parse per frame, not one per delta.
class MarkdownView {
  constructor(container) {
    this.container = container;
    this.source = "";
    this.frame = null;
    this.timer = null;
  }

  append(text) {
    this.source += text;
    if (this.frame !== null) return;
    this.frame = window.requestAnimationFrame(() => this.flush());
    this.timer = window.setTimeout(() => this.flush(), RENDER_FALLBACK_MS);
  }

  flush() {
    if (this.frame !== null) window.cancelAnimationFrame(this.frame);
    window.clearTimeout(this.timer);
    this.frame = null;
    this.timer = null;
    this.container.replaceChildren(renderMarkdown(this.source));
  }
}

// The whole answer: markdown text and, in order with it, one line per tool call that the agent's
// `tool` events keep up to date ("Using current_time…", then "… done" or "… failed"). Text after a
// tool line starts a new markdown part, so the line stays where the call happened.
const TOOL_LINES = { started: "Using {name}…", finished: "Using {name}… done", failed: "Using {name}… failed" };

class AnswerView {
  constructor(container) {
    this.container = container;
    this.part = null; // the MarkdownView text goes to, until the next tool line
    this.toolLines = new Map(); // toolUseId -> its line
  }

  append(text) {
    if (this.part === null) {
      const part = element("div", "answer-part markdown");
      this.container.append(part);
      this.part = new MarkdownView(part);
    }
    this.part.append(text);
  }

  flush() {
    if (this.part !== null) this.part.flush();
  }

  tool(data) {
    if (!(data.status in TOOL_LINES) || typeof data.name !== "string") return;
    let line = this.toolLines.get(data.toolUseId);
    if (line === undefined) {
      this.flush();
      this.part = null;
      line = element("p", "tool-call");
      this.container.append(line);
      this.toolLines.set(data.toolUseId, line);
    }
    line.dataset.status = data.status;
    line.dataset.tool = data.name;
    line.textContent = TOOL_LINES[data.status].replace("{name}", data.name);
  }
}

// Markdown -> sanitized DocumentFragment (DOMPurify parses in an inert document: nothing runs).
function renderMarkdown(source) {
  const html = window.marked.parse(source, { gfm: true, breaks: false, async: false });
  return window.DOMPurify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOW_DATA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
  });
}

// -- Cognito sign-in (authMode "cognito") ---------------------------------------------------------

// The user pool's hosted login, Authorization Code grant with PKCE (S256): no client secret in the
// page, and an intercepted code is useless without this tab's verifier. The ID token is kept in
// sessionStorage: it survives the redirects of signing in and a reload, but stays in this tab and
// is gone when the tab closes (localStorage would keep it on disk for every tab, for as long as it
// is valid). No refresh token is kept: when the ID token expires the person signs in again, which
// the hosted login's own session usually makes one click. Like a key, the token goes only to the
// API origin the page called when the sign-in started: another API needs a sign-in of its own.
const TOKEN_KEY = "agentcore-streaming.idToken"; // {idToken, api: <API origin>}
const SIGN_IN_KEY = "agentcore-streaming.signIn"; // {state, verifier, redirectUri, api} while away signing in
// A token this close to its expiry is not sent: it could expire on the way.
const EXPIRY_MARGIN_MS = 60 * 1000;
const DEFAULT_SCOPES = ["openid", "email"];

// The user pool's domain and app client when the page is configured for Cognito, else null.
function cognitoConfig() {
  const config = window.AGENTCORE_STREAMING_CONFIG || {};
  const cognito = config.cognito;
  if (config.authMode !== "cognito" || !cognito || !cognito.domain || !cognito.clientId) return null;
  return { domain: String(cognito.domain).replace(/\/+$/, ""), clientId: String(cognito.clientId),
           scopes: Array.isArray(cognito.scopes) && cognito.scopes.length ? cognito.scopes : DEFAULT_SCOPES };
}

// Where the hosted login sends the person back: this page, without its query (a callback URL of the app client).
// The page's URL as the app client lists it: the folder, so ".../index.html" (the same page) comes
// back to ".../" rather than to a URL the hosted login would refuse (redirect_mismatch).
function redirectUri() {
  return window.location.origin + window.location.pathname.replace(/\/index\.html$/, "/");
}

function base64Url(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(byteCount) {
  return base64Url(crypto.getRandomValues(new Uint8Array(byteCount)));
}

async function codeChallenge(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64Url(new Uint8Array(digest));
}

// The token's claims (read, not verified: API Gateway verifies it), or null.
function tokenClaims(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(payload), (char) => char.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    return null;
  }
}

// The tab's ID token and the API origin it was got for ({idToken: null} when there is none).
function storedSignIn() {
  const stored = parseJson(window.sessionStorage.getItem(TOKEN_KEY) || "null");
  if (!stored || typeof stored !== "object" || typeof stored.idToken !== "string") return { idToken: null, api: null };
  return { idToken: stored.idToken, api: stored.api };
}

// The ID token to send to the current API, or null: none, (nearly) expired, or got for another API.
function currentToken() {
  const stored = storedSignIn();
  const token = stored.idToken;
  const claims = token ? tokenClaims(token) : null;
  if (!claims || typeof claims.exp !== "number" || claims.exp * 1000 - EXPIRY_MARGIN_MS <= Date.now()) {
    window.sessionStorage.removeItem(TOKEN_KEY);
    return null;
  }
  return stored.api === currentApi().origin ? token : null;
}

async function signIn() {
  const cognito = cognitoConfig();
  if (!cognito) return;
  const verifier = randomString(48); // 64 characters, within PKCE's 43..128
  const stateValue = randomString(24);
  const pending = { state: stateValue, verifier, redirectUri: redirectUri(), api: currentApi().origin };
  window.sessionStorage.setItem(SIGN_IN_KEY, JSON.stringify(pending));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: cognito.clientId,
    redirect_uri: redirectUri(),
    scope: cognito.scopes.join(" "),
    state: stateValue,
    code_challenge: await codeChallenge(verifier),
    code_challenge_method: "S256",
  });
  window.location.assign(`${cognito.domain}/oauth2/authorize?${query}`);
}

function signOut() {
  const cognito = cognitoConfig();
  window.sessionStorage.removeItem(TOKEN_KEY);
  if (!cognito) return updateAuth();
  // The hosted login ends its own session too, then returns here (a sign-out URL of the app client).
  const query = new URLSearchParams({ client_id: cognito.clientId, logout_uri: redirectUri() });
  window.location.assign(`${cognito.domain}/logout?${query}`);
}

// Back from the hosted login with ?code=&state= (or ?error=): check state, redeem the code.
async function finishSignIn() {
  const cognito = cognitoConfig();
  const params = new URLSearchParams(window.location.search);
  if (!cognito || !(params.has("code") || params.has("error"))) return;
  const code = params.get("code");
  const returnedState = params.get("state");
  const failure = params.get("error");
  let pending = null;
  try {
    pending = JSON.parse(window.sessionStorage.getItem(SIGN_IN_KEY) || "null");
  } catch (error) {
    pending = null;
  }
  window.sessionStorage.removeItem(SIGN_IN_KEY);
  // The code is single-use and must not stay in the address bar, the history or a bookmark.
  removeFromQuery(["code", "state", "error", "error_description"]);

  if (failure) return showAuthProblem(`Sign-in failed: ${failure}.`);
  // A code this tab did not ask for (another tab, or a forged link) is never redeemed.
  if (!pending || !returnedState || pending.state !== returnedState) {
    return showAuthProblem("Sign-in failed: the answer did not match this tab's sign-in request. Sign in again.");
  }
  let response;
  try {
    response = await fetch(`${cognito.domain}/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: cognito.clientId,
        code,
        redirect_uri: pending.redirectUri,
        code_verifier: pending.verifier,
      }),
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    return showAuthProblem("Sign-in failed: the user pool's token endpoint could not be reached.");
  }
  const body = parseJson(await response.text().catch(() => ""));
  if (!response.ok || !body || typeof body.id_token !== "string") {
    const reason = body && body.error ? ` (${body.error})` : "";
    return showAuthProblem(`Sign-in failed: the token endpoint answered ${response.status}${reason}. Sign in again.`);
  }
  window.sessionStorage.setItem(TOKEN_KEY, JSON.stringify({ idToken: body.id_token, api: pending.api }));
}

function showAuthProblem(message) {
  page.authStatus.textContent = message;
  page.authStatus.dataset.problem = "true";
}

// Show Sign in or Sign out (and who is signed in) when the page is configured for Cognito.
function updateAuth() {
  const cognito = cognitoConfig();
  page.auth.hidden = !cognito;
  if (!cognito) return;
  const token = currentToken();
  page.signIn.hidden = Boolean(token);
  page.signOut.hidden = !token;
  if (page.authStatus.dataset.problem === "true" && !token) return; // keep the problem visible until the next try
  delete page.authStatus.dataset.problem;
  const claims = token ? tokenClaims(token) : null;
  page.authStatus.textContent = claims ? `Signed in as ${claims.email || claims["cognito:username"] || claims.sub}` : "Not signed in";
}

// -- the page -------------------------------------------------------------------------------------

const page = {
  conversation: document.getElementById("conversation"),
  emptyHint: document.getElementById("empty-hint"),
  chatForm: document.getElementById("chat-form"),
  prompt: document.getElementById("prompt"),
  send: document.getElementById("send"),
  stop: document.getElementById("stop"),
  newConversation: document.getElementById("new-conversation"),
  sessionId: document.getElementById("session-id"),
  status: document.getElementById("status"),
  settingsPanel: document.getElementById("settings-panel"),
  settingsForm: document.getElementById("settings-form"),
  settingsStatus: document.getElementById("settings-status"),
  apiUrl: document.getElementById("api-url"),
  apiKey: document.getElementById("api-key"),
  auth: document.getElementById("auth"),
  authStatus: document.getElementById("auth-status"),
  signIn: document.getElementById("sign-in"),
  signOut: document.getElementById("sign-out"),
  apiLink: document.getElementById("api-link"),
  apiLinkUrl: document.getElementById("api-link-url"),
  apiLinkHelp: document.getElementById("api-link-help"),
  apiLinkUse: document.getElementById("api-link-use"),
  apiLinkKeep: document.getElementById("api-link-keep"),
};

const state = {
  sessionId: null,
  controller: null, // AbortController of the answer in flight
  inFlight: null, // {url, headers} of the answer in flight: where POST /stop goes, authenticated alike
  retryAt: 0, // performance.now() before which Send stays off: the API asked us to wait (Retry-After)
  retryTimer: null,
  keyFieldOrigin: "", // the API origin whose key the Settings key field holds
  following: true, // the window keeps the conversation's end in view (followConversation)
  lastScrollY: 0,
};

// -- following the answer -------------------------------------------------------------------------

// While an answer streams the window keeps the conversation's end in view, unless the person scrolls
// up to read: then the view stays where they put it until they scroll back to the end or send again.
// The message box and Stop stay reachable either way (style.css: the composer sticks to the bottom).
const FOLLOW_SLACK_PX = 24;

function distanceFromEnd() {
  const root = document.scrollingElement;
  return root.scrollHeight - root.scrollTop - root.clientHeight;
}

// Scrolling up stops the following; reaching the end resumes it, and so does scrolling down to its
// last quarter screen (the text keeps growing while a wheel's scroll glides to the end). The page's
// own scrolling only ever goes down, or is clamped to the end when the content shrinks, so it never
// stops the following.
function noteScroll() {
  const y = window.scrollY;
  const distance = distanceFromEnd();
  const down = y > state.lastScrollY;
  if (distance <= FOLLOW_SLACK_PX || (down && distance <= window.innerHeight / 4)) state.following = true;
  else if (y < state.lastScrollY) state.following = false;
  state.lastScrollY = y;
}

function followConversation() {
  if (state.following) window.scrollTo(0, document.scrollingElement.scrollHeight);
}

// A field the person must fill in now: its focus moves the view, which must not jump back to the answer.
function showField(field) {
  state.following = false;
  field.focus();
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// One exchange: the user's message and the agent's answer, which grows as deltas arrive.
class Turn {
  constructor(prompt) {
    this.root = element("article", "turn");
    this.root.dataset.state = "waiting";
    const user = element("div", "message user");
    user.append(element("span", "who", "You"), element("p", "text", prompt));
    const agent = element("div", "message agent");
    this.answer = element("div", "text answer markdown");
    this.markdown = new AnswerView(this.answer);
    this.error = element("div", "error");
    this.error.setAttribute("role", "alert");
    this.error.hidden = true;
    this.meta = element("p", "meta");
    agent.append(element("span", "who", "Agent"), this.answer, this.error, this.meta);
    this.root.append(user, agent);
    this.started = performance.now();
    this.firstTokenMs = null;
  }

  appendText(text) {
    if (this.firstTokenMs === null) {
      this.firstTokenMs = Math.round(performance.now() - this.started);
      this.root.dataset.firstTokenMs = String(this.firstTokenMs);
    }
    this.root.dataset.state = "streaming";
    this.markdown.append(text);
    this.describeTiming("streaming");
  }

  describeTiming(label) {
    const parts = [label];
    if (this.firstTokenMs !== null) parts.push(`first token ${this.firstTokenMs} ms`);
    if (label !== "streaming") parts.push(`${((performance.now() - this.started) / 1000).toFixed(1)} s total`);
    this.meta.textContent = parts.join(" · ");
  }

  finish(outcome) {
    this.markdown.flush();
    this.root.dataset.state = outcome; // done or stopped
    this.describeTiming(outcome === "done" ? "done" : "stopped by you");
  }

  fail(title, message, requestId) {
    this.markdown.flush();
    this.root.dataset.state = "error";
    this.error.replaceChildren(element("strong", "error-title", title), element("span", "error-message", ` ${message}`));
    if (requestId) this.error.append(element("span", "error-request", ` (request ${requestId})`));
    this.error.hidden = false;
    this.describeTiming("failed");
  }
}

// Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or null.
function retryAfterSeconds(value) {
  if (!value) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const when = Date.parse(text);
  return Number.isNaN(when) ? null : Math.max(0, (when - Date.now()) / 1000);
}

function waitingForRetry() {
  return performance.now() < state.retryAt;
}

// The page never sends a prompt again by itself (that would run the agent again); it keeps Send off
// until the time the API named has passed, and the person decides whether to send again.
function holdSendingFor(seconds) {
  state.retryAt = performance.now() + seconds * 1000;
  window.clearTimeout(state.retryTimer);
  state.retryTimer = window.setTimeout(() => setStreaming(Boolean(state.controller)), seconds * 1000);
}

// Whether a prompt may go out now: no answer in flight, and no wait the API asked for.
function canSend() {
  return !state.controller && !waitingForRetry();
}

function setStreaming(streaming) {
  page.send.disabled = streaming || waitingForRetry();
  for (const retry of page.conversation.querySelectorAll(".retry")) retry.disabled = streaming || waitingForRetry();
  page.stop.disabled = !streaming;
  page.conversation.setAttribute("aria-busy", streaming ? "true" : "false");
  page.status.textContent = streaming ? "Answering…" : waitingForRetry() ? "Busy: Send is back shortly." : "";
}

function showSession(sessionId) {
  state.sessionId = sessionId;
  page.sessionId.textContent = sessionId || "new";
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch (error) {
    return undefined;
  }
}

// An HTTP error as {title, message, requestId, refusal}: the contract's {"error": {code, message}} body,
// or API Gateway's own {"message": "..."} (a missing key, throttling at the usage plan), or the status.
// `refusal` is the message as the API wrote it, before any hint is added.
async function describeHttpError(response) {
  const body = parseJson(await response.text().catch(() => ""));
  const error = body && typeof body === "object" ? body.error : undefined;
  let title = `${response.status}`;
  let message = response.statusText || "The API refused the request.";
  if (error && typeof error === "object") {
    if (error.code) title = `${response.status} ${error.code}`;
    if (error.message) message = String(error.message);
  } else if (body && typeof body === "object" && typeof body.message === "string") {
    message = body.message;
  }
  const refusal = message;
  if (response.status === 403 && !(error && error.code)) message += " Check the API key in Settings.";
  const retryAfter = response.headers.get("Retry-After");
  if (retryAfter) message += ` Retry after ${retryAfter} s.`;
  const requestId = (error && error.requestId) || response.headers.get("X-Request-Id") || "";
  return { title, message, requestId, refusal };
}

// API Gateway's text when a method that requires an API key gets none, or one it does not accept
// (a wrong, disabled or deleted key; a WAF rule's block reads the same): docs/aws-facts.md, the
// Knowledge Center's "How do I troubleshoot HTTP 403 errors from API Gateway?".
const KEY_REFUSAL = "Forbidden";

// The authMode config.js names, when the page calls the API config.js names; else "" (not known).
function knownAuthMode(origin) {
  const config = window.AGENTCORE_STREAMING_CONFIG || {};
  const configured = origin !== "" && origin === apiOrigin(configuredApiUrl());
  return configured && typeof config.authMode === "string" ? config.authMode : "";
}

// A 403 "Forbidden" from an API that takes keys (or may: config.js does not say) is about the key:
// {title, message} asking for it, or saying the saved one was refused; else null.
function keyProblem(status, refusal, api) {
  const mode = knownAuthMode(api.origin);
  if (status !== 403 || refusal !== KEY_REFUSAL || (mode !== "" && mode !== "apiKey")) return null;
  if (api.apiKey) {
    return { title: "API key refused", message: `The API refused the key saved for ${api.origin}: enter the right `
             + "one in Settings (the stack output apiKey), save, then Retry." };
  }
  return { title: "API key needed",
           message: "This API needs an API key: enter it in Settings (the stack output apiKey), save, then Retry." };
}

// Opens Settings on the key field, with the sentence that says why.
function askForKey(sentence) {
  page.settingsPanel.open = true;
  page.settingsStatus.textContent = sentence;
  showField(page.apiKey);
}

// When the proxy function fails mid-stream on AWS, Lambda Web Adapter's runtime writes the error as
// two more lines of the body, "Lambda-Runtime-Function-Error-Type: Runtime.StreamError" and
// "Lambda-Runtime-Function-Error-Body: <base64>" (not as trailers), and the response then ends
// normally. The stream's last characters are kept to recognise them.
const LAMBDA_ERROR_TYPE = /Lambda-Runtime-Function-Error-Type: ?([\x21-\x7e]{1,100})/i;
const STREAM_TAIL_CHARS = 4096;

// Reads the stream to its end; returns "done", "error" or "broken" (ended without a final event).
async function readAnswer(response, turn) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder("utf-8");
  const parser = new SseParser();
  let tail = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
      tail = (tail + text).slice(-STREAM_TAIL_CHARS);
      for (const event of parser.feed(text)) {
        const outcome = handleEvent(event, turn);
        if (outcome) return outcome;
      }
      if (done) return endedWithoutFinalEvent(tail, turn);
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

// A stream that ended without done or error is cut: "broken", or an error named here when Lambda
// says the function failed.
function endedWithoutFinalEvent(tail, turn) {
  const crash = LAMBDA_ERROR_TYPE.exec(tail);
  if (!crash) return "broken";
  turn.fail(
    "Answer cut off",
    `The API's function failed in the middle of the answer (Lambda reported ${crash[1]}), so the answer is incomplete.`,
    turn.root.dataset.requestId,
  );
  return "error";
}

function handleEvent(event, turn) {
  const data = parseJson(event.data);
  if (data === undefined || data === null || typeof data !== "object") {
    turn.fail("Unreadable answer", "The API sent an event this page cannot read.");
    return "error";
  }
  switch (event.name) {
    case "start":
      if (data.sessionId) showSession(data.sessionId);
      turn.root.dataset.requestId = data.requestId || "";
      return null;
    case "delta":
      if (typeof data.text === "string") turn.appendText(data.text);
      return null;
    case "tool":
      turn.markdown.tool(data);
      return null;
    case "done":
      if (data.sessionId) showSession(data.sessionId);
      turn.finish("done");
      return "done";
    case "error": {
      // AgentCore's throttling arrives after `start`, so its wait comes in the event, not a header.
      const wait = Number(data.retryAfterSeconds);
      let message = String(data.message || "The answer failed.");
      if (Number.isFinite(wait) && wait > 0) {
        holdSendingFor(wait);
        message += ` Retry after ${wait} s.`;
      }
      turn.fail(String(data.code || "ERROR"), message, turn.root.dataset.requestId);
      return "error";
    }
    default:
      return null; // events this page does not know are skipped, as the SSE rules say
  }
}

// One prompt, one turn. A turn that fails offers Retry, and its prompt goes back into the message box
// (unless the person has typed something else there since), so nothing typed is lost.
async function ask(prompt) {
  const turn = new Turn(prompt);
  page.emptyHint.hidden = true;
  for (const offer of page.conversation.querySelectorAll(".retry")) offer.remove(); // Retry is for the latest turn only
  state.following = true;
  page.conversation.append(turn.root);
  const request = requestFor(turn, prompt);
  if (request) await exchange(turn, request);
  if (turn.root.dataset.state === "error") offerRetry(turn, prompt);
}

function offerRetry(turn, prompt) {
  if (!page.prompt.value) page.prompt.value = prompt;
  const retry = element("button", "retry", "Retry");
  retry.type = "button";
  retry.disabled = !canSend();
  retry.addEventListener("click", () => {
    if (!canSend()) return;
    if (page.prompt.value === prompt) page.prompt.value = "";
    ask(prompt);
  });
  turn.error.append(retry);
}

// {api, url, headers, body} to POST, or null when the turn failed before anything could be sent.
function requestFor(turn, prompt) {
  const api = currentApi();
  const url = invokeUrl(api.apiUrl);
  if (apiLinkProposal()) {
    turn.fail("Choose the API first", "This link names another API: use it or keep the current one (above), then Retry.");
    state.following = false; // the banner above is what to read now
    page.apiLink.scrollIntoView({ block: "nearest" });
    return null;
  }
  if (!url) {
    turn.fail("No API URL", "Open Settings and enter the stack's API URL (http or https).");
    page.settingsPanel.open = true;
    showField(page.apiUrl);
    return null;
  }
  const headers = { "Content-Type": "application/json", Accept: "text/event-stream" };
  if (api.apiKey) headers["x-api-key"] = api.apiKey;
  if (cognitoConfig()) {
    const token = currentToken();
    updateAuth();
    if (!token) {
      turn.fail("Not signed in", "Sign in to use this API (a sign-in lasts an hour).");
      return null;
    }
    headers.Authorization = `Bearer ${token}`;
  }
  const body = { prompt };
  if (state.sessionId) body.sessionId = state.sessionId;
  return { api, url, headers, body };
}

async function exchange(turn, { api, url, headers, body }) {
  const controller = new AbortController();
  state.controller = controller;
  state.inFlight = { url, headers };
  setStreaming(true);
  try {
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: controller.signal,
        cache: "no-store",
        credentials: "omit",
      });
    } catch (error) {
      if (controller.signal.aborted) return turn.finish("stopped");
      return turn.fail(
        "Cannot reach the API",
        `No answer from ${url}. Check the API URL, your network, and that the API allows this page's origin (CORS).`,
      );
    }
    if (!response.ok) return await refused(turn, response, api);
    if (!(response.headers.get("Content-Type") || "").startsWith("text/event-stream")) {
      return turn.fail(`${response.status}`, "The API answered, but not with a stream. Is the API URL right?");
    }
    const sessionHeader = response.headers.get("X-Session-Id");
    if (sessionHeader) showSession(sessionHeader);
    turn.root.dataset.state = "streaming";
    try {
      if ((await readAnswer(response, turn)) === "broken") {
        turn.fail("Connection lost", "The answer ended before it was complete.");
      }
    } catch (error) {
      if (controller.signal.aborted) turn.finish("stopped");
      else turn.fail("Connection lost", "The connection broke while the answer was streaming.");
    }
  } finally {
    if (state.controller === controller) {
      state.controller = null;
      state.inFlight = null;
    }
    setStreaming(Boolean(state.controller));
  }
}

// An HTTP error before the stream: a missing or refused API key asks for the key in Settings; the
// rest show what the API said.
async function refused(turn, response, api) {
  const wait = retryAfterSeconds(response.headers.get("Retry-After"));
  if (wait !== null && wait > 0) holdSendingFor(wait);
  const problem = await describeHttpError(response);
  const keyAsk = keyProblem(response.status, problem.refusal, api);
  if (keyAsk) {
    askForKey(keyAsk.message);
    return turn.fail(keyAsk.title, keyAsk.message, api.apiKey ? problem.requestId : "");
  }
  if (response.status === 401 && cognitoConfig()) {
    // API Gateway's Cognito authorizer refused the token (expired, revoked, another pool).
    window.sessionStorage.removeItem(TOKEN_KEY);
    updateAuth();
    problem.message += " Your sign-in was not accepted or has expired: sign in again.";
  }
  return turn.fail(problem.title, problem.message, problem.requestId);
}

// The same API's POST /stop for an invoke URL (.../invoke -> .../stop).
function stopUrl(invokeUrlText) {
  const url = new URL(invokeUrlText);
  url.pathname = url.pathname.replace(/\/invoke$/, "/stop");
  return url.toString();
}

// Stop sends POST /stop, then closes the stream. Closing alone would not stop the answer: on AWS the
// agent keeps answering (and is billed) to the end when the page's connection closes, and the
// session's next message would wait for it. Before the API has named the session there is nothing to stop.
function stopAnswer() {
  if (!state.controller) return;
  if (state.inFlight && state.sessionId) {
    fetch(stopUrl(state.inFlight.url), {
      method: "POST",
      headers: { ...state.inFlight.headers, Accept: "application/json" },
      body: JSON.stringify({ sessionId: state.sessionId }),
      cache: "no-store",
      credentials: "omit",
    }).catch(() => {}); // the stream is closed below either way
  }
  state.controller.abort();
}

function newConversation() {
  stopAnswer();
  page.conversation.replaceChildren();
  page.emptyHint.hidden = false;
  showSession(null);
  page.prompt.focus();
}

function fillSettingsForm() {
  const api = currentApi();
  page.apiUrl.value = api.apiUrl;
  page.apiKey.value = api.apiKey;
  state.keyFieldOrigin = api.origin;
  if (!api.apiUrl) page.settingsPanel.open = true;
}

// The key field holds the key of the API in the URL field: a URL on another origin brings that
// origin's saved key (or none), so saving never files one API's key under another.
function followApiUrlField() {
  const origin = apiOrigin(page.apiUrl.value.trim() || configuredApiUrl());
  if (origin === state.keyFieldOrigin) return;
  state.keyFieldOrigin = origin;
  page.apiKey.value = storedKey(readStoredSettings(), origin);
}

function saveSettingsForm() {
  const apiUrl = page.apiUrl.value.trim();
  if (apiUrl && !invokeUrl(apiUrl)) {
    page.settingsStatus.textContent = "The API URL must start with http:// or https://.";
    return;
  }
  const { apiKeys } = readStoredSettings();
  const origin = apiOrigin(apiUrl || configuredApiUrl());
  const apiKey = page.apiKey.value.trim();
  if (origin) delete apiKeys[origin];
  if (origin && apiKey) apiKeys[origin] = apiKey;
  writeStoredSettings(apiUrl, apiKeys);
  page.settingsStatus.textContent = "Saved.";
  showApiLink(); // an API saved here is the person's choice, not a link's
  updateAuth();
}

// A link's ?api= that names an API the person has not chosen: show it, and send nothing until they decide.
function showApiLink() {
  const proposed = apiLinkProposal();
  page.apiLink.hidden = !proposed;
  if (!proposed) return;
  const usable = apiOrigin(proposed) !== "";
  const current = currentApi().origin;
  page.apiLinkUrl.textContent = proposed;
  page.apiLinkUse.hidden = !usable;
  page.apiLinkHelp.textContent = usable
    ? "Nothing is sent to it unless you choose it, and then it needs its API key or a sign-in entered again." +
      (current ? ` Your saved key and sign-in stay with ${current}.` : "")
    : "It is not an http(s) URL, so the page cannot use it.";
}

// Accepting a link's API: it becomes the saved API, with no key and no sign-in of its own yet.
function useLinkedApi() {
  const proposed = apiLinkProposal();
  const origin = apiOrigin(proposed);
  if (!origin) return;
  const { apiKeys } = readStoredSettings();
  delete apiKeys[origin]; // whatever was once saved for it, a link does not bring it back
  writeStoredSettings(proposed, apiKeys);
  if (storedSignIn().api === origin) window.sessionStorage.removeItem(TOKEN_KEY);
  removeFromQuery(["api"]);
  showApiLink();
  fillSettingsForm();
  updateAuth();
  page.settingsPanel.open = true;
  page.settingsStatus.textContent = `Now using ${origin}. ` +
    (cognitoConfig() ? "Sign in again for it." : "Enter its API key if it needs one, then Save settings.");
  showField(page.apiKey);
}

function keepCurrentApi() {
  removeFromQuery(["api"]);
  showApiLink();
  fillSettingsForm();
  updateAuth();
}

page.chatForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const prompt = page.prompt.value;
  if (!prompt.trim() || !canSend()) return;
  page.prompt.value = "";
  ask(prompt);
});

page.prompt.addEventListener("keydown", (event) => {
  // Enter sends; Shift+Enter is a new line; an IME composition's Enter only ends the composition.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    page.chatForm.requestSubmit();
  }
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && state.controller) stopAnswer();
});

page.stop.addEventListener("click", stopAnswer);
page.newConversation.addEventListener("click", newConversation);

page.settingsForm.addEventListener("submit", (event) => {
  event.preventDefault();
  saveSettingsForm();
});
page.apiUrl.addEventListener("input", followApiUrlField);
page.apiLinkUse.addEventListener("click", useLinkedApi);
page.apiLinkKeep.addEventListener("click", keepCurrentApi);

page.signIn.addEventListener("click", () => {
  signIn().catch(() => showAuthProblem("Sign-in could not start in this browser."));
});
page.signOut.addEventListener("click", signOut);

window.addEventListener("scroll", noteScroll, { passive: true });
// Every change to the conversation (a new turn, a render of the answer, a tool line, an error) runs
// before the browser paints, so the view never shows the end out of sight.
new MutationObserver(followConversation).observe(page.conversation, { childList: true, subtree: true, characterData: true });

configureSanitizer();
fillSettingsForm();
showApiLink();
updateAuth();
finishSignIn().finally(updateAuth);
