// The AWS engine's settings, for each aws mount: its root configuration (`config/root`; the
// secret key is write-only and never shown), the lease settings of iam_user credentials
// (`config/lease`), its roles (`roles/`) and its static roles (`static-roles/`).

import { api } from "./api.js";
import { announce, confirmStep, el, errorBox, field, main, section } from "./dom.js";

const idOf = (text) => text.replace(/[^\w-]/g, "-");
const shownValue = (v) => (Array.isArray(v) ? v.join(", ") : v === null || v === undefined ? "" : String(v));

export async function renderAWS() {
  const root = el("div");
  main().replaceChildren(el("h1", {}, "AWS engine"), root);
  try {
    const mounts = (await api("GET", "sys/mounts")).data;
    const aws = Object.keys(mounts).filter((p) => mounts[p].type === "aws").sort();
    if (!aws.length) {
      root.replaceChildren(el("p", {}, "No aws secrets engine is enabled: enable one on the Mounts page."));
      return;
    }
    root.replaceChildren(...aws.map((mount) => el("section", { class: "mount", "aria-labelledby": `aws-${idOf(mount)}` },
      el("h2", { id: `aws-${idOf(mount)}` }, `Mount ${mount}`),
      rootConfig(mount), leaseConfig(mount), roleEditor(mount), staticRoles(mount))));
  } catch (error) {
    root.replaceChildren(errorBox(error));
  }
}

// A sub-section of a mount, as a region named "<title> of <mount>".
function part(mount, key, title, ...content) {
  const id = `${key}-${idOf(mount)}`;
  return el("section", { class: "card", "aria-labelledby": id },
    el("h3", { id }, `${title} of ${mount}`), ...content);
}

function details(data) {
  return el("dl", {}, Object.entries(data).flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, shownValue(v))]));
}

// ---- config/root ----------------------------------------------------------------------------

const ROOT_FIELDS = [
  ["access_key", "Access key ID"],
  ["region", "Region"],
  ["iam_endpoint", "IAM endpoint"],
  ["sts_endpoint", "STS endpoint"],
  ["sts_region", "STS region"],
  ["max_retries", "Max retries (-1: the SDK's default)"],
  ["username_template", "Username template"],
  ["federation_endpoint", "Federation endpoint (console sign-in)"],
];

function rootConfig(mount) {
  const id = `root-${idOf(mount)}`;
  const shown = el("div");
  const inputs = Object.fromEntries(ROOT_FIELDS.map(([key]) => [key, el("input", { autocomplete: "off", spellcheck: "false" })]));
  // Write-only: never filled in from a read, cleared after each save.
  const secret = el("input", { type: "password", autocomplete: "new-password", spellcheck: "false" });
  const problem = el("div");
  const load = async () => {
    try {
      const data = (await api("GET", `${mount}config/root`)).data;
      shown.replaceChildren(details(data));
      for (const [key, input] of Object.entries(inputs)) input.value = shownValue(data[key]);
    } catch (error) {
      shown.replaceChildren(error.status === 404 ? el("p", {}, "Not configured yet.") : errorBox(error));
    }
  };
  const form = el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      problem.replaceChildren();
      const body = {};
      for (const [key, input] of Object.entries(inputs)) {
        const text = input.value.trim();
        if (key === "max_retries") { if (text) body[key] = Number(text); } else body[key] = text;
      }
      if (secret.value) body.secret_key = secret.value;
      try {
        await api("POST", `${mount}config/root`, body);
        secret.value = "";
        announce(`Root configuration of ${mount} saved`);
        await load();
      } catch (error) { problem.replaceChildren(errorBox(error)); }
    },
  }, el("div", { class: "row" }, ROOT_FIELDS.map(([key, label]) => field(`${id}-${key}`, label, inputs[key]))),
  field(`${id}-secret_key`, "Secret access key (write-only: leave empty to keep the stored one)", secret),
  el("div", { class: "row" }, el("button", { type: "submit" }, "Save root configuration")), problem);
  load();
  return part(mount, "root", "Root configuration", shown, form);
}

// ---- config/lease ---------------------------------------------------------------------------

function leaseConfig(mount) {
  const id = `lease-${idOf(mount)}`;
  const shown = el("div");
  const lease = el("input", { autocomplete: "off", placeholder: "e.g. 1h", required: true });
  const leaseMax = el("input", { autocomplete: "off", placeholder: "e.g. 24h", required: true });
  const problem = el("div");
  const load = async () => {
    try {
      const data = (await api("GET", `${mount}config/lease`)).data;
      shown.replaceChildren(details(data));
      lease.value = data.lease || "";
      leaseMax.value = data.lease_max || "";
    } catch (error) {
      shown.replaceChildren(error.status === 404
        ? el("p", {}, "Not set: iam_user leases follow the mount's TTLs.") : errorBox(error));
    }
  };
  load();
  return part(mount, "lease", "Lease settings", shown, el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      problem.replaceChildren();
      try {
        await api("POST", `${mount}config/lease`, { lease: lease.value.trim(), lease_max: leaseMax.value.trim() });
        announce(`Lease settings of ${mount} saved`);
        await load();
      } catch (error) { problem.replaceChildren(errorBox(error)); }
    },
  }, el("div", { class: "row" }, field(`${id}-lease`, "Lease (iam_user TTL)", lease),
    field(`${id}-lease_max`, "Lease max", leaseMax)),
  el("div", { class: "row" }, el("button", { type: "submit" }, "Save lease settings")), problem));
}

// ---- roles ------------------------------------------------------------------------------------

