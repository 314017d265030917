// The operator's overview: seal status (and sealing, in two steps), the cluster's nodes, the
// ACL policies (create, edit, delete), every lease of a mount filtered by role and lease-ID
// prefix (with its lookup, reason included) and the irrevocable ones. Mounts and audit devices are in mounts.js, the AWS engine in aws.js.

import { api } from "./api.js";
import { announce, confirmStep, duration, el, errorBox, field, main, section, table } from "./dom.js";
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
  renderSeal(seal);
  renderNodes(nodes);
  renderPolicies(policies);
  await renderLeaseFilters(browse, listing, detail, lookUp);
  try {
    const answer = (await api("GET", "sys/leases?type=irrevocable&limit=100")).data;
    irrevocable.replaceChildren(answer.leases.length
      ? table(["Lease", "Last error"], answer.leases.map((l) => [el("code", {}, l.lease_id), l.error]))
      : el("p", {}, "No irrevocable leases."));
  } catch (error) {
    irrevocable.replaceChildren(errorBox(error));
  }
}

// The sub-paths of a mount whose leases are per role (`<mount><kind>/<role>/<id>`).
const LEASED = ["creds/", "sts/", "console/", "container-creds/"];
const NOT_LEASED = new Set(["sys/", "cubbyhole/", "identity/"]);

// `LIST sys/leases/lookup/<prefix>`'s keys; none (the API's 404) is an empty list.
async function children(prefix) {
  try {
    return (await api("LIST", `sys/leases/lookup/${prefix}`)).data.keys;
  } catch (error) {
    if (error.status === 404) return [];
    throw error;
  }
}

// Every lease of one mount: its leased sub-paths, their role folders, each folder's leases,
// listed in parallel (one request per folder, as Vault's `sys/leases/lookup/` answers).
async function mountLeases(mount) {
  const kinds = (await children(mount)).filter((key) => LEASED.includes(key));
  const perKind = await Promise.all(kinds.map(async (kind) => {
    const roles = (await children(mount + kind)).filter((key) => key.endsWith("/"));
    return Promise.all(roles.map(async (role) => (await children(mount + kind + role))
      .filter((key) => !key.endsWith("/"))
      .map((key) => ({ id: mount + kind + role + key, kind, role: role.slice(0, -1) }))));
  }));
  return perKind.flat(2);
}

