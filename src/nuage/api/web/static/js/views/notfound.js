import { h, mount } from "../dom.js";

// `ctx`: the view's, whose mount and title change nothing once the view was left.
export function notFoundView(what = "page", ctx = null) {
  if (ctx) ctx.title("Not found · nuage");
  else document.title = "Not found · nuage";
  (ctx?.mount ?? mount)(h("section", { class: "not-found", "data-page": "404" },
    h("h1", {}, "404 — not found"),
    h("p", {}, `This ${what} does not exist, or you cannot see it.`),
    h("p", {}, h("a", { href: "#/" }, "Back to your instances"))));
}
