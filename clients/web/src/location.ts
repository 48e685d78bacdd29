/**
 * What the page learns from its address: the server's WebSocket URL (the
 * page's own host, or `?server=ws://...`), and the token and symbol the
 * fragment carries (`#token=...&symbol=ETH-USD`, as the server prints it).
 * The token stays in the fragment, which browsers never send to servers.
 */

export function serverUrl(location: Location = window.location): string {
  const override = new URLSearchParams(location.search).get("server");
  if (override !== null && /^wss?:\/\//.test(override)) return override;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws`;
}

export function fragment(location: Location = window.location): URLSearchParams {
  return new URLSearchParams(location.hash.replace(/^#/, ""));
}

/** Writes `key` into the fragment without a new history entry. */
export function setFragment(key: string, value: string | null): void {
  const params = fragment();
  if (value === null) params.delete(key);
  else params.set(key, value);
  const hash = params.toString();
  history.replaceState(null, "", hash === "" ? location.pathname + location.search : `#${hash}`);
}
