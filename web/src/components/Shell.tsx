"use client";
// The frame around every page: navigation (with the pending-approvals badge), who is logged in,
// and the login guard. /login and /setup render bare.
import Link from "next/link";
import { usePathname } from "next/navigation";
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { api, closeLiveConnection } from "@/lib/trpc";
import { redirectToLogin, useQuery } from "@/lib/hooks";
import { usePendingApprovals } from "@/lib/approvals";

export interface Me {
  userId: string;
  email: string;
  role: "admin" | "operator" | "viewer";
}

const MeContext = createContext<Me | null>(null);

/** The logged-in user (inside the shell, always set). */
export function useMe(): Me {
  const me = useContext(MeContext);
  if (!me) throw new Error("useMe outside the logged-in shell");
  return me;
}

export function canOperate(me: Me): boolean {
  return me.role === "admin" || me.role === "operator";
}

const NAV: { href: string; label: string; admin?: boolean }[] = [
  { href: "/", label: "Fleet" },
  { href: "/sessions/", label: "Sessions" },
  { href: "/approvals/", label: "Approvals" },
  { href: "/policies/", label: "Policies" },
  { href: "/env-sets/", label: "Env sets" },
  { href: "/workspaces/", label: "Workspaces" },
  { href: "/analytics/", label: "Analytics" },
  { href: "/audit/", label: "Audit log" },
  { href: "/users/", label: "Users & tokens" },
];

function isCurrent(pathname: string, href: string): boolean {
  if (href === "/") return pathname === "/" || pathname.startsWith("/hosts");
  const base = href.replace(/\/$/, "");
  return pathname === href || pathname === base || pathname.startsWith(`${base}/`) || (base === "/sessions" && pathname.startsWith("/session"));
}

export function Shell({ children }: { children: ReactNode }) {
  const pathname = usePathname() ?? "/";
  const bare = pathname.startsWith("/login") || pathname.startsWith("/setup");
  if (bare) return <main id="main">{children}</main>;
  return <LoggedIn pathname={pathname}>{children}</LoggedIn>;
}

function LoggedIn({ pathname, children }: { pathname: string; children: ReactNode }) {
  const me = useQuery(() => api.auth.whoami.query(), []);
  useEffect(() => {
    if (me.error && !me.data) redirectToLogin();
  }, [me.error, me.data]);
  if (!me.data) {
    return (
      <main id="main" className="auth-page" aria-busy={me.loading}>
        {me.error ? <p className="error" role="alert">{me.error}</p> : <p className="muted">Loading…</p>}
      </main>
    );
  }
  return (
    <MeContext.Provider value={me.data}>
      <a className="skip" href="#main">Skip to content</a>
      <div className="app">
        <Nav pathname={pathname} me={me.data} />
        <main id="main" className="main" tabIndex={-1}>
          {children}
        </main>
      </div>
    </MeContext.Provider>
  );
}

function Nav({ pathname, me }: { pathname: string; me: Me }) {
  const pending = usePendingApprovals();
  const [leaving, setLeaving] = useState(false);
  async function logout() {
    setLeaving(true);
    try {
      await fetch("/auth/logout", { method: "POST", credentials: "same-origin" });
    } finally {
      closeLiveConnection();
      window.location.assign("/login/");
    }
  }
  return (
    <nav className="nav" aria-label="Main">
      <Link className="brand" href="/">CodePiper Fleet</Link>
      {NAV.map((item) => (
        <Link key={item.href} className="item" href={item.href} aria-current={isCurrent(pathname, item.href) ? "page" : undefined}>
          <span>{item.label}</span>
          {item.href === "/approvals/" && pending > 0 ? (
            <span className="badge" aria-label={`${pending} pending approvals`} data-testid="approvals-badge">{pending}</span>
          ) : null}
        </Link>
      ))}
      <div className="who">
        <div>{me.email}</div>
        <div>{me.role}</div>
        <button className="small" onClick={() => void logout()} disabled={leaving} style={{ marginTop: ".5rem" }}>Log out</button>
      </div>
    </nav>
  );
}
