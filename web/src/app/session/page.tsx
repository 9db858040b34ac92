"use client";
import { useSearchParams } from "next/navigation";
import { Suspense } from "react";
import { PageTitle } from "@/components/ui";
import { SessionDetail } from "@/components/session/SessionDetail";
import "./session.css";

/** One session: live header, actions, terminal, transcript, events and policy decisions. /session/?id=<id, prefix or name> */
export default function SessionPage() {
  return (
    <Suspense fallback={<><PageTitle>Session</PageTitle><p className="muted">Loading…</p></>}>
      <FromQuery />
    </Suspense>
  );
}

function FromQuery() {
  const params = useSearchParams();
  const id = params.get("id")?.trim() ?? "";
  return <SessionDetail key={id} ref_={id} />;
}
