// Mounts and audit devices: enable, tune and disable secrets engines (`sys/mounts/<path>`)
// and auth methods (`sys/auth/<path>`), enable and disable audit devices (`sys/audit/<path>`).
// A refusal shows the API's own words; disabling anything takes a second click.

import { api, trimPath } from "./api.js";
import { announce, confirmStep, el, errorBox, field, main, section, table, ttlText } from "./dom.js";

// Built in: listed, never enabled, tuned or disabled from here.
const BUILT_IN = new Set(["sys/", "cubbyhole/", "token/"]);
const KINDS = {
  secrets: { base: "sys/mounts", title: "Secrets engines", noun: "secrets engine", a: "a", shown: (p) => p },
  auth: { base: "sys/auth", title: "Auth methods", noun: "auth method", a: "an", shown: (p) => `auth/${p}` },
};

export async function renderMounts() {
  const boxes = { secrets: el("div"), auth: el("div"), audit: el("div") };
  main().replaceChildren(el("h1", {}, "Mounts"),
    section("secrets-heading", KINDS.secrets.title, boxes.secrets),
    section("auth-heading", KINDS.auth.title, boxes.auth),
    section("audit-heading", "Audit devices", boxes.audit));
  await Promise.all([mountTable("secrets", boxes.secrets), mountTable("auth", boxes.auth),
    auditDevices(boxes.audit)]);
}

function ttlInput(placeholder) {
  return el("input", { autocomplete: "off", placeholder });
}

async function mountTable(kind, box) {
  const { base, noun, a, shown } = KINDS[kind];
  const listing = el("div");
  const tuner = el("div");
  const load = async () => {
    let mounts;
    try {
      mounts = (await api("GET", base)).data;
    } catch (error) {
      listing.replaceChildren(errorBox(error));
      return;
    }
    const rows = Object.entries(mounts).sort(([a], [b]) => a.localeCompare(b)).map(([path, m]) => [
      shown(path), m.type, m.description || "",
      ttlText(m.config.default_lease_ttl), ttlText(m.config.max_lease_ttl),
      m.config.listing_visibility || "",
      BUILT_IN.has(path) ? el("span", { class: "muted" }, "built in") : el("span", { class: "row" },
        el("button", { type: "button", class: "secondary", "aria-label": `Tune ${shown(path)}`,
          onclick: () => tune(path, m) }, "Tune"),
        confirmStep("Disable", shown(path), async () => {
          await api("DELETE", `${base}/${trimPath(path)}`);
          announce(`${shown(path)} disabled`);
          tuner.replaceChildren();
          await load();
        })),
    ]);
    listing.replaceChildren(table(
      ["Path", "Type", "Description", "Default TTL", "Max TTL", "Listed", "Actions"], rows));
  };
  const tune = (path, mount) => {
    const id = `${kind}-tune`;
    const description = el("input", { autocomplete: "off" });
    description.value = mount.description || "";
    const defaultTtl = ttlInput("e.g. 1h, or system");
    const maxTtl = ttlInput("e.g. 24h, or system");
    if (mount.config.default_lease_ttl) defaultTtl.value = `${mount.config.default_lease_ttl}s`;
    if (mount.config.max_lease_ttl) maxTtl.value = `${mount.config.max_lease_ttl}s`;
    const visibility = el("select", {}, ["", "hidden", "unauth"].map((v) =>
      el("option", { value: v }, v || "(default)")));
    visibility.value = mount.config.listing_visibility || "";
    const problem = el("div");
    tuner.replaceChildren(el("form", {
      class: "card", "aria-labelledby": `${id}-title`,
      onsubmit: async (event) => {
        event.preventDefault();
        problem.replaceChildren();
        const body = {
          description: description.value,
          listing_visibility: visibility.value,
          default_lease_ttl: defaultTtl.value.trim() || "system",
          max_lease_ttl: maxTtl.value.trim() || "system",
        };
        try {
          await api("POST", `${base}/${trimPath(path)}/tune`, body);
          announce(`${shown(path)} tuned`);
          tuner.replaceChildren();
          await load();
        } catch (error) { problem.replaceChildren(errorBox(error)); }
      },
    }, el("h3", { id: `${id}-title` }, `Tune ${shown(path)}`),
    field(`${id}-description`, "Description", description),
    el("div", { class: "row" },
      field(`${id}-default`, "Default lease TTL", defaultTtl),
      field(`${id}-max`, "Max lease TTL", maxTtl),
      field(`${id}-visibility`, "Listing visibility", visibility)),
    el("div", { class: "row" }, el("button", { type: "submit" }, "Save tuning"),
      el("button", { type: "button", class: "secondary", onclick: () => tuner.replaceChildren() }, "Cancel")),
    problem));
    tuner.querySelector("input").focus();
  };
  const id = `${kind}-enable`;
  const path = el("input", { autocomplete: "off", required: true, placeholder: kind === "auth" ? "sso" : "aws-prod" });
  const type = el("input", { autocomplete: "off", required: true, placeholder: kind === "auth" ? "oidc" : "aws" });
  const description = el("input", { autocomplete: "off" });
  const defaultTtl = ttlInput("e.g. 1h");
  const maxTtl = ttlInput("e.g. 24h");
  const problem = el("div");
  const form = el("form", {
    class: "card", "aria-labelledby": `${id}-title`,
    onsubmit: async (event) => {
      event.preventDefault();
      problem.replaceChildren();
      const config = {};
      if (defaultTtl.value.trim()) config.default_lease_ttl = defaultTtl.value.trim();
      if (maxTtl.value.trim()) config.max_lease_ttl = maxTtl.value.trim();
      const where = trimPath(path.value);
      try {
        await api("POST", `${base}/${where}`, { type: type.value.trim(), description: description.value, config });
        announce(`${shown(`${where}/`)} enabled`);
        form.reset();
        await load();
      } catch (error) { problem.replaceChildren(errorBox(error)); }
    },
  }, el("h3", { id: `${id}-title` }, `Enable ${a} ${noun}`),
  el("div", { class: "row" }, field(`${id}-path`, "Path", path), field(`${id}-type`, "Type", type)),
  field(`${id}-description`, "Description", description),
  el("div", { class: "row" }, field(`${id}-default`, "Default lease TTL", defaultTtl),
    field(`${id}-max`, "Max lease TTL", maxTtl)),
  el("div", { class: "row" }, el("button", { type: "submit" }, `Enable ${noun}`)), problem);
  box.replaceChildren(listing, tuner, form);
  await load();
}

