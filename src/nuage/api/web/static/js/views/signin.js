import { signIn } from "../api.js";
import { flash, h, mount } from "../dom.js";

export function signInView({ next, onSignedIn }) {
  document.title = "Sign in · nuage";
  const email = h("input", { id: "email", type: "email", autocomplete: "username", required: true });
  const password = h("input", {
    id: "password", type: "password", autocomplete: "current-password", required: true,
  });
  const form = h("form", { class: "card signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in to nuage"),
    h("label", { for: "email" }, "Email"), email,
    h("label", { for: "password" }, "Password"), password,
    h("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await signIn(email.value, password.value);
      await onSignedIn(next);
    } catch (error) {
      flash(error.message, "error");
      password.select();
    }
  });
  mount(form);
  email.focus();
}
