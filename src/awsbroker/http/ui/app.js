// The awsbroker web console: plain ES module, no build step, no third-party code.
// Talks to the server's own /v1/ API with the token in the X-Vault-Token header. The token
// lives in sessionStorage (this tab only; gone when the tab closes), never in a cookie or URL.

const TOKEN_KEY = "awsbroker.token";
const OIDC_KEY = "awsbroker.oidc";
const IDLE_KEY = "awsbroker.idle-seconds"; // an override of the idle sign-out, for tests
const DEFAULT_IDLE_SECONDS = 15 * 60;
const CALLBACK_PATH = "/ui/oidc/callback";

const state = {
  token: null, // the signed-in token, or null
  self: null, // auth/token/lookup-self's data
  expiresAt: 0, // ms since epoch; 0 for a token that never expires
  lastActivity: Date.now(),
  renewing: false,
  timer: null,
  view: "credentials",
  operator: false, // whether the token has sudo on sys/leases
  countdowns: [], // {node, expiresAt, onExpired}
};

// ---- small helpers ------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const main = () => document.getElementById("main");

function announce(message) {
  const status = document.getElementById("status");
  status.textContent = "";
  setTimeout(() => { status.textContent = message; }, 30);
  setTimeout(() => { if (status.textContent === message) status.textContent = ""; }, 4000);
}

function duration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n) => String(n).padStart(2, "0");
  if (h >= 48) return `${Math.floor(h / 24)}d ${h % 24}h ${pad(m)}m`;
  return h > 0 ? `${h}h ${pad(m)}m ${pad(s)}s` : `${m}m ${pad(s)}s`;
}

class APIError extends Error {
  constructor(status, errors) {
    super(errors.join("; ") || `the server answered ${status}`);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = {};
  if (state.token) headers["X-Vault-Token"] = state.token;
  const init = { method, headers, credentials: "omit", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`/v1/${path}`, init);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new APIError(response.status, (data && data.errors) || []);
  return data;
}

function errorBox(error) {
  return el("p", { class: "error", role: "alert" }, error.message || String(error));
}

function copyButton(label, textOf) {
  return el("button", {
    type: "button", class: "secondary",
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(textOf());
        announce(`${label} copied to the clipboard`);
      } catch (error) {
        announce(`Could not copy: ${error.message}`);
      }
    },
  }, `Copy ${label}`);
}

// ---- session ------------------------------------------------------------------------------

function idleSeconds() {
  const override = Number(sessionStorage.getItem(IDLE_KEY));
  return override > 0 ? override : DEFAULT_IDLE_SECONDS;
}

async function signIn(token) {
  state.token = token;
  const self = (await api("GET", "auth/token/lookup-self")).data;
  sessionStorage.setItem(TOKEN_KEY, token);
  adopt(self);
  try {
    const caps = await capabilities(["sys/leases/lookup/", "sys/policies/acl"]);
    state.operator = caps["sys/leases/lookup/"].some((c) => c === "root" || c === "sudo")
      || caps["sys/policies/acl"].includes("list");
  } catch {
    state.operator = false;
  }
  state.lastActivity = Date.now();
  startTicking();
  render();
}

function adopt(self) {
  state.self = self;
  state.expiresAt = self.ttl > 0 ? Date.now() + self.ttl * 1000 : 0;
}

function signOut(reason) {
  // Every secret on display goes with the page's content; nothing is revoked unless asked.
  state.token = null;
  state.self = null;
  state.operator = false;
  state.countdowns = [];
  sessionStorage.removeItem(TOKEN_KEY);
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
  main().replaceChildren();
  render();
  if (reason) {
    main().prepend(el("p", { class: "error", role: "alert" }, reason));
  }
}

async function revokeAndSignOut() {
  try {
    await api("POST", "auth/token/revoke-self");
  } catch (error) {
    announce(`Revoking the token failed: ${error.message}`);
  }
  signOut("Signed out; the token was revoked.");
}

