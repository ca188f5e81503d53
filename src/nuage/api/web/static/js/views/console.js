// The instance's screen through noVNC. Each connection opens a console session (a
// `get_vnc_url` task), whose one-time token opens the WebSocket bridge once; the token is used
// at once and kept nowhere.

import RFB from "../../novnc/core/rfb.js";
import { api } from "../api.js";
import { h } from "../dom.js";
import { notFoundView } from "./notfound.js";

async function openSession(ctx) {
  const task = await api(`${ctx.base}/instances/${ctx.id}/console`, {
    method: "POST", idempotencyKey: crypto.randomUUID(),
  });
  const done = await api(`${ctx.base}/tasks/${task.id}?wait=30`);
  if (done.status !== "completed") {
    throw new Error(done.error ? `${done.error.code}: ${done.error.message}` : `task ${done.status}`);
  }
  // The bridge is on this origin; the session's URL names its path.
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const path = new URL(done.result.url).pathname;
  return { id: done.result.id, url: `${scheme}//${location.host}${path}?token=${encodeURIComponent(done.result.token)}` };
}

export async function consoleView(ctx) {
  let instance;
  try { instance = await api(`${ctx.base}/instances/${ctx.id}`); } catch (error) {
    if (error.status === 404 || error.status === 400) return notFoundView("instance", ctx);
    throw error;
  }
  ctx.title(`Console of ${instance.name} · nuage`);
  const status = h("p", { id: "console-status", role: "status", "aria-live": "polite" }, "Connecting…");
  const screen = h("div", { id: "screen", class: "screen", "aria-label": `Screen of ${instance.name}` });
  const cad = h("button", { type: "button", id: "ctrl-alt-del", disabled: true }, "Send Ctrl-Alt-Del");
  const reconnect = h("button", { type: "button", id: "reconnect", hidden: true }, "Reconnect");
  ctx.mount(h("section", { class: "console", "aria-labelledby": "console-title" },
    h("h1", { id: "console-title" }, `Console: ${instance.name}`),
    h("p", {}, h("a", { href: ctx.hash(`instances/${ctx.id}`) }, "Back to the instance")),
    h("div", { class: "actions" }, cad, reconnect), status, screen));

  let rfb = null;
  async function connect() {
    reconnect.hidden = true;
    status.textContent = "Opening a console session…";
    let session;
    try { session = await openSession(ctx); } catch (error) {
      status.textContent = `No console: ${error.message}`;
      reconnect.hidden = false;
      return;
    }
    if (!ctx.current()) return; // the page was left while the session was opened
    screen.dataset.session = session.id;
    rfb = new RFB(screen, session.url);
    rfb.scaleViewport = true;
    rfb.focusOnClick = true;
    rfb.addEventListener("connect", () => {
      status.textContent = "Connected. Click the screen to type.";
      screen.dataset.connected = "1";
      cad.disabled = false;
    });
    rfb.addEventListener("disconnect", (event) => {
      status.textContent = event.detail.clean ? "Disconnected." : "The console was refused or lost.";
      delete screen.dataset.connected;
      cad.disabled = true;
      reconnect.hidden = false;
      rfb = null;
    });
  }
  cad.addEventListener("click", () => rfb?.sendCtrlAltDel());
  reconnect.addEventListener("click", connect);
  if (ctx.current()) await connect();
  return () => rfb?.disconnect();
}
