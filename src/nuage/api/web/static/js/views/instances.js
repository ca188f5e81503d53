// The project's instances (live: status changes come from the event stream) and the create form.

import { all, api } from "../api.js";
import { flash, h, statusBadge, table, upsertRow, upsertRows } from "../dom.js";
import { streamEvents } from "../sse.js";

function instanceRow(instance, ctx) {
  return h("tr", { id: `instance-${instance.id}`, dataset: { id: instance.id } },
    h("th", { scope: "row" }, h("a", { href: ctx.hash(`instances/${instance.id}`) }, instance.name)),
    h("td", { class: "status" }, statusBadge(instance.status)),
    h("td", {}, instance.power_state),
    h("td", { class: "addresses" }, [...instance.ipv4, ...instance.ipv6].join(" ") || "—"),
    h("td", {}, instance.size.name),
    h("td", {}, instance.location.name));
}

export async function instancesView(ctx) {
  ctx.title("Instances · nuage");
  const read = () => all(`${ctx.base}/instances?page_size=100`);
  const instances = await read();
  const rowOf = (instance) => instanceRow(instance, ctx);
  const body = instances.map(rowOf);
  const list = table("Instances", ["Name", "Status", "Power", "Addresses", "Size", "Location"], body);
  ctx.mount(
    h("div", { class: "heading" },
      h("h1", {}, "Instances"),
      h("a", { class: "button", href: ctx.hash("instances/new") }, "Create instance")),
    instances.length ? null : h("p", {}, "No instances yet."),
    list); // even empty: instances created meanwhile appear in it
  const tbody = list.querySelector("tbody");
  const show = (instance) => upsertRow(rowOf(instance), tbody);
  // A status change carries the instance; a completed task may have changed its addresses or
  // size, so the instance is read again. Progress and step events leave the list alone.
  return streamEvents(`${ctx.base}/events`, async (type, event) => {
    if (!event.instance_id) return;
    let instance = null;
    if (type === "instance.status_changed") instance = event.data;
    else if (type === "task.completed" || type === "task.created") {
      instance = await api(`${ctx.base}/instances/${event.instance_id}`).catch(() => null);
    }
    if (instance) show(instance);
  }, {
    resync: async () => {
      const fresh = await read();
      return () => upsertRows(fresh.map(rowOf), tbody);
    },
  });
}

function choice(id, label, options) {
  return [
    h("label", { for: id }, label),
    h("select", { id, required: true }, options.map(([value, text]) => h("option", { value }, text))),
  ];
}

export async function newInstanceView(ctx) {
  ctx.title("Create instance · nuage");
  const [sizes, locations, images] = await Promise.all(
    ["sizes", "locations", "images"].map((kind) => all(`/v1/compute/${kind}?page_size=100`)));
  const key = crypto.randomUUID(); // one create per visit of this form, however often it is sent
  const form = h("form", { class: "card", "aria-labelledby": "create-title" },
    h("h1", { id: "create-title" }, "Create instance"),
    h("label", { for: "name" }, "Name"),
    h("input", { id: "name", required: true, maxlength: 100, autocomplete: "off" }),
    choice("size", "Size", sizes.map((s) => [s.id, `${s.name} — ${s.vcpu} vCPU, ${s.ram_mb} MiB`])),
    choice("location", "Location", locations.map((l) => [l.id, l.name])),
    choice("image", "Image", images.map((i) => [i.id, i.name])),
    h("label", { for: "tags" }, "Tags (comma-separated, optional)"),
    h("input", { id: "tags", autocomplete: "off" }),
    h("button", { type: "submit" }, "Create"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = (id) => form.querySelector(`#${id}`).value;
    const tags = value("tags").split(",").map((t) => t.trim()).filter(Boolean);
    try {
      const created = await api(`${ctx.base}/instances`, {
        method: "POST",
        idempotencyKey: key,
        body: {
          name: value("name"), size_id: value("size"), location_id: value("location"),
          image_id: value("image"), tags,
        },
      });
      flash(`Instance ${created.name} is being created.`);
      location.hash = ctx.hash(`instances/${created.id}`);
    } catch (error) {
      flash(error.message, "error");
    }
  });
  ctx.mount(form);
  form.querySelector("#name").focus();
}
