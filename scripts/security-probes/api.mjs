// The probes' HTTP client: calls a server started by serve.sh as its host administrator.

/**
 * adminApi returns call(method, path, body?, headers?), which sends JSON with serve.sh's admin token
 * and resolves to {status, json} (json is the text when the answer is not JSON); onAnswer sees each
 * answer as `METHOD path status body`, for the probes that scan them.
 */
export function adminApi(base, onAnswer = () => {}) {
  const headers = { authorization: 'Bearer tcs_admin_x', 'content-type': 'application/json' };
  return async (method, path, body, extra = {}) => {
    const r = await fetch(base + path, { method, headers: { ...headers, ...extra }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    onAnswer(`${method} ${path} ${r.status} ${text}`);
    try {
      return { status: r.status, json: JSON.parse(text), text };
    } catch {
      return { status: r.status, json: text, text };
    }
  };
}
