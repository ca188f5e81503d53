// An instance's page: its facts, its actions, and one section per feature (tasks, snapshots,
// backups, volumes, addresses, firewall, software). Its status and tasks follow the event stream.

import { all, api } from "../api.js";
import { confirmAction, flash, h, statusBadge, table, when } from "../dom.js";
import { streamEvents } from "../sse.js";
import { notFoundView } from "./notfound.js";
import { showTaskRows, tasksTable } from "./tasks.js";

// Actions that lose work or data in the guest ask first.
const POWER = [
  ["start", "Start", null],
  ["stop", "Stop", "Stop it now? The guest is powered off without shutting down."],
  ["shutdown", "Shut down", null],
  ["reboot", "Reboot", null],
  ["reset", "Reset", "Reset it now? The guest restarts without shutting down."],
];

function facts(instance) {
  return h("dl", { class: "facts" },
    h("dt", {}, "Status"), h("dd", { id: "instance-status" }, statusBadge(instance.status)),
    h("dt", {}, "Power"), h("dd", { id: "instance-power" }, instance.power_state),
    h("dt", {}, "Hostname"), h("dd", {}, instance.hostname),
    h("dt", {}, "Size"), h("dd", {}, `${instance.size.name} (${instance.hardware.vcpu} vCPU, ${instance.hardware.ram_mb} MiB, ${instance.hardware.disk_gb} GB)`),
    h("dt", {}, "Image"), h("dd", {}, instance.image.name),
    h("dt", {}, "Location"), h("dd", {}, instance.location.name),
    h("dt", {}, "Addresses"), h("dd", {}, [...instance.ipv4, ...instance.ipv6].join(" ") || "—"),
    h("dt", {}, "Created"), h("dd", {}, when(instance.created)));
}

function section(title, id, ...content) {
  return h("section", { id, "aria-labelledby": `${id}-title` }, h("h2", { id: `${id}-title` }, title), ...content);
}

// A section whose list may not be there (the feature refused, the call failed): it says so.
async function listed(load, render) {
  try { return render(await load()); } catch (error) {
    return h("p", { class: "muted" }, `Unavailable: ${error.message}`);
  }
}

function actions(instance, ctx, sizes, images) {
  const on = `${ctx.base}/instances/${instance.id}`;
  async function run(label, call, question) {
    if (question && !(await confirmAction(question, label))) return;
    try {
      const task = await call();
      flash(`${label}: task ${task.task_type} queued.`);
    } catch (error) { flash(error.message, "error"); }
  }
  const post = (path, body) => () => api(`${on}/${path}`, { method: "POST", body, idempotencyKey: crypto.randomUUID() });
  const size = h("select", { id: "resize-size", "aria-label": "New size" },
    sizes.map((s) => h("option", { value: s.id, selected: s.id === instance.size.id }, s.name)));
  const image = h("select", { id: "reinstall-image", "aria-label": "Image to reinstall" },
    images.map((i) => h("option", { value: i.id, selected: i.id === instance.image.id }, i.name)));
  const hostname = h("input", { id: "new-hostname", "aria-label": "New hostname", value: instance.hostname });
  const button = (id, label, onclick, cls) => h("button", { type: "button", id, onclick, class: cls }, label);
  return h("div", { class: "instance-actions", role: "group", "aria-label": "Actions" },
    h("div", { class: "actions" }, POWER.map(([verb, label, question]) =>
      button(`action-${verb}`, label, () => run(label, post(verb), question && `${question}`)))),
    h("div", { class: "actions" }, size, button("action-resize", "Resize",
      () => run("Resize", post("resize", { size_id: size.value }), `Resize ${instance.name}? It restarts if running.`))),
    h("div", { class: "actions" }, image, button("action-reinstall", "Reinstall",
      () => run("Reinstall", post("reinstall", { image_id: image.value }), `Reinstall ${instance.name}? Its disk is erased.`), "danger")),
    h("div", { class: "actions" }, hostname, button("action-hostname", "Set hostname",
      () => run("Set hostname", post("hostname", { hostname: hostname.value })))),
    h("div", { class: "actions" },
      h("a", { class: "button", id: "open-console", href: ctx.hash(`instances/${instance.id}/console`) }, "Open console"),
      button("action-delete", "Delete", async () => {
        if (!(await confirmAction(`Delete ${instance.name}? This cannot be undone.`, "Delete"))) return;
        try {
          await api(on, { method: "DELETE", idempotencyKey: crypto.randomUUID() });
          flash(`${instance.name} is being deleted.`);
        } catch (error) { flash(error.message, "error"); }
      }, "danger")));
}