function startTicking() {
  if (state.timer) clearInterval(state.timer);
  state.timer = setInterval(tick, 1000);
}

function tick() {
  if (!state.token) return;
  const now = Date.now();
  if (now - state.lastActivity > idleSeconds() * 1000) {
    signOut("You were signed out after a time without activity.");
    return;
  }
  if (state.expiresAt && now >= state.expiresAt) {
    signOut("Your token expired: sign in again.");
    return;
  }
  maybeRenew(now);
  const left = document.getElementById("token-left");
  if (left) left.textContent = state.expiresAt ? duration((state.expiresAt - now) / 1000) : "never";
  for (const c of state.countdowns) {
    const seconds = (c.expiresAt - now) / 1000;
    c.node.textContent = duration(seconds);
    if (seconds <= 0 && c.onExpired) { const f = c.onExpired; c.onExpired = null; f(); }
  }
  state.countdowns = state.countdowns.filter((c) => c.node.isConnected);
}

function maybeRenew(now) {
  const self = state.self;
  if (!self || !self.renewable || !state.expiresAt || state.renewing) return;
  const full = self.creation_ttl || self.ttl;
  const left = (state.expiresAt - now) / 1000;
  // Renew when half the lifetime is spent, if the person is still here.
  if (left > full / 2 || now - state.lastActivity > idleSeconds() * 1000) return;
  state.renewing = true;
  api("POST", "auth/token/renew-self", {})
    .then(() => api("GET", "auth/token/lookup-self"))
    .then((answer) => { adopt(answer.data); })
    .catch((error) => { announce(`Renewing the token failed: ${error.message}`); })
    .finally(() => { state.renewing = false; });
}

for (const event of ["pointerdown", "keydown", "mousemove", "touchstart", "scroll"]) {
  addEventListener(event, () => { state.lastActivity = Date.now(); }, { passive: true });
}

// ---- the frame ----------------------------------------------------------------------------

const VIEWS = [
  ["credentials", "My credentials"],
  ["leases", "Leases"],
  ["operator", "Operator"],
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
  const views = VIEWS.filter(([id]) => id !== "operator" || state.operator);
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
  if (state.view === "leases") renderLeases();
  else if (state.view === "operator") renderOperator();
  else renderCredentials();
}

// ---- sign in ------------------------------------------------------------------------------

