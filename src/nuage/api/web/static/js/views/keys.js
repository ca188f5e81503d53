// The user's API keys: list, create (the key is shown once, with a copy button), revoke.

import { all, api } from "../api.js";
import { confirmAction, flash, h, table, when } from "../dom.js";

export async function keysView(ctx) {
  ctx.title("API keys · nuage");
  const keys = await all("/v1/api-keys?page_size=100");
  const name = h("input", { id: "key-name", required: true, maxlength: 100, autocomplete: "off" });
  const form = h("form", { class: "inline", "aria-labelledby": "new-key-title" },
    h("h2", { id: "new-key-title" }, "New key"),
    h("label", { for: "key-name" }, "Name"), name,
    h("button", { type: "submit" }, "Create key"));
  const shown = h("div", { id: "new-key", "aria-live": "polite" });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const created = await api("/v1/api-keys", {
        method: "POST", body: { name: name.value }, idempotencyKey: crypto.randomUUID(),
      });
      await keysView(ctx);
      showOnce(created);
    } catch (error) { flash(error.message, "error"); }
  });
  const rows = keys.map((key) => h("tr", { id: `key-${key.id}`, dataset: { id: key.id } },
    h("th", { scope: "row" }, key.name),
    h("td", {}, h("code", {}, `${key.prefix}…`)),
    h("td", {}, key.scopes.join(", ")),
    h("td", {}, when(key.created)),
    h("td", {}, when(key.last_used)),
    h("td", {}, h("button", {
      type: "button", class: "danger", "aria-label": `Revoke ${key.name}`,
      onclick: async () => {
        if (!(await confirmAction(`Revoke the key ${key.name}? Programs using it stop working.`, "Revoke"))) return;
        try {
          await api(`/v1/api-keys/${key.id}`, { method: "DELETE" });
          flash(`Key ${key.name} revoked.`);
          await keysView(ctx);
        } catch (error) { flash(error.message, "error"); }
      },
    }, "Revoke"))));
  ctx.mount(h("h1", {}, "API keys"), shown, form,
    keys.length ? table("Your API keys", ["Name", "Key", "Scopes", "Created", "Last used", ""], rows)
      : h("p", {}, "No API keys."));
}

function showOnce(created) {
  const place = document.getElementById("new-key");
  if (!place) { // the page was left while the key was made
    flash(`Key ${created.name} was made while you left its page; its secret is never shown `
      + "again: revoke it and create another.", "error");
    return;
  }
  const card = (...children) =>
    place.replaceChildren(h("div", { class: "card once", role: "alert" }, ...children));
  if (!created.key) { // a replay: the first answer, which had the secret, was lost on the way
    card(h("p", {}, `Key ${created.name} was made, but its answer was lost on the way and the key `
      + "is never shown again: revoke it and create another."));
    return;
  }
  const value = h("input", { id: "created-key", readonly: true, value: created.key, "aria-label": "The new key" });
  const copy = h("button", { type: "button", id: "copy-key" }, "Copy");
  copy.addEventListener("click", async () => {
    value.select();
    try { await navigator.clipboard.writeText(created.key); flash("Key copied."); }
    catch { flash("Select the key and copy it (Ctrl+C).", "error"); }
  });
  card(h("p", {}, `Key ${created.name}: copy it now, it is not shown again.`),
    h("div", { class: "actions" }, value, copy));
  value.focus();
  value.select();
}
