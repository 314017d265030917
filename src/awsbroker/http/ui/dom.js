// Building the page: elements from plain values (textContent and attributes only, never
// markup), the live region, durations, tables, and the two-step confirmation.

export function el(tag, attrs = {}, ...children) {
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

export const main = () => document.getElementById("main");

export function announce(message) {
  const status = document.getElementById("status");
  status.textContent = "";
  setTimeout(() => { status.textContent = message; }, 30);
  setTimeout(() => { if (status.textContent === message) status.textContent = ""; }, 4000);
}

export function duration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n) => String(n).padStart(2, "0");
  if (h >= 48) return `${Math.floor(h / 24)}d ${h % 24}h ${pad(m)}m`;
  return h > 0 ? `${h}h ${pad(m)}m ${pad(s)}s` : `${m}m ${pad(s)}s`;
}

export const ttlText = (seconds) => (seconds ? duration(seconds) : "system default");

export function errorBox(error) {
  return el("p", { class: "error", role: "alert" }, error.message || String(error));
}

export function copyButton(label, textOf) {
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

export function table(headers, rows) {
  return el("div", { class: "table-wrap" }, el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c)))))));
}

export function section(id, title, ...content) {
  return el("section", { "aria-labelledby": id }, el("h2", { id }, title), ...content);
}

// A labelled input (or select/textarea given as `input`), in a div for a `.row`.
export function field(id, label, input) {
  input.id = id;
  return el("div", {}, el("label", { for: id }, label), input);
}

// A destructive action in two steps: "<label>…" shows a second button, "<label> <what> now",
// which does it; the first button toggles it away again. `act` may throw: its message is
// shown under the buttons.
export function confirmStep(label, what, act) {
  const problem = el("span");
  const confirm = el("button", {
    type: "button", class: "danger", hidden: true,
    onclick: async () => {
      problem.replaceChildren();
      confirm.disabled = true;
      try { await act(); } catch (error) { problem.replaceChildren(errorBox(error)); } finally {
        confirm.disabled = false;
      }
    },
  }, `${label} ${what} now`);
  const ask = el("button", {
    type: "button", class: "danger", "aria-expanded": "false", "aria-label": `${label} ${what}…`,
    onclick: () => {
      confirm.hidden = !confirm.hidden;
      ask.setAttribute("aria-expanded", String(!confirm.hidden));
      if (!confirm.hidden) confirm.focus();
    },
  }, `${label}…`);
  return el("span", { class: "row confirm" }, ask, confirm, problem);
}
