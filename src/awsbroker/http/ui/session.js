// The signed-in session: the token (sessionStorage, this tab only), its lifetime and renewal,
// and signing out, after the server's idle time without activity, on expiry, or when asked.

import { api, capabilities, useToken } from "./api.js";
import { announce, duration, el, main } from "./dom.js";

const TOKEN_KEY = "awsbroker.token";
const IDLE_KEY = "awsbroker.idle-seconds"; // an override of the idle sign-out, for tests
const DEFAULT_IDLE_SECONDS = 15 * 60;

export const state = {
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

let render = () => {};
export function onRender(fn) { render = fn; }
export const rerender = () => render();

export const savedToken = () => sessionStorage.getItem(TOKEN_KEY);
export const forgetToken = () => { sessionStorage.removeItem(TOKEN_KEY); state.token = null; useToken(null); };

// The server's `ui_idle_timeout`, which it writes into the page's <meta>; a test may shorten it
// (only shorten: the override never lengthens what the server set).
export function idleSeconds() {
  const meta = document.querySelector('meta[name="awsbroker-idle-seconds"]');
  const configured = Number(meta && meta.content);
  const served = configured > 0 ? configured : DEFAULT_IDLE_SECONDS;
  const override = Number(sessionStorage.getItem(IDLE_KEY));
  return override > 0 ? Math.min(override, served) : served;
}

export async function signIn(token) {
  state.token = token;
  useToken(token);
  let self;
  try {
    self = (await api("GET", "auth/token/lookup-self")).data;
  } catch (error) {
    state.token = null;
    useToken(null);
    throw error;
  }
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

export function signOut(reason) {
  // Every secret on display goes with the page's content; nothing is revoked unless asked.
  state.token = null;
  useToken(null);
  state.self = null;
  state.expiresAt = 0;
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

export async function revokeAndSignOut() {
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
  // An answer that arrives after sign-out (or a new sign-in) is dropped: lookup-self's data
  // holds the token itself (`id`), and the page signed out keeps none of it.
  const renewed = state.token;
  const current = () => state.token === renewed;
  api("POST", "auth/token/renew-self", {})
    .then(() => (current() ? api("GET", "auth/token/lookup-self") : null))
    .then((answer) => { if (answer && current()) adopt(answer.data); })
    .catch((error) => { if (current()) announce(`Renewing the token failed: ${error.message}`); })
    .finally(() => { state.renewing = false; });
}

for (const event of ["pointerdown", "keydown", "mousemove", "touchstart", "scroll"]) {
  addEventListener(event, () => { state.lastActivity = Date.now(); }, { passive: true });
}