function renderSignIn() {
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
        state.token = null;
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
            render();
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

async function finishOidc() {
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

// ---- my credentials -----------------------------------------------------------------------

async function capabilities(paths) {
  const answer = await api("POST", "sys/capabilities-self", { paths });
  return answer.data;
}

const usable = (caps) => (caps || []).some((c) => ["read", "update", "root"].includes(c));

async function rolesOf(mount, acl) {
  // Everything the token could list, else the role names its policies spell out.
  try {
    return (await api("LIST", `${mount}roles`)).data.keys;
  } catch {
    const names = new Set();
    const re = new RegExp(`^${mount.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?:creds|sts|roles)/([\\w.@-]+)$`);
    for (const path of Object.keys(acl.exact_paths || {})) {
      const match = path.match(re);
      if (match) names.add(match[1]);
    }
    return [...names].sort();
  }
}

async function renderCredentials() {
  const root = el("div");
  main().replaceChildren(el("h1", {}, "My credentials"), root);
  root.append(el("p", { class: "muted" }, "Loading the roles you may use…"));
  try {
    const acl = (await api("GET", "sys/internal/ui/resultant-acl")).data;
    const mounts = (await api("GET", "sys/internal/ui/mounts")).data.secret || {};
    const awsMounts = Object.keys(mounts).filter((p) => mounts[p].type === "aws").sort();
    const sections = [];
    for (const mount of awsMounts) {
      const names = await rolesOf(mount, acl);
      if (!names.length) continue;
      const paths = names.flatMap((n) => [`${mount}creds/${n}`, `${mount}sts/${n}`, `${mount}roles/${n}`, `${mount}console/${n}`]);
      const caps = await capabilities(paths);
      const cards = [];
      for (const name of names) {
        if (!usable(caps[`${mount}creds/${name}`]) && !usable(caps[`${mount}sts/${name}`])) continue;
        let role = null;
        if (usable(caps[`${mount}roles/${name}`])) {
          try { role = (await api("GET", `${mount}roles/${name}`)).data; } catch { role = null; }
        }
        cards.push(roleCard(mount, name, role, usable(caps[`${mount}sts/${name}`]), usable(caps[`${mount}console/${name}`])));
      }
      if (cards.length) {
        sections.push(el("section", { "aria-labelledby": `mount-${mount}` },
          el("h2", { id: `mount-${mount}` }, `Mount ${mount}`), el("div", { class: "cards" }, cards)));
      }
    }
    root.replaceChildren(...(sections.length ? sections
      : [el("p", {}, "Your token may not get credentials from any role.")]));
  } catch (error) {
    root.replaceChildren(errorBox(error));
  }
}

function roleCard(mount, name, role, stsAllowed, consoleAllowed) {
  const id = `${mount}${name}`.replace(/[^\w-]/g, "-");
  const types = role ? String(role.credential_type || "").split(",").filter(Boolean) : [];
  const sts = types.some((t) => t !== "iam_user");
  const details = role ? el("dl", {},
    el("dt", {}, "Type"), el("dd", {}, types.join(", ") || "unknown"),
    sts ? [el("dt", {}, "Default TTL"), el("dd", {}, role.default_sts_ttl ? duration(role.default_sts_ttl) : "1h (engine default)"),
      el("dt", {}, "Longest TTL"), el("dd", {}, role.max_sts_ttl ? duration(role.max_sts_ttl) : "the mount's maximum")] : null,
    (role.role_arns || []).length ? [el("dt", {}, "Roles"), el("dd", {}, role.role_arns.join(", "))] : null,
  ) : el("p", { class: "muted" }, "You may get credentials; the role's settings are not shown to you.");
  const fields = [];
  const ttl = el("input", { id: `${id}-ttl`, placeholder: "e.g. 15m, 1h", autocomplete: "off" });
  if (!role || sts) fields.push(el("div", {}, el("label", { for: `${id}-ttl` }, "TTL (STS types)"), ttl));
  let roleArn = null;
  if (role && (role.role_arns || []).length > 1) {
    roleArn = el("select", { id: `${id}-arn` }, role.role_arns.map((arn) => el("option", { value: arn }, arn)));
    fields.push(el("div", {}, el("label", { for: `${id}-arn` }, "AWS role"), roleArn));
  }
  let mfa = null;
  if (role && role.mfa_serial_number) {
    mfa = el("input", { id: `${id}-mfa`, inputmode: "numeric", autocomplete: "one-time-code" });
    fields.push(el("div", {}, el("label", { for: `${id}-mfa` }, "MFA code"), mfa));
  }
  const output = el("div", { class: "issued" });
  const button = el("button", { type: "submit" }, "Get credentials");
  const form = el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      const body = {};
      if (ttl.value.trim() && (!role || sts)) body.ttl = ttl.value.trim();
      if (roleArn) body.role_arn = roleArn.value;
      if (mfa && mfa.value.trim()) body.mfa_code = mfa.value.trim();
      button.disabled = true;
      output.replaceChildren(el("p", { class: "muted" }, "Asking AWS…"));
      try {
        // STS types on sts/ when the token may use it (Vault's two paths), else creds/.
        const endpoint = (role ? sts : true) && stsAllowed ? "sts" : "creds";
        const answer = await api("POST", `${mount}${endpoint}/${name}`, body);
        output.replaceChildren(issued(name, answer));
        output.querySelector("button")?.focus();
        announce(`Credentials for ${name} issued`);
      } catch (error) {
        output.replaceChildren(errorBox(error));
      } finally {
        button.disabled = false;
      }
    },
  }, el("div", { class: "row" }, fields), el("div", { class: "row" }, button,
    consoleButton(mount, name, role, consoleAllowed, () => ttl.value.trim(), () => roleArn?.value, output)));
  return el("article", { class: "card", "aria-labelledby": `${id}-title` },
    el("h3", { id: `${id}-title` }, name), details, form, output);
}

