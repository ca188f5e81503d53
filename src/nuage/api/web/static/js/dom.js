// DOM helpers. Text is always set as text (never parsed as HTML): what the API returns cannot
// become markup or script in the page.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function mount(...nodes) {
  const main = document.getElementById("main");
  main.replaceChildren(...nodes);
  return main;
}

export function flash(message, kind = "info") {
  const el = document.getElementById("flash");
  el.textContent = message;
  el.className = kind;
}

export function table(caption, headers, rows) {
  return h("div", { class: "table-wrap" },
    h("table", {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, headers.map((name) => h("th", { scope: "col" }, name)))),
      h("tbody", {}, rows)));
}

// Put `row` in place of the element with its id, or at the top of `body` (a table's tbody).
export function upsertRow(row, body) {
  const old = document.getElementById(row.id);
  if (old) old.replaceWith(row);
  else body?.prepend(row);
}

// `upsertRow` for each of `rows`, listed newest first as the API lists them: the newest new row
// ends on top.
export function upsertRows(rows, body) {
  for (const row of [...rows].reverse()) upsertRow(row, body);
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

export function statusBadge(status) {
  return h("span", { class: `badge s-${status}`, "data-status": status }, status);
}

// A confirmation the keyboard can answer: a <dialog> with the action named on its button.
export function confirmAction(question, verb) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { "aria-labelledby": "confirm-text" },
      h("form", { method: "dialog" },
        h("p", { id: "confirm-text" }, question),
        h("div", { class: "actions" },
          h("button", { value: "cancel", autofocus: true }, "Cancel"),
          h("button", { value: "ok", class: "danger" }, verb))));
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "ok");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
