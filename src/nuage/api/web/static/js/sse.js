// The project's event stream (GET …/events, Server-Sent Events) read with fetch(), because
// EventSource cannot send an Authorization header and the token must not go in a URL. A dropped
// stream resumes with Last-Event-ID; an `error` event (the token expired) refreshes the token first.
//
// A stream opened without Last-Event-ID starts at the newest event: a change committed between a
// view's first read and that start never comes. So a view that read first passes `resync`: once
// such a stream is open, resync() reads again and returns a function that shows what it read,
// called before any event of the stream is handed on (they are newer), unless the stream was
// stopped meanwhile (the view was left). When the server says `event: resync` (the events after
// our Last-Event-ID were pruned) the stream is dropped and the next one starts afresh, without
// Last-Event-ID, and reads again: the server would go on from its oldest event kept, older than
// that read. A read again that fails drops the stream too. A stream that ends is opened again a
// second later, or, while reading again or connecting fails, after twice as long each time (at
// most 30 s).

import { authHeader, refresh } from "./api.js";

const RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

function parse(block) {
  const frame = { id: null, event: "message", data: [] };
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(":")) continue;
    const at = line.indexOf(":");
    const field = at < 0 ? line : line.slice(0, at);
    const value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
    if (field === "data") frame.data.push(value);
    else if (field === "id") frame.id = value;
    else if (field === "event") frame.event = value;
  }
  return frame;
}

export function streamEvents(path, onEvent, { resync } = {}) {
  const controller = new AbortController();
  let lastId = null;
  let retryIn = RETRY_MS;

  // Read the view's objects again and show them; false when the read failed.
  async function readAgain() {
    const show = await resync().catch(() => null);
    if (!show) return false;
    if (!controller.signal.aborted) show();
    retryIn = RETRY_MS;
    return true;
  }

  async function once() {
    const headers = { ...authHeader(), Accept: "text/event-stream" };
    if (lastId !== null) headers["Last-Event-ID"] = lastId;
    const response = await fetch(path, { headers, signal: controller.signal });
    if (response.status === 401) { await refresh(); return; }
    if (!response.ok) throw new Error(`event stream: HTTP ${response.status}`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const drop = () => { reader.cancel().catch(() => {}); };
    if (resync && lastId === null && !(await readAgain())) {
      retryIn = Math.min(2 * retryIn, MAX_RETRY_MS);
      drop();
      return;
    }
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      const blocks = buffer.split(/\r?\n\r?\n/);
      buffer = blocks.pop();
      for (const block of blocks) {
        const frame = parse(block);
        retryIn = RETRY_MS;
        if (frame.id !== null) lastId = frame.id;
        if (frame.event === "error") { await refresh(); return; }
        if (frame.event === "resync" && resync) {
          lastId = null;
          drop();
          return;
        }
        if (frame.data.length) onEvent(frame.event, JSON.parse(frame.data.join("\n")));
      }
    }
  }

  (async () => {
    while (!controller.signal.aborted) {
      try { await once(); } catch (error) {
        if (controller.signal.aborted) return;
        retryIn = Math.min(2 * retryIn, MAX_RETRY_MS);
      }
      await new Promise((resolve) => setTimeout(resolve, retryIn));
    }
  })();
  return () => controller.abort();
}
