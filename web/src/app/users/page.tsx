"use client";
import { useMe } from "@/components/Shell";
import { PageTitle } from "@/components/ui";
import { Tokens } from "@/components/users/Tokens";
import { TwoFactor } from "@/components/users/TwoFactor";
import { UsersAdmin } from "@/components/users/UsersAdmin";
import { WebSessions } from "@/components/users/WebSessions";

/** Users (admins), and for everyone: their API tokens, two-factor authentication and dashboard sessions. */
export default function UsersPage() {
  const me = useMe();
  return (
    <>
      <PageTitle>Users &amp; tokens</PageTitle>
      {me.role === "admin" ? <UsersAdmin /> : <p className="hint">Logged in as {me.email} ({me.role}). Only admins manage users.</p>}
      <Tokens />
      <TwoFactor />
      <WebSessions />
    </>
  );
}
