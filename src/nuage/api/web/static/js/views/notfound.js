import { h, mount } from "../dom.js";

// `show`: the view's own mount (ctx.mount), which shows nothing once the view was left.
export function notFoundView(what = "page", show = mount) {
  document.title = "Not found · nuage";
  show(h("section", { class: "not-found", "data-page": "404" },
    h("h1", {}, "404 — not found"),
    h("p", {}, `This ${what} does not exist, or you cannot see it.`),
    h("p", {}, h("a", { href: "#/" }, "Back to your instances"))));
}