// Console sign-in (issue 19): for assumed_role and federation_token roles the token may use
// console/ on, a button that asks the broker for a sign-in URL and shows it as a link (opened
// by the person's click, in a new tab without an opener or referrer). Whoever has the link can
// sign in with it for 15 minutes, so it is shown only in this card and cleared with the page.
function consoleButton(mount, name, role, allowed, ttlOf, arnOf, output) {
  const types = role ? String(role.credential_type || "").split(",") : [];
  if (!allowed || (role && !types.some((t) => t === "assumed_role" || t === "federation_token"))) return null;
  const button = el("button", { type: "button", class: "secondary" }, "Open AWS console");
  button.addEventListener("click", async () => {
    const body = {};
    if (ttlOf()) body.ttl = ttlOf();
    if (arnOf()) body.role_arn = arnOf();
    button.disabled = true;
    output.replaceChildren(el("p", { class: "muted" }, "Asking AWS for a sign-in link…"));
    try {
      const answer = await api("POST", `${mount}console/${name}`, body);
      if (!/^https?:\/\//.test(String(answer.data.url))) throw new Error("The broker answered without a sign-in link.");
      const link = el("a", {
        href: answer.data.url, target: "_blank", rel: "noopener noreferrer", class: "console-link",
      }, `Open the AWS console as ${name}`);
      output.replaceChildren(el("section", { class: "credentials", "aria-label": `Console sign-in for ${name}` },
        el("p", {}, link),
        el("p", { class: "muted" }, `The link works for 15 minutes; the console session lasts ${duration(answer.lease_duration)}.`),
        answer.lease_id ? el("p", { class: "muted" }, "Lease ", el("code", {}, answer.lease_id)) : null));
      link.focus();
      announce(`Console sign-in link for ${name} ready`);
    } catch (error) {
      output.replaceChildren(errorBox(error));
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function issued(name, answer) {
  const data = answer.data;
  const expiresAt = Date.now() + (answer.lease_duration || 0) * 1000;
  const expiration = new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z");
  const token = data.security_token || data.session_token || "";
  const profile = name.replace(/[^\w.@-]/g, "-");
  const exportText = [
    `export AWS_ACCESS_KEY_ID=${data.access_key}`,
    `export AWS_SECRET_ACCESS_KEY=${data.secret_key}`,
    token ? `export AWS_SESSION_TOKEN=${token}` : "unset AWS_SESSION_TOKEN",
  ].join("\n");
  const profileText = [
    `[${profile}]`,
    `aws_access_key_id = ${data.access_key}`,
    `aws_secret_access_key = ${data.secret_key}`,
    token ? `aws_session_token = ${token}` : null,
  ].filter(Boolean).join("\n");
  const processObject = { Version: 1, AccessKeyId: data.access_key, SecretAccessKey: data.secret_key };
  if (token) processObject.SessionToken = token;
  if (answer.lease_duration) processObject.Expiration = expiration;
  const processText = JSON.stringify(processObject, null, 2);
  const countdown = el("span", { class: "countdown" }, duration(answer.lease_duration));
  const block = el("section", { class: "credentials", "aria-label": `Credentials for ${name}` });
  if (answer.lease_duration) {
    state.countdowns.push({
      node: countdown, expiresAt,
      onExpired: () => block.replaceChildren(el("p", { class: "error" }, "These credentials have expired.")),
    });
  }
  block.append(
    el("p", {}, answer.lease_duration ? ["Expires in ", countdown, ` (at ${expiration})`] : "Valid until revoked."),
    answer.lease_id ? el("p", { class: "muted" }, "Lease ", el("code", {}, answer.lease_id)) : null,
    el("h4", {}, "Shell"), el("pre", { "data-format": "export" }, exportText),
    copyButton("export lines", () => exportText),
    el("h4", {}, "~/.aws/credentials"), el("pre", { "data-format": "profile" }, profileText),
    copyButton("profile", () => profileText),
    el("h4", {}, "credential_process"), el("pre", { "data-format": "process" }, processText),
    copyButton("JSON", () => processText),
  );
  return block;
}

// ---- leases -------------------------------------------------------------------------------

function leaseActions(leaseId, revokePath, after) {
  return el("span", { class: "row" },
    el("button", {
      type: "button", class: "secondary", "aria-label": `Renew ${leaseId}`,
      onclick: async () => {
        try {
          const answer = await api("POST", "sys/leases/renew", { lease_id: leaseId });
          announce(`Renewed: ${duration(answer.lease_duration)} left`);
          after();
        } catch (error) { announce(`Renew failed: ${error.message}`); }
      },
    }, "Renew"),
    el("button", {
      type: "button", class: "danger", "aria-label": `Revoke ${leaseId}`,
      onclick: async () => {
        try {
          await api("POST", revokePath, { lease_id: leaseId });
          announce("Lease revoked");
          after();
        } catch (error) { announce(`Revoke failed: ${error.message}`); }
      },
    }, "Revoke"));
}

async function renderLeases() {
  const mine = el("div");
  main().replaceChildren(el("h1", {}, "Leases"),
    el("section", { "aria-labelledby": "mine-heading" },
      el("h2", { id: "mine-heading" }, "Leases of this token"), mine));
  const load = async () => {
    try {
      const leases = (await api("GET", "sys/leases/self")).data.leases;
      if (!leases.length) {
        mine.replaceChildren(el("p", {}, "This token holds no leases."));
        return;
      }
      const rows = leases.map((lease) => {
        const left = el("span", { class: "countdown" }, duration(lease.ttl));
        state.countdowns.push({ node: left, expiresAt: Date.now() + lease.ttl * 1000 });
        return el("tr", {},
          el("td", {}, el("code", {}, lease.lease_id)),
          el("td", {}, left),
          el("td", {}, leaseActions(lease.lease_id, "sys/leases/self/revoke", load)));
      });
      mine.replaceChildren(el("div", { class: "table-wrap" }, el("table", {},
        el("caption", { class: "muted" }, `${leases.length} lease(s)`),
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Lease"),
          el("th", { scope: "col" }, "Expires in"), el("th", { scope: "col" }, "Actions"))),
        el("tbody", {}, rows))));
    } catch (error) {
      mine.replaceChildren(errorBox(error));
    }
  };
  await load();
}

// ---- operator -----------------------------------------------------------------------------

async function renderOperator() {
  const browse = el("div");
  const irrevocable = el("div");
  const seal = el("div");
  const policies = el("div");
  const nodes = el("div");
  const mounts = el("div");
  const roles = el("div");
  const audit = el("div");
  const section = (id, title, box) => el("section", { "aria-labelledby": id }, el("h2", { id }, title), box);
  main().replaceChildren(el("h1", {}, "Operator"),
    section("seal-status-heading", "Seal status", seal),
    section("nodes-heading", "Nodes", nodes),
    section("mounts-heading", "Mounts", mounts),
    section("roles-heading", "AWS roles", roles),
    section("policies-heading", "Policies", policies),
    section("audit-heading", "Audit devices", audit),
    el("section", { "aria-labelledby": "all-heading" }, el("h2", { id: "all-heading" }, "All leases"), browse),
    el("section", { "aria-labelledby": "irr-heading" }, el("h2", { id: "irr-heading" }, "Irrevocable leases"), irrevocable));
  const prefix = el("input", { id: "lease-prefix", placeholder: "aws/creds/", autocomplete: "off" });
  const listing = el("div");
  const list = async () => {
    let p = prefix.value.trim().replace(/^\/+/, "");
    try {
      const keys = (await api("LIST", `sys/leases/lookup/${p}`)).data.keys;
      if (p && !p.endsWith("/")) p += "/";
      listing.replaceChildren(el("div", { class: "table-wrap" }, el("table", {},
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, `Under ${p || "/"}`), el("th", { scope: "col" }, "Actions"))),
        el("tbody", {}, keys.map((key) => el("tr", {},
          el("td", {}, key.endsWith("/")
            ? el("button", { type: "button", class: "secondary", onclick: () => { prefix.value = p + key; list(); } }, key)
            : el("code", {}, p + key)),
          el("td", {}, key.endsWith("/") ? "" : leaseActions(p + key, "sys/leases/revoke", list))))))));
    } catch (error) {
      listing.replaceChildren(error.status === 404 ? el("p", {}, "No leases under that prefix.") : errorBox(error));
    }
  };
  browse.append(el("form", { onsubmit: (e) => { e.preventDefault(); list(); } },
    el("label", { for: "lease-prefix" }, "Prefix (mount, then role: aws/creds/dev/)"), prefix,
    el("div", { class: "row" }, el("button", { type: "submit" }, "List"))), listing);
  renderSeal(seal);
  renderNodes(nodes);
  renderMounts(mounts, roles);
  renderPolicies(policies);
  renderAudit(audit);
  await list();
  try {
    const answer = (await api("GET", "sys/leases?type=irrevocable&limit=100")).data;
    irrevocable.replaceChildren(answer.leases.length
      ? el("div", { class: "table-wrap" }, el("table", {},
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Lease"), el("th", { scope: "col" }, "Last error"))),
        el("tbody", {}, answer.leases.map((l) => el("tr", {}, el("td", {}, el("code", {}, l.lease_id)), el("td", {}, l.error))))))
      : el("p", {}, "No irrevocable leases."));
  } catch (error) {
    irrevocable.replaceChildren(errorBox(error));
  }
}

