// The API client of the console. The access token lives in this module's memory only (never in
// localStorage or sessionStorage); the refresh token is an HttpOnly cookie that only
// /v1/auth/session/* receives, so a reload signs in again through POST /v1/auth/session/refresh.

const SESSION = "/v1/auth/session";
let access = null;
let refreshTimer = null;
let refreshing = null;

export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && typeof body === "object"
      ? body.detail || Object.entries(body).map(([k, v]) => `${k}: ${[].concat(v).join(" ")}`).join("; ")
      : `HTTP ${status}`;
    super(detail);
    this.status = status;
    this.code = body && body.code;
    this.body = body;
  }
}

export const signedIn = () => access !== null;

function keep(answer) {
  access = answer.access;
  clearTimeout(refreshTimer);
  // Renew a minute before the access token expires, so that streams and pages keep working.
  const wait = new Date(answer.access_expires).getTime() - Date.now() - 60_000;
  refreshTimer = setTimeout(() => refresh().catch(() => {}), Math.max(wait, 5_000));
}

async function sessionCall(method, path, body) {
  const response = await fetch(SESSION + path, {
    method,
    credentials: "same-origin",
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export async function signIn(email, password) {
  keep(await sessionCall("POST", "", { email, password }));
}

// A new access token from the refresh cookie; one at a time however many callers ask.
export function refresh() {
  refreshing ??= sessionCall("POST", "/refresh")
    .then(keep)
    .catch((error) => { access = null; throw error; })
    .finally(() => { refreshing = null; });
  return refreshing;
}

export async function signOut() {
  access = null;
  clearTimeout(refreshTimer);
  await sessionCall("DELETE", "").catch(() => {});
}

export function authHeader() {
  return { Authorization: `Bearer ${access}` };
}

// Call the API: JSON in, JSON out; a 401 refreshes the token once and tries again.
export async function api(path, { method = "GET", body, idempotencyKey } = {}, retried = false) {
  const headers = { ...authHeader(), Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
  const response = await fetch(path, init).catch(async (error) => {
    // The network dropped it (a network change aborts requests in flight): sent once more when
    // sending it twice is safe, a read or a POST or PUT with an Idempotency-Key (the API
    // replays those; it takes no key on a DELETE).
    if (method !== "GET" && !(idempotencyKey && ["POST", "PUT"].includes(method))) throw error;
    await new Promise((resolve) => setTimeout(resolve, 500));
    return fetch(path, init);
  });
  if (response.status === 401 && !retried && access !== null) {
    await refresh();
    return api(path, { method, body, idempotencyKey }, true);
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// Every item of a DRF list (follows `next`, bounded), or the list itself when not paginated.
export async function all(path, limit = 10) {
  let data = await api(path);
  if (Array.isArray(data)) return data;
  const items = [...data.results];
  for (let page = 1; data.next && page < limit; page++) {
    const next = new URL(data.next);
    data = await api(next.pathname + next.search);
    items.push(...data.results);
  }
  return items;
}
