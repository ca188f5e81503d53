// A classic script, run before the console's module: when a module of the console could not be
// fetched (a network change aborts the requests in flight, net::ERR_NETWORK_CHANGED), the page
// loads again, at most three times, rather than staying on "Loading…"; then it says so. A module
// graph that failed once fails again in the same page, so loading again is the way to retry. The
// count rides in the history entry's state, which a reload keeps; main.js clears it once it runs,
// and calls `nuageLoadFailed` when a module it imports later (noVNC's) could not be fetched.

window.nuageLoadFailed = () => {
  const tried = history.state?.bootTries ?? 0;
  if (tried >= 3) {
    document.getElementById("main").textContent =
      "The console could not be loaded. Check the connection and reload the page.";
    return;
  }
  history.replaceState({ ...history.state, bootTries: tried + 1 }, "");
  setTimeout(() => location.reload(), 500 * (tried + 1));
};

window.addEventListener("error", (event) => {
  const script = event.target;
  if (script instanceof HTMLScriptElement && script.type === "module") window.nuageLoadFailed();
}, true); // an error event does not bubble: it is seen on the way down