const ROLE_FIELDS = [
  ["credential_type", "Credential type", "select", ["iam_user", "assumed_role", "federation_token", "session_token"]],
  ["role_arns", "AWS role ARNs (assumed_role; comma-separated)", "list"],
  ["policy_arns", "Managed policy ARNs (comma-separated)", "list"],
  ["iam_groups", "IAM groups (comma-separated)", "list"],
  ["policy_document", "Inline policy document (JSON)", "textarea"],
  ["default_sts_ttl", "Default STS TTL (e.g. 1h)", "text"],
  ["max_sts_ttl", "Longest STS TTL (e.g. 12h)", "text"],
  ["user_path", "IAM user path (iam_user)", "text"],
  ["reason_required", "Require a reason for each credential", "checkbox"],
  ["reason_min_length", "Shortest reason (characters)", "text"],
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
      if (kind === "checkbox") {
        input = el("input", { id: fid, type: "checkbox", class: "check" });
        input.checked = !!value;
      } else if (kind === "select") {
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
          if (kind === "checkbox") {
            if (input.checked || role[key]) body[key] = input.checked;
            continue;
          }
          const text = input.value.trim();
          const had = role[key] && String(role[key]) !== "0" && String(role[key]) !== "";
          // Only what is filled in, or cleared where the role had a value (Vault keeps the rest).
          if (!text && !had) continue;
          if (kind === "list") body[key] = text ? text.split(",").map((v) => v.trim()).filter(Boolean) : [];
          else if (key.endsWith("_ttl")) body[key] = text || "0";
          else if (key === "reason_min_length") body[key] = Number(text || "0");
          else body[key] = text;
        }
        try {
          await api("POST", `${mount}roles/${nameInput.value.trim()}`, body);
          announce(`Role ${nameInput.value.trim()} saved`);
          await load();
          edit(nameInput.value.trim());
        } catch (error) { problem.replaceChildren(errorBox(error)); }
      },
    }, el("h4", {}, name ? `Role ${name}` : "New role"),
    el("label", { for: `${id}-name` }, "Name"), nameInput, fields,
    el("div", { class: "row" }, el("button", { type: "submit" }, "Save role"),
      name ? confirmStep("Delete", `role ${name}`, async () => {
        await api("DELETE", `${mount}roles/${name}`);
        announce(`Role ${name} deleted`);
        editor.replaceChildren();
        await load();
      }) : null), problem));
  };
  load();
  return part(mount, "roles", "Roles", list, editor);
}


// ---- static roles -----------------------------------------------------------------------------

const STATIC_FIELDS = [
  ["username", "IAM user name"],
  ["rotation_period", "Rotation period (e.g. 24h)"],
  ["grace_period", "Grace period of the old key (e.g. 1h)"],
  ["assume_role_arn", "Role to assume (a user in another account)"],
  ["assume_role_session_name", "Session name when assuming it"],
  ["external_id", "External ID when assuming it"],
];

function staticRoles(mount) {
  const id = `static-${idOf(mount)}`;
  const list = el("div");
  const editor = el("div");
  const load = async () => {
    let names = [];
    try {
      names = (await api("LIST", `${mount}static-roles`)).data.keys;
    } catch (error) {
      if (error.status !== 404) { list.replaceChildren(errorBox(error)); return; }
    }
    list.replaceChildren(el("ul", { class: "plain" },
      names.map((name) => el("li", {}, el("button", { type: "button", class: "secondary",
        "aria-label": `Edit static role ${name}`, onclick: () => edit(name) }, name))),
      el("li", {}, el("button", { type: "button", onclick: () => edit(null) }, "New static role"))));
  };
  const edit = async (name) => {
    let role = {};
    if (name) {
      try { role = (await api("GET", `${mount}static-roles/${name}`)).data; } catch (error) {
        editor.replaceChildren(errorBox(error)); return;
      }
    }
    const inputs = Object.fromEntries(STATIC_FIELDS.map(([key]) => {
      const input = el("input", { autocomplete: "off", spellcheck: "false" });
      const value = role[key];
      input.value = value === undefined || value === null || value === 0 ? "" : String(value);
      return [key, input];
    }));
    const nameInput = el("input", { autocomplete: "off", required: true, value: name || "" });
    if (name) { nameInput.readOnly = true; inputs.username.readOnly = true; }
    const problem = el("div");
    editor.replaceChildren(el("form", {
      class: "card",
      onsubmit: async (event) => {
        event.preventDefault();
        problem.replaceChildren();
        const body = {};
        for (const [key, input] of Object.entries(inputs)) {
          const text = input.value.trim();
          if (text || role[key]) body[key] = text;
        }
        const saved = nameInput.value.trim();
        try {
          await api("POST", `${mount}static-roles/${saved}`, body);
          announce(`Static role ${saved} saved`);
          await load();
          edit(saved);
        } catch (error) { problem.replaceChildren(errorBox(error)); }
      },
    }, el("h4", {}, name ? `Static role ${name}` : "New static role"),
    field(`${id}-name`, "Static role name", nameInput),
    el("div", { class: "row" }, STATIC_FIELDS.map(([key, label]) => field(`${id}-${key}`, label, inputs[key]))),
    name ? el("p", { class: "muted" }, `Its current key: ${mount}static-creds/${name}`) : null,
    el("div", { class: "row" }, el("button", { type: "submit" }, "Save static role"),
      name ? confirmStep("Delete", `static role ${name}`, async () => {
        await api("DELETE", `${mount}static-roles/${name}`);
        announce(`Static role ${name} deleted`);
        editor.replaceChildren();
        await load();
      }) : null), problem));
  };
  load();
  return part(mount, "static", "Static roles", list, editor);
}
