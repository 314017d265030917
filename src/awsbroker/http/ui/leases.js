// Leases: the ones the signed-in token created (`sys/leases/self`), with why each was asked
// for, their countdowns, renew and revoke.

import { api } from "./api.js";
import { announce, duration, el, errorBox, main } from "./dom.js";
import { state } from "./session.js";

export function leaseActions(leaseId, revokePath, after) {
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

export async function renderLeases() {
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
          el("td", {}, lease.reason || el("span", { class: "muted" }, "not given")),
          el("td", {}, left),
          el("td", {}, leaseActions(lease.lease_id, "sys/leases/self/revoke", load)));
      });
      mine.replaceChildren(el("div", { class: "table-wrap" }, el("table", {},
        el("caption", { class: "muted" }, `${leases.length} lease(s)`),
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Lease"),
          el("th", { scope: "col" }, "Reason"), el("th", { scope: "col" }, "Expires in"), el("th", { scope: "col" }, "Actions"))),
        el("tbody", {}, rows))));
    } catch (error) {
      mine.replaceChildren(errorBox(error));
    }
  };
  await load();
}