async function renderSeal(box) {
  try {
    const status = await api("GET", "sys/seal-status");
    const confirm = el("button", {
      type: "button", class: "danger", hidden: true,
      onclick: async () => {
        try {
          await api("PUT", "sys/seal");
          signOut("The server is sealed: unseal it to sign in again.");
        } catch (error) { box.append(errorBox(error)); }
      },
    }, "Seal now");
    box.replaceChildren(el("dl", {},
      el("dt", {}, "Sealed"), el("dd", {}, status.sealed ? "yes" : "no"),
      el("dt", {}, "Key shares"), el("dd", {}, `${status.t} of ${status.n} needed`),
      el("dt", {}, "Storage"), el("dd", {}, status.storage_type || ""),
      el("dt", {}, "Cluster"), el("dd", {}, status.cluster_name || ""),
      el("dt", {}, "Version"), el("dd", {}, status.version || "")),
    el("div", { class: "row" },
      el("button", {
        type: "button", class: "secondary", "aria-expanded": "false",
        onclick: (event) => {
          confirm.hidden = !confirm.hidden;
          event.currentTarget.setAttribute("aria-expanded", String(!confirm.hidden));
          if (!confirm.hidden) confirm.focus();
        },
      }, "Seal the server…"), confirm));
  } catch (error) {
    box.replaceChildren(errorBox(error));
  }
}

