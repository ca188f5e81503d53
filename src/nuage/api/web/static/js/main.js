// The console's shell: sign-in state, the organization/project switch and the hash router.
// Routes name the organization and project (`#/o/ORG/p/PROJECT/…`), so a link is a whole address
// and the API decides what the user may see (another tenant's ids answer 404).

import { all, refresh, signedIn, signOut } from "./api.js";
import { flash, h, mount } from "./dom.js";
import { signInView } from "./views/signin.js";
import { instancesView, newInstanceView } from "./views/instances.js";
import { instanceView } from "./views/instance.js";
// noVNC is some fifty modules: loaded when a console is opened, not with every page.
const consoleView = async (ctx) => {
  let loaded;
  try { loaded = await import("./views/console.js"); } catch (error) {
    window.nuageLoadFailed(); // boot.js: the page loads again
    throw error;
  }
  return loaded.consoleView(ctx);
};
import { tasksView, taskView } from "./views/tasks.js";
import { keysView } from "./views/keys.js";
import { notFoundView } from "./views/notfound.js";

const ROUTES = [
  [/^\/signin$/, signInView, false],
  [/^\/keys$/, keysView, false],
  [/^\/o\/([\w-]+)\/p\/([\w-]+)\/instances$/, instancesView, true],
  [/^\/o\/([\w-]+)\/p\/([\w-]+)\/instances\/new$/, newInstanceView, true],
  [/^\/o\/([\w-]+)\/p\/([\w-]+)\/instances\/([\w-]+)$/, instanceView, true],
  [/^\/o\/([\w-]+)\/p\/([\w-]+)\/instances\/([\w-]+)\/console$/, consoleView, true],
  [/^\/o\/([\w-]+)\/p\/([\w-]+)\/tasks$/, tasksView, true],
  [/^\/o\/([\w-]+)\/p\/([\w-]+)\/tasks\/([\w-]+)$/, taskView, true],
];

const state = { orgs: [], projects: new Map(), org: null, project: null };
let cleanup = null;

export const go = (hash) => { location.hash = hash; };
export const projectHash = (org, project, rest = "instances") => `#/o/${org}/p/${project}/${rest}`;

async function loadScope() {
  state.orgs = await all("/v1/organizations");
  for (const org of state.orgs) {
    state.projects.set(org.id, await all(`/v1/organizations/${org.id}/projects`));
  }
}

function renderScope() {
  const orgSelect = document.getElementById("org-select");
  const projectSelect = document.getElementById("project-select");
  orgSelect.replaceChildren(...state.orgs.map((org) =>
    h("option", { value: org.id, selected: org.id === state.org }, org.name)));
  const projects = state.projects.get(state.org) || [];
  projectSelect.replaceChildren(...projects.map((p) =>
    h("option", { value: p.id, selected: p.id === state.project }, p.name)));
  const base = state.org && state.project ? projectHash(state.org, state.project, "") : "#/";
  document.getElementById("nav-instances").href = base + "instances";
  document.getElementById("nav-tasks").href = base + "tasks";
  document.getElementById("top").hidden = false;
}

function firstProject(orgId) {
  const projects = state.projects.get(orgId) || [];
  return projects.length ? projects[0].id : null;
}

// Each navigation's number. A view left while it was loading changes nothing on the page that
// followed (its ctx.mount and ctx.title do nothing), its failure is not shown, and its stream is
// stopped as soon as it returns it.
let navigation = 0;

async function route() {
  const call = ++navigation;
  const current = () => call === navigation;
  cleanup?.();
  cleanup = null;
  const path = location.hash.replace(/^#/, "") || "/";
  if (!signedIn()) {
    try { await refresh(); await loadScope(); } catch {
      if (!current()) return;
      document.getElementById("top").hidden = true;
      cleanup = await signInView({ next: path === "/signin" ? "/" : path, onSignedIn });
      return;
    }
    if (!current()) return;
  }
  if (path === "/" || path === "/signin") {
    const org = state.orgs[0];
    if (org && firstProject(org.id)) { go(projectHash(org.id, firstProject(org.id))); return; }
    renderScope();
    mount(h("h1", {}, "No project"), h("p", {}, "You are in no organization with a project yet."));
    return;
  }
  for (const [pattern, view, scoped] of ROUTES) {
    const match = pattern.exec(path);
    if (!match) continue;
    const [, org, project, id] = match;
    if (scoped) { state.org = org; state.project = project; }
    renderScope();
    const base = scoped ? `/v1/organizations/${org}/projects/${project}/compute` : null;
    const ctx = {
      org, project, id, base, current,
      hash: (rest) => projectHash(org, project, rest),
      mount: (...nodes) => { if (current()) mount(...nodes); },
      title: (text) => { if (current()) document.title = text; },
    };
    let stop;
    try { stop = (await view(ctx)) || null; } catch (error) {
      if (current()) throw error;
      return;
    }
    if (!current()) { stop?.(); return; }
    cleanup = stop;
    document.getElementById("main").focus({ preventScroll: true });
    return;
  }
  renderScope();
  notFoundView();
}

async function onSignedIn(next) {
  await loadScope();
  flash("");
  if (location.hash.replace(/^#/, "") === next) await route();
  else go("#" + next);
}

function wireShell() {
  document.getElementById("sign-out").addEventListener("click", async () => {
    cleanup?.();
    cleanup = null;
    await signOut();
    state.orgs = [];
    go("#/signin");
    flash("Signed out.");
  });
  document.getElementById("org-select").addEventListener("change", (event) => {
    const org = event.target.value;
    go(projectHash(org, firstProject(org) || "none"));
  });
  document.getElementById("project-select").addEventListener("change", (event) => {
    go(projectHash(state.org, event.target.value));
  });
  window.addEventListener("hashchange", () => route().catch(showError));
}

export function showError(error) {
  flash(error.message || String(error), "error");
}

wireShell();
route().then(() => { // loaded, with what the first view imports (boot.js counts failures)
  if (history.state?.bootTries) history.replaceState(null, "");
}, showError);