// The filters of "All leases": a mount (its secrets engines), a role (those the mount has
// leases of) and a free lease-ID prefix, applied to the mount's leases on the page.
async function renderLeaseFilters(box, listing, detail, lookUp) {
  let mounts;
  try {
    const all = (await api("GET", "sys/mounts")).data;
    mounts = Object.keys(all).filter((path) => !NOT_LEASED.has(path)).sort((a, b) =>
      (all[b].type === "aws") - (all[a].type === "aws") || a.localeCompare(b));
  } catch (error) {
    box.replaceChildren(errorBox(error));
    return;
  }
  if (!mounts.length) {
    box.replaceChildren(el("p", {}, "No secrets engine is mounted: there are no leases to list."));
    return;
  }
  const mount = el("select", {}, mounts.map((path) => el("option", { value: path }, path)));
  const role = el("select", {}, el("option", { value: "" }, "All roles"));
  const prefix = el("input", { placeholder: `${mounts[0]}sts/`, autocomplete: "off" });
  let leases = [];
  const show = () => {
    const wanted = prefix.value.trim().replace(/^\/+/, "");
    const shown = leases.filter((l) => (!role.value || l.role === role.value)
      && l.id.startsWith(wanted));
    listing.replaceChildren(shown.length
      ? table([`Leases of ${mount.value} (${shown.length})`, "Role", "Actions"], shown.map((l) => [
        el("code", {}, l.id), `${l.role} (${l.kind.slice(0, -1)})`,
        el("span", { class: "row" },
          el("button", { type: "button", class: "secondary", "aria-label": `Look up ${l.id}`,
            onclick: () => lookUp(l.id) }, "Look up"),
          leaseActions(l.id, "sys/leases/revoke", load)),
      ]))
      : el("p", {}, "No leases match these filters."));
  };
  const load = async () => {
    try {
      leases = mount.value ? await mountLeases(mount.value) : [];
    } catch (error) {
      listing.replaceChildren(errorBox(error));
      return;
    }
    const kept = role.value;
    const roles = [...new Set(leases.map((l) => l.role))].sort();
    role.replaceChildren(el("option", { value: "" }, "All roles"),
      ...roles.map((name) => el("option", { value: name }, name)));
    role.value = roles.includes(kept) ? kept : "";
    show();
  };
  mount.addEventListener("change", () => { role.value = ""; load(); });
  role.addEventListener("change", show);
  box.replaceChildren(el("form", { "aria-label": "Lease filters",
    onsubmit: (e) => { e.preventDefault(); load(); } },
  el("div", { class: "row" },
    field("lease-mount", "Mount", mount),
    field("lease-role", "Role", role),
    field("lease-prefix", "Lease ID prefix", prefix),
    el("button", { type: "submit" }, "List"))), listing, detail);
  prefix.addEventListener("input", show);
  await load();
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


// The live nodes (`sys/ha-status`: each heartbeats only while unsealed, and leaves the list
// some time after its heartbeats stop, so another node is known unsealed at its last
// heartbeat, whose age is shown) and, for the node answering the page, its `sys/health`: another
// node's health is not reachable from the page (the CSP allows only this origin).
async function renderNodes(box) {
  try {
    const [ha, health] = await Promise.all([api("GET", "sys/ha-status"), api("GET", "sys/health")]);
    const nodes = ha.data.nodes || [];
    const now = Date.now();
    const here = (n) => n.api_address.replace(/\/+$/, "") === window.location.origin;
    box.replaceChildren(
      el("h3", {}, "This node"),
      el("dl", { "aria-label": "Health of this node" },
        el("dt", {}, "Initialized"), el("dd", {}, health.initialized ? "yes" : "no"),
        el("dt", {}, "Sealed"), el("dd", {}, health.sealed ? "yes" : "no"),
        el("dt", {}, "Version"), el("dd", {}, health.version),
        el("dt", {}, "Server time"), el("dd", {}, new Date(health.server_time_utc * 1000).toISOString()),
        el("dt", {}, "Cluster"), el("dd", {}, `${health.cluster_name || ""} ${health.cluster_id || ""}`)),
      table(["Node", "Address", "Role", "Sealed", "Last heartbeat", "Version"], nodes.map((n) => [
        here(n) ? `${n.hostname} (this node)` : n.hostname, n.api_address,
        n.active_node ? "active" : "standby",
        here(n) ? (health.sealed ? "yes" : "no") : "no, at its last heartbeat",
        n.last_echo ? `${Math.max(0, Math.round((now - Date.parse(n.last_echo)) / 1000))}s ago` : "",
        n.version || ""])));
  } catch (error) {
    box.replaceChildren(errorBox(error));
  }
}

// The ACL policies: each one's HCL, its editor and its deletion (after a second click; the
// API refuses `default` and `root` in its own words), and a form for a new one.
async function renderPolicies(box, selected) {
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
        el("div", { class: "row" }, el("button", { type: "submit" }, "Save policy")), problem),
        confirmStep("Delete policy", name, async () => {
          await api("DELETE", `sys/policies/acl/${encodeURIComponent(name)}`);
          announce(`Policy ${name} deleted`);
          renderPolicies(box);
        }));
    } catch (error) {
      detail.replaceChildren(errorBox(error));
    }
  };
  const newName = el("input", { autocomplete: "off", spellcheck: "false" });
  const newText = el("textarea", { rows: 6, spellcheck: "false",
    placeholder: 'path "aws/creds/dev" {\n  capabilities = ["read"]\n}' });
  const problem = el("div");
  const create = el("form", { "aria-label": "New policy",
    onsubmit: async (event) => {
      event.preventDefault();
      problem.replaceChildren();
      const name = newName.value.trim();
      try {
        if (!name) throw new Error("Give the policy a name.");
        await api("PUT", `sys/policies/acl/${encodeURIComponent(name)}`, { policy: newText.value });
        announce(`Policy ${name} created`);
        renderPolicies(box, name.toLowerCase());
      } catch (error) { problem.replaceChildren(errorBox(error)); }
    } },
  el("h3", {}, "New policy"),
  field("new-policy-name", "Policy name", newName),
  field("new-policy-text", "Policy (HCL)", newText),
  el("div", { class: "row" }, el("button", { type: "submit" }, "Create policy")), problem);
  box.replaceChildren(el("ul", { class: "plain" }, names.map((name) => el("li", {},
    el("button", { type: "button", class: "secondary", onclick: () => show(name) }, name)))),
  detail, create);
  if (selected) await show(selected);
}
