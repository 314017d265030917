// The server's own /v1/ API, with the signed-in token in X-Vault-Token (never a cookie).

let token = null;

export const currentToken = () => token;
export function useToken(value) { token = value; }

export class APIError extends Error {
  constructor(status, errors) {
    super(errors.join("; ") || `the server answered ${status}`);
    this.status = status;
  }
}

export async function api(method, path, body) {
  const headers = {};
  if (token) headers["X-Vault-Token"] = token;
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

export async function capabilities(paths) {
  const answer = await api("POST", "sys/capabilities-self", { paths });
  return answer.data;
}

// A path segment as typed by a person: no leading or trailing slashes.
export const trimPath = (path) => String(path).trim().replace(/^\/+|\/+$/g, "");
