import { h, mount } from "../dom.js";

export function notFoundView(what = "page") {
  document.title = "Not found · nuage";
  mount(h("section", { class: "not-found", "data-page": "404" },
    h("h1", {}, "404 — not found"),
    h("p", {}, `This ${what} does not exist, or you cannot see it.`),
    h("p", {}, h("a", { href: "#/" }, "Back to your instances"))));
}
