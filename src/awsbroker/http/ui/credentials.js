// My credentials: for each aws mount the token reaches, the roles it may get credentials from,
// with a form for each (TTL, role ARN, MFA code, and a reason where the role requires one),
// the credentials in three forms, and the AWS console sign-in link where allowed.

import { api, capabilities } from "./api.js";
import { announce, copyButton, duration, el, errorBox, main } from "./dom.js";
import { state } from "./session.js";

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

export async function renderCredentials() {
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
  // Why the credential is asked for: required where the role says so (with its minimum
  // length); offered where the role's settings are not shown, since it may require one.
  let reason = null;
  if (!role || role.reason_required) {
    const min = role ? role.reason_min_length || 0 : 0;
    const help = role
      ? `Required by this role${min ? `, at least ${min} characters` : ""}; recorded with the lease and in the audit log.`
      : "Recorded with the lease and in the audit log; some roles require one.";
    reason = el("input", {
      id: `${id}-reason`, autocomplete: "off", maxlength: 512, required: !!role,
      minlength: min || null, "aria-describedby": `${id}-reason-help`,
    });
    fields.push(el("div", { class: "reason" },
      el("label", { for: `${id}-reason` }, role ? "Reason (required)" : "Reason (optional)"), reason,
      el("p", { id: `${id}-reason-help`, class: "muted hint" }, help)));
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
      if (reason && reason.value.trim()) body.reason = reason.value.trim();
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
    consoleButton(mount, name, role, consoleAllowed, {
      ttl: () => ttl.value.trim(), arn: () => roleArn?.value, reason: () => reason?.value.trim(),
    }, output)));
  return el("article", { class: "card", "aria-labelledby": `${id}-title` },
    el("h3", { id: `${id}-title` }, name), details, form, output);
}

// Console sign-in (issue 19): for assumed_role and federation_token roles the token may use
// console/ on, a button that asks the broker for a sign-in URL and shows it as a link (opened
// by the person's click, in a new tab without an opener or referrer). Whoever has the link can
// sign in with it for 15 minutes, so it is shown only in this card and cleared with the page.
function consoleButton(mount, name, role, allowed, values, output) {
  const types = role ? String(role.credential_type || "").split(",") : [];
  if (!allowed || (role && !types.some((t) => t === "assumed_role" || t === "federation_token"))) return null;
  const button = el("button", { type: "button", class: "secondary" }, "Open AWS console");
  button.addEventListener("click", async () => {
    const body = {};
    if (values.ttl()) body.ttl = values.ttl();
    if (values.arn()) body.role_arn = values.arn();
    if (values.reason()) body.reason = values.reason();
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

