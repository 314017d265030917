// Signing in: with a token, or through an `oidc` auth mount listed before sign-in; and, while
// the server is sealed, entering unseal key shares.

import { api } from "./api.js";
import { announce, el, errorBox, main } from "./dom.js";
import { rerender, signIn } from "./session.js";

const OIDC_KEY = "awsbroker.oidc";
export const CALLBACK_PATH = "/ui/oidc/callback";

export function renderSignIn() {
  const tokenInput = el("input", {
    id: "token", name: "token", type: "password", autocomplete: "off", required: true,
    spellcheck: "false",
  });
  const problem = el("div");
  const form = el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      problem.replaceChildren();
      try {
        await signIn(tokenInput.value.trim());
      } catch (error) {
        problem.replaceChildren(errorBox(error.status === 403
          ? new Error("That token is not valid (it may have expired or been revoked).") : error));
      }
    },
  },
  el("label", { for: "token" }, "Token"),
  tokenInput,
  el("div", { class: "row" }, el("button", { type: "submit" }, "Sign in with a token")),
  problem);
  const oidc = el("section", { "aria-labelledby": "oidc-heading", hidden: true },
    el("h2", { id: "oidc-heading" }, "Or sign in with your organisation"));
  const seal = el("section", { "aria-labelledby": "seal-heading", hidden: true });
  main().replaceChildren(el("h1", {}, "Sign in"), seal, form, oidc);
  loadSealStatus(seal);
  loadOidcMounts(oidc);
}

async function loadSealStatus(section) {
  let status;
  try {
    status = await api("GET", "sys/seal-status");
  } catch {
    return;
  }
  if (!status.initialized) {
    section.hidden = false;
    section.replaceChildren(el("h2", { id: "seal-heading" }, "Not initialized"),
      el("p", {}, "Initialize the server first: awsbroker operator init."));
    return;
  }
  if (!status.sealed) return;
  section.hidden = false;
  const key = el("input", { id: "unseal-key", type: "password", autocomplete: "off", required: true });
  const problem = el("div");
  const progress = el("p", { id: "unseal-progress" },
    `The server is sealed: ${status.progress} of ${status.t} key shares entered.`);
  section.replaceChildren(el("h2", { id: "seal-heading" }, "Sealed"), progress,
    el("form", {
      onsubmit: async (event) => {
        event.preventDefault();
        problem.replaceChildren();
        try {
          const after = await api("PUT", "sys/unseal", { key: key.value.trim() });
          key.value = "";
          if (after.sealed) {
            progress.textContent = `The server is sealed: ${after.progress} of ${after.t} key shares entered.`;
          } else {
            announce("The server is unsealed");
            rerender();
          }
        } catch (error) {
          key.value = "";
          problem.replaceChildren(errorBox(error));
        }
      },
    },
    el("label", { for: "unseal-key" }, "Unseal key share"), key,
    el("div", { class: "row" }, el("button", { type: "submit" }, "Unseal")), problem));
}

async function loadOidcMounts(section) {
  let mounts;
  try {
    mounts = (await api("GET", "sys/internal/ui/mounts")).data.auth || {};
  } catch {
    return;
  }
  const oidc = Object.entries(mounts).filter(([, m]) => m.type === "oidc");
  if (!oidc.length) return;
  section.hidden = false;
  for (const [path, mount] of oidc) {
    const mountPath = path.replace(/\/$/, "");
    const role = el("input", { id: `oidc-role-${mountPath}`, autocomplete: "off" });
    const problem = el("div");
    section.append(el("form", {
      class: "card",
      onsubmit: (event) => {
        event.preventDefault();
        startOidc(mountPath, role.value.trim()).catch((e) => problem.replaceChildren(errorBox(e)));
      },
    },
    el("h3", {}, mount.description || `OIDC (${mountPath})`),
    el("label", { for: `oidc-role-${mountPath}` }, "Role (optional)"), role,
    el("div", { class: "row" }, el("button", { type: "submit" }, `Sign in with ${mountPath}`)),
    problem));
  }
}

function randomHex(bytes) {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0")).join("");
}

async function startOidc(mount, role) {
  const nonce = randomHex(16);
  const answer = await api("POST", `auth/${mount}/oidc/auth_url`, {
    role, redirect_uri: location.origin + CALLBACK_PATH, client_nonce: nonce,
  });
  const url = answer.data.auth_url;
  if (!url) throw new Error("The server gave no sign-in address: is the role's redirect URI allowed?");
  sessionStorage.setItem(OIDC_KEY, JSON.stringify({ mount, nonce }));
  location.assign(url);
}

export async function finishOidc() {
  const query = new URLSearchParams(location.search);
  // The code and state leave the address bar at once (no token ever goes there).
  history.replaceState(null, "", "/ui/");
  const pending = JSON.parse(sessionStorage.getItem(OIDC_KEY) || "null");
  sessionStorage.removeItem(OIDC_KEY);
  if (!pending) throw new Error("No sign-in was started from this tab.");
  if (query.get("error")) throw new Error(`The provider refused: ${query.get("error_description") || query.get("error")}`);
  const params = new URLSearchParams({
    state: query.get("state") || "", code: query.get("code") || "", client_nonce: pending.nonce,
  });
  const answer = await api("GET", `auth/${pending.mount}/oidc/callback?${params}`);
  await signIn(answer.auth.client_token);
}