function table(headers, rows) {
  return el("div", { class: "table-wrap" }, el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c)))))));
}

async function renderNodes(box) {
  try {
    const nodes = (await api("GET", "sys/ha-status")).data.nodes || [];
    const now = Date.now();
    box.replaceChildren(table(["Node", "Address", "Role", "Last seen", "Version"], nodes.map((n) => [
      n.hostname, n.api_address, n.active_node ? "active" : "standby",
      n.last_echo ? `${Math.max(0, Math.round((now - Date.parse(n.last_echo)) / 1000))}s ago` : "",
      n.version || ""])));
  } catch (error) {
    box.replaceChildren(errorBox(error));
  }
}

async function renderAudit(box) {
  try {
    const devices = (await api("GET", "sys/audit")).data || {};
    const rows = Object.entries(devices).map(([path, d]) => [path, d.type, d.description || "",
      Object.entries(d.options || {}).map(([k, v]) => `${k}=${v}`).join(", ")]);
    box.replaceChildren(rows.length ? table(["Path", "Type", "Description", "Options"], rows)
      : el("p", {}, "No audit device is enabled: requests are not audited."));
  } catch (error) {
    box.replaceChildren(errorBox(error));
  }
}

const ttlText = (seconds) => (seconds ? duration(seconds) : "system default");