// "key=value" lines, as a map of options.
function options(text) {
  const found = {};
  for (const line of text.split("\n")) {
    const [key, ...rest] = line.split("=");
    if (key.trim()) found[key.trim()] = rest.join("=").trim();
  }
  return found;
}

async function auditDevices(box) {
  const listing = el("div");
  const load = async () => {
    try {
      const devices = (await api("GET", "sys/audit")).data || {};
      const rows = Object.entries(devices).map(([path, d]) => [path, d.type, d.description || "",
        Object.entries(d.options || {}).map(([k, v]) => `${k}=${v}`).join(", "),
        confirmStep("Disable", `audit device ${path}`, async () => {
          await api("DELETE", `sys/audit/${trimPath(path)}`);
          announce(`Audit device ${path} disabled`);
          await load();
        })]);
      listing.replaceChildren(rows.length ? table(["Path", "Type", "Description", "Options", "Actions"], rows)
        : el("p", {}, "No audit device is enabled: requests are not audited."));
    } catch (error) {
      listing.replaceChildren(errorBox(error));
    }
  };
  const path = el("input", { autocomplete: "off", required: true, placeholder: "file" });
  const type = el("input", { autocomplete: "off", required: true, value: "file" });
  const description = el("input", { autocomplete: "off" });
  const opts = el("textarea", { rows: 3, spellcheck: "false", placeholder: "file_path=/var/log/awsbroker/audit.log" });
  const problem = el("div");
  const form = el("form", {
    class: "card", "aria-labelledby": "audit-enable-title",
    onsubmit: async (event) => {
      event.preventDefault();
      problem.replaceChildren();
      const where = trimPath(path.value);
      try {
        await api("POST", `sys/audit/${where}`, {
          type: type.value.trim(), description: description.value, options: options(opts.value),
        });
        announce(`Audit device ${where}/ enabled`);
        form.reset();
        await load();
      } catch (error) { problem.replaceChildren(errorBox(error)); }
    },
  }, el("h3", { id: "audit-enable-title" }, "Enable an audit device"),
  el("div", { class: "row" }, field("audit-path", "Path", path), field("audit-type", "Type", type)),
  field("audit-description", "Description", description),
  field("audit-options", "Options (one key=value a line)", opts),
  el("div", { class: "row" }, el("button", { type: "submit" }, "Enable audit device")), problem);
  box.replaceChildren(listing, form);
  await load();
}
