/** The placeholder landing page until the dashboard (issue 6) takes over `/`. */
export function landingPage(opts: { version: string; hosts: number; online: number; setupPending: boolean }): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>CodePiper Fleet</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;color:#111}code{background:#f2f2f2;padding:.1rem .3rem;border-radius:3px}</style>
</head><body>
<h1>CodePiper Fleet</h1>
<p>Control plane ${esc(opts.version)} is running. Hosts: <strong>${opts.online}</strong> online of ${opts.hosts}.</p>
${opts.setupPending ? "<p>No admin yet: use the setup token printed by <code>codepiper server</code>, or run <code>codepiper admin create</code>.</p>" : ""}
<p>Use the CLI: <code>codepiper login &lt;url&gt;</code>, then <code>codepiper hosts</code>. The dashboard arrives here in a later release.</p>
</body></html>`;
}