export async function instanceView(ctx) {
  const on = `${ctx.base}/instances/${ctx.id}`;
  let instance;
  try { instance = await api(on); } catch (error) {
    if (error.status === 404 || error.status === 400) return notFoundView("instance", ctx);
    throw error;
  }
  ctx.title(`${instance.name} · nuage`);
  const [sizes, images] = await Promise.all([all("/v1/compute/sizes"), all("/v1/compute/images")]);
  const readTasks = async () =>
    (await api(`${ctx.base}/tasks?instance_id=${instance.id}&page_size=20`)).results;
  const rows = (items, f) => items.map((item) => h("tr", {}, f(item).map((cell, i) =>
    i === 0 ? h("th", { scope: "row" }, cell) : h("td", {}, cell))));
  const sections = await Promise.all([
    listed(readTasks, (tasks) => tasksTable(tasks, ctx, "Tasks of this instance")),
    listed(() => all(`${on}/snapshots`), (items) => table("Snapshots", ["Name", "Status", "Size (GB)", "Created"],
      rows(items, (s) => [s.name, statusBadge(s.status), s.size_gb, when(s.created)]))),
    listed(() => all(`${on}/backups`), (items) => table("Backups", ["Name", "Status", "Size (GB)", "Created"],
      rows(items, (b) => [b.name, statusBadge(b.status), b.size_gb, when(b.created)]))),
    listed(() => all(`${ctx.base}/volumes?page_size=100`), (items) => table("Volumes", ["Name", "Status", "Size (GB)", "Device"],
      rows(items.filter((v) => v.instance_id === instance.id), (v) => [v.name, statusBadge(v.status), v.size_gb, v.device ?? "—"]))),
    listed(() => all(`${on}/ips`), (items) => table("IP addresses", ["Address", "Version", "Primary", "Reverse DNS", "Status"],
      rows(items, (ip) => [`${ip.address}/${ip.prefix_length}`, `IPv${ip.version}`, ip.is_primary ? "yes" : "no", ip.ptr || "—", ip.status]))),
    listed(() => api(`${on}/firewall`), (fw) => h("div", {},
      h("p", {}, fw.enabled ? `On; anything else: ${fw.default_action}.` : "Off: all traffic passes."),
      table("Firewall rules", ["Priority", "Direction", "Action", "Protocol", "Source", "Destination", "Ports"],
        rows(fw.rules, (r) => [r.priority, r.direction, r.action, r.protocol, r.source_address ?? "any",
          r.destination_address ?? "any", r.destination_ports ? `${r.destination_ports.start}${r.destination_ports.end ? "–" + r.destination_ports.end : ""}` : "any"])))),
  ]);
  const [tasks, snapshots, backups, volumes, ips, firewall] = sections;
  ctx.mount(h("article", { class: "instance", dataset: { id: instance.id } },
    h("h1", {}, instance.name),
    facts(instance),
    actions(instance, ctx, sizes, images),
    section("Tasks", "tasks", tasks),
    section("Snapshots", "snapshots", snapshots),
    section("Backups", "backups", backups),
    section("Volumes", "volumes", volumes),
    section("IP addresses", "ips", ips),
    section("Firewall", "firewall", firewall),
    section("Installed software", "software", instance.software.length
      ? h("ul", {}, instance.software.map((name) => h("li", {}, name))) : h("p", {}, "None."))));

  const showState = (current) => {
    document.getElementById("instance-status")?.replaceChildren(statusBadge(current.status));
    const power = document.getElementById("instance-power");
    if (power) power.textContent = current.power_state;
  };
  const taskSection = document.getElementById("tasks");
  return streamEvents(`${ctx.base}/events?instance_id=${instance.id}`, (type, event) => {
    if (type === "instance.status_changed") showState(event.data);
    else if (type.startsWith("task.")) showTaskRows([event.data], ctx, taskSection);
  }, {
    resync: async () => {
      const [fresh, tasks] = await Promise.all([api(on), readTasks()]);
      return () => { showState(fresh); showTaskRows(tasks, ctx, taskSection); };
    },
  });
}
