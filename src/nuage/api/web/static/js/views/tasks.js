// Tasks: the project's list and a task's page, both kept current by the event stream (no
// reload, no polling): every task event carries the task as the API shows it.

import { all, api } from "../api.js";
import { flash, h, statusBadge, table, upsertRows, when } from "../dom.js";
import { streamEvents } from "../sse.js";

const TERMINAL = new Set(["completed", "failed", "cancelled"]);

function taskRow(task, ctx) {
  return h("tr", { id: `task-${task.id}`, dataset: { id: task.id, type: task.task_type } },
    h("th", { scope: "row" }, h("a", { href: ctx.hash(`tasks/${task.id}`) }, task.task_type)),
    h("td", {}, h("a", { href: ctx.hash(`instances/${task.instance_id}`) }, task.instance.name)),
    h("td", { class: "status" }, statusBadge(task.status)),
    h("td", {}, h("progress", { max: 100, value: task.progress, "aria-label": "Progress" }),
      ` ${task.progress}%`),
    h("td", { class: "error-code" }, task.error ? task.error.code : ""),
    h("td", {}, when(task.created)));
}

export function tasksTable(tasks, ctx, caption = "Tasks") {
  return table(caption, ["Task", "Instance", "Status", "Progress", "Error", "Created"],
    tasks.map((task) => taskRow(task, ctx)));
}

// Put each of `tasks` (newest first, as the API lists them) in `container`'s table.
export function showTaskRows(tasks, ctx, container) {
  upsertRows(tasks.map((task) => taskRow(task, ctx)), container.querySelector("tbody"));
}

export async function tasksView(ctx) {
  ctx.title("Tasks · nuage");
  const read = async () => (await api(`${ctx.base}/tasks?page_size=50`)).results;
  const section = h("section", { "aria-labelledby": "tasks-title" },
    h("h1", { id: "tasks-title" }, "Tasks"), tasksTable(await read(), ctx));
  ctx.mount(section);
  return streamEvents(`${ctx.base}/events`, (type, event) => {
    if (type.startsWith("task.")) showTaskRows([event.data], ctx, section);
  }, {
    resync: async () => {
      const tasks = await read();
      return () => showTaskRows(tasks, ctx, section);
    },
  });
}

function errorBlock(error) {
  if (!error) return null;
  return h("div", { class: "task-error", role: "alert" },
    h("h2", {}, "Error"),
    h("dl", {},
      h("dt", {}, "Code"), h("dd", { id: "error-code" }, error.code),
      h("dt", {}, "Message"), h("dd", { id: "error-message" }, error.message),
      h("dt", {}, "Retryable"), h("dd", { id: "error-retryable" }, error.retryable ? "yes" : "no")));
}

export async function taskView(ctx) {
  const path = `${ctx.base}/tasks/${ctx.id}`;
  let task;
  try { task = await api(path); } catch (error) {
    if (error.status === 404 || error.status === 400) {
      const { notFoundView } = await import("./notfound.js");
      return notFoundView("task", ctx);
    }
    throw error;
  }
  ctx.title(`${task.task_type} · nuage`);

  let rendering = 0;
  async function render(current) {
    const call = ++rendering;
    const steps = await all(`${path}/events?page_size=100`);
    if (call !== rendering) return; // a later state is being shown (renders read concurrently)
    const act = (verb) => async () => {
      try {
        const next = await api(`${path}/${verb}`, { method: "POST" });
        flash(`Task ${verb === "retry" ? "retried" : "cancel requested"}.`);
        if (verb === "retry") location.hash = ctx.hash(`tasks/${next.id}`);
        else await render(next);
      } catch (error) { flash(error.message, "error"); }
    };
    ctx.mount(h("section", { class: "task", "aria-labelledby": "task-title", dataset: { status: current.status } },
      h("h1", { id: "task-title" }, `${current.task_type} `, statusBadge(current.status)),
      h("p", {}, "Instance ", h("a", { href: ctx.hash(`instances/${current.instance_id}`) },
        current.instance.name), ` · created ${when(current.created)} · retries ${current.retry_count}/${current.max_retries}`),
      h("p", {}, h("label", { for: "task-progress" }, "Progress "),
        h("progress", { id: "task-progress", max: 100, value: current.progress }), ` ${current.progress}%`),
      errorBlock(current.error),
      h("div", { class: "actions" },
        !TERMINAL.has(current.status) && !current.cancel_requested
          ? h("button", { type: "button", id: "cancel-task", onclick: act("cancel") }, "Cancel task") : null,
        ["failed", "cancelled"].includes(current.status)
          ? h("button", { type: "button", id: "retry-task", onclick: act("retry") }, "Retry task") : null),
      table("Step log", ["Time", "Attempt", "Step", "Message", "Progress"], steps.map((step) =>
        h("tr", { class: `level-${step.level}` }, h("td", {}, when(step.created)),
          h("td", {}, step.attempt), h("th", { scope: "row" }, step.step), h("td", {}, step.message),
          h("td", {}, step.progress ?? ""))))));
  }

  await render(task);
  return streamEvents(`${ctx.base}/events?instance_id=${task.instance_id}`, (type, event) => {
    if (type.startsWith("task.") && event.data.id === ctx.id) render(event.data);
  }, {
    resync: async () => {
      const fresh = await api(path);
      return () => render(fresh);
    },
  });
}
