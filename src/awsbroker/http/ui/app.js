// The awsbroker web console: plain ES modules, no build step, no third-party code. This one
// draws the frame (sections, who is signed in) and starts the page; each section is its own
// module. Talks to the server's own /v1/ API with the token in the X-Vault-Token header; the
// token lives in sessionStorage (this tab only), never in a cookie or URL.

import { renderAWS } from "./aws.js";
import { renderCredentials } from "./credentials.js";
import { duration, el, errorBox, main } from "./dom.js";
import { renderLeases } from "./leases.js";
import { renderMounts } from "./mounts.js";
import { renderOperator } from "./operator.js";
import {
  forgetToken, onRender, revokeAndSignOut, savedToken, signIn, signOut, state,
} from "./session.js";
import { CALLBACK_PATH, finishOidc, renderSignIn } from "./signin.js";

// [id, label, drawn by, operators only]
const VIEWS = [
  ["credentials", "My credentials", renderCredentials, false],
  ["leases", "Leases", renderLeases, false],
  ["operator", "Operator", renderOperator, true],
  ["mounts", "Mounts", renderMounts, true],
  ["aws", "AWS engine", renderAWS, true],
];

function render() {
  const nav = document.getElementById("nav");
  const session = document.getElementById("session");
  if (!state.token) {
    nav.hidden = true;
    session.hidden = true;
    nav.replaceChildren();
    session.replaceChildren();
    renderSignIn();
    return;
  }
  nav.hidden = false;
  const views = VIEWS.filter(([, , , operatorOnly]) => !operatorOnly || state.operator);
  if (!views.some(([id]) => id === state.view)) state.view = "credentials";
  nav.replaceChildren(...views.map(([id, label]) => el("button", {
    type: "button", "aria-current": state.view === id ? "page" : null,
    onclick: () => { state.view = id; render(); main().focus(); },
  }, label)));
  session.hidden = false;
  const who = state.self.display_name || "token";
  session.replaceChildren(
    el("span", {}, "Signed in as ", el("strong", {}, who), " · token expires in ",
      el("span", { id: "token-left", class: "countdown" },
        state.expiresAt ? duration((state.expiresAt - Date.now()) / 1000) : "never")),
    el("button", { type: "button", onclick: () => signOut("Signed out.") }, "Sign out"),
    el("button", { type: "button", class: "danger", onclick: revokeAndSignOut },
      "Sign out and revoke token"),
  );
  state.countdowns = [];
  views.find(([id]) => id === state.view)[2]();
}

async function start() {
  onRender(render);
  if (location.pathname === CALLBACK_PATH) {
    try {
      await finishOidc();
      return;
    } catch (error) {
      render();
      main().prepend(errorBox(error));
      return;
    }
  }
  const saved = savedToken();
  if (saved) {
    try {
      await signIn(saved);
      return;
    } catch {
      forgetToken();
    }
  }
  render();
}

start();