async function renderMounts(box, rolesBox) {
  try {
    const secret = (await api("GET", "sys/mounts")).data;
    const auth = (await api("GET", "sys/auth")).data;
    const rows = [];
    for (const [kind, mounts] of [["secrets", secret], ["auth", auth]]) {
      for (const [path, m] of Object.entries(mounts).sort()) {
        rows.push([kind === "auth" ? `auth/${path}` : path, m.type, m.description || "",
          ttlText(m.config.default_lease_ttl), ttlText(m.config.max_lease_ttl),
          m.config.listing_visibility || ""]);
      }
    }
    box.replaceChildren(table(["Path", "Type", "Description", "Default TTL", "Max TTL", "Listed"], rows));
    const awsMounts = Object.keys(secret).filter((p) => secret[p].type === "aws").sort();
    rolesBox.replaceChildren(...awsMounts.map((mount) => roleEditor(mount)));
  } catch (error) {
    box.replaceChildren(errorBox(error));
    rolesBox.replaceChildren();
  }
}

const ROLE_FIELDS = [
  ["credential_type", "Credential type", "select", ["iam_user", "assumed_role", "federation_token", "session_token"]],
  ["role_arns", "AWS role ARNs (assumed_role; comma-separated)", "list"],
  ["policy_arns", "Managed policy ARNs (comma-separated)", "list"],
  ["iam_groups", "IAM groups (comma-separated)", "list"],
  ["policy_document", "Inline policy document (JSON)", "textarea"],
  ["default_sts_ttl", "Default STS TTL (e.g. 1h)", "text"],
  ["max_sts_ttl", "Longest STS TTL (e.g. 12h)", "text"],
  ["user_path", "IAM user path (iam_user)", "text"],
];

