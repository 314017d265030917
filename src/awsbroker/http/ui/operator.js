// The operator's overview: seal status (and sealing, in two steps), the cluster's nodes, the
// ACL policies and their editor, every lease by prefix (with its lookup, reason included) and
// the irrevocable ones. Mounts and audit devices are in mounts.js, the AWS engine in aws.js.

import { api } from "./api.js";
import { announce, duration, el, errorBox, main, section, table } from "./dom.js";
import { leaseActions } from "./leases.js";
import { signOut } from "./session.js";

export async function renderOperator() {
  const browse = el("div");
  const irrevocable = el("div");
  const seal = el("div");
  const policies = el("div");
  const nodes = el("div");
  main().replaceChildren(el("h1", {}, "Operator"),
    section("seal-status-heading", "Seal status", seal),
    section("nodes-heading", "Nodes", nodes),
    section("policies-heading", "Policies", policies),
    section("all-heading", "All leases", browse),
    section("irr-heading", "Irrevocable leases", irrevocable));
  const prefix = el("input", { id: "lease-prefix", placeholder: "aws/creds/", autocomplete: "off" });
  const listing = el("div");
  const detail = el("div");
  const lookUp = async (leaseId) => {
    try {
      const lease = (await api("PUT", "sys/leases/lookup", { lease_id: leaseId })).data;
      detail.replaceChildren(el("dl", { "aria-label": `Lease ${leaseId}` },
        el("dt", {}, "Lease"), el("dd", {}, el("code", {}, lease.id)),
        el("dt", {}, "Issued"), el("dd", {}, lease.issue_time),
        el("dt", {}, "Expires"), el("dd", {}, `${lease.expire_time} (in ${duration(lease.ttl)})`),
        el("dt", {}, "Renewable"), el("dd", {}, lease.renewable ? "yes" : "no"),
        el("dt", {}, "Reason"), el("dd", {}, lease.reason || "not given")));
    } catch (error) {
      detail.replaceChildren(errorBox(error));
    }
  };
  const list = async () => {
    let p = prefix.value.trim().replace(/^\/+/, "");
    try {
      const keys = (await api("LIST", `sys/leases/lookup/${p}`)).data.keys;
      if (p && !p.endsWith("/")) p += "/";
      listing.replaceChildren(table([`Under ${p || "/"}`, "Actions"], keys.map((key) => [
        key.endsWith("/")
          ? el("button", { type: "button", class: "secondary", onclick: () => { prefix.value = p + key; list(); } }, key)
          : el("code", {}, p + key),
        key.endsWith("/") ? "" : el("span", { class: "row" },
          el("button", { type: "button", class: "secondary", "aria-label": `Look up ${p + key}`,
            onclick: () => lookUp(p + key) }, "Look up"),
          leaseActions(p + key, "sys/leases/revoke", list)),
      ])));
    } catch (error) {
      listing.replaceChildren(error.status === 404 ? el("p", {}, "No leases under that prefix.") : errorBox(error));
    }
  };
  browse.append(el("form", { onsubmit: (e) => { e.preventDefault(); list(); } },
    el("label", { for: "lease-prefix" }, "Prefix (mount, then role: aws/creds/dev/)"), prefix,
    el("div", { class: "row" }, el("button", { type: "submit" }, "List"))), listing, detail);
  renderSeal(seal);
  renderNodes(nodes);
  renderPolicies(policies);
  await list();
  try {
    const answer = (await api("GET", "sys/leases?type=irrevocable&limit=100")).data;
    irrevocable.replaceChildren(answer.leases.length
      ? table(["Lease", "Last error"], answer.leases.map((l) => [el("code", {}, l.lease_id), l.error]))
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