function roleEditor(mount) {
  const id = `roles-${mount}`.replace(/[^\w-]/g, "-");
  const list = el("div");
  const editor = el("div");
  const load = async () => {
    let names = [];
    try {
      names = (await api("LIST", `${mount}roles`)).data.keys;
    } catch (error) {
      if (error.status !== 404) { list.replaceChildren(errorBox(error)); return; }
    }
    list.replaceChildren(el("ul", { class: "plain" },
      names.map((name) => el("li", {}, el("button", { type: "button", class: "secondary",
        "aria-label": `Edit role ${name}`, onclick: () => edit(name) }, name))),
      el("li", {}, el("button", { type: "button", onclick: () => edit(null) }, "New role"))));
  };
  const edit = async (name) => {
    let role = {};
    if (name) {
      try { role = (await api("GET", `${mount}roles/${name}`)).data; } catch (error) {
        editor.replaceChildren(errorBox(error)); return;
      }
    }
    const inputs = {};
    const fields = ROLE_FIELDS.map(([key, label, kind, options]) => {
      const fid = `${id}-${key}`;
      let input;
      const value = role[key];
      if (kind === "select") {
        input = el("select", { id: fid }, options.map((o) => el("option", { value: o }, o)));
        input.value = String(value || "iam_user").split(",")[0];
      } else if (kind === "textarea") {
        input = el("textarea", { id: fid, rows: 6, spellcheck: "false" });
        input.value = value || "";
      } else {
        input = el("input", { id: fid, autocomplete: "off" });
        input.value = Array.isArray(value) ? value.join(",") : (value ? String(value) : "");
      }
      inputs[key] = [input, kind];
      return el("div", {}, el("label", { for: fid }, label), input);
    });
    const nameInput = el("input", { id: `${id}-name`, autocomplete: "off", required: true, value: name || "" });
    if (name) nameInput.readOnly = true;
    const problem = el("div");
    editor.replaceChildren(el("form", {
      class: "card",
      onsubmit: async (event) => {
        event.preventDefault();
        problem.replaceChildren();
        const body = {};
        for (const [key, [input, kind]] of Object.entries(inputs)) {
          const text = input.value.trim();
          const had = role[key] && String(role[key]) !== "0" && String(role[key]) !== "";
          // Only what is filled in, or cleared where the role had a value (Vault keeps the rest).
          if (!text && !had) continue;
          if (kind === "list") body[key] = text ? text.split(",").map((v) => v.trim()).filter(Boolean) : [];
          else if (key.endsWith("_ttl")) body[key] = text || "0";
          else body[key] = text;
        }
        try {
          await api("POST", `${mount}roles/${nameInput.value.trim()}`, body);
          announce(`Role ${nameInput.value.trim()} saved`);
          await load();
          edit(nameInput.value.trim());
        } catch (error) { problem.replaceChildren(errorBox(error)); }
      },
    }, el("h3", {}, name ? `Role ${name}` : "New role"),
    el("label", { for: `${id}-name` }, "Name"), nameInput, fields,
    el("div", { class: "row" }, el("button", { type: "submit" }, "Save role")), problem));
  };
  load();
  return el("div", {}, el("h3", {}, `Mount ${mount}`), list, editor);
}

async function renderPolicies(box) {
  const detail = el("div");
  let names;
  try {
    names = (await api("LIST", "sys/policies/acl")).data.keys;
  } catch (error) {
    box.replaceChildren(errorBox(error));
    return;
  }
  const show = async (name) => {
    try {
      const policy = (await api("GET", `sys/policies/acl/${encodeURIComponent(name)}`)).data;
      const text = el("textarea", { id: "policy-text", rows: 14, spellcheck: "false" });
      text.value = policy.policy;
      const problem = el("div");
      detail.replaceChildren(el("h3", {}, `Policy ${name}`),
        el("pre", { "data-format": "hcl", "aria-label": `HCL of ${name}` }, policy.policy),
        name === "root" ? null : el("form", {
          onsubmit: async (event) => {
            event.preventDefault();
            problem.replaceChildren();
            try {
              await api("PUT", `sys/policies/acl/${encodeURIComponent(name)}`, { policy: text.value });
              announce(`Policy ${name} saved`);
              show(name);
            } catch (error) { problem.replaceChildren(errorBox(error)); }
          },
        }, el("label", { for: "policy-text" }, `Edit ${name}`), text,
        el("div", { class: "row" }, el("button", { type: "submit" }, "Save policy")), problem));
    } catch (error) {
      detail.replaceChildren(errorBox(error));
    }
  };
  box.replaceChildren(el("ul", { class: "plain" }, names.map((name) => el("li", {},
    el("button", { type: "button", class: "secondary", onclick: () => show(name) }, name)))), detail);
}

// ---- start --------------------------------------------------------------------------------

async function start() {
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
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) {
    try {
      await signIn(saved);
      return;
    } catch {
      sessionStorage.removeItem(TOKEN_KEY);
      state.token = null;
    }
  }
  render();
}

start();
