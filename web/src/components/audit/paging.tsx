"use client";
// Paging shared by the audit tabs: newest-first pages over the audit API's `beforeId` cursor.
import { useRef, useState } from "react";
import { useAction, useQuery } from "@/lib/hooks";

/**
 * Newest-first rows read a page at a time with the audit API's `beforeId` cursor. The first page
 * loads whenever `key` changes (a new filter); `loadMore` appends the rows older than the last one
 * shown. Pages fetched for an earlier filter are dropped.
 */
export function useCursorPages<T extends { id: number }>(fetchPage: (beforeId: string | undefined) => Promise<T[]>, key: readonly unknown[], size: number) {
  const first = useQuery(() => fetchPage(undefined), key);
  const [older, setOlder] = useState<{ base: T[] | undefined; rows: T[]; done: boolean }>({ base: undefined, rows: [], done: false });
  const firstRef = useRef(first.data);
  firstRef.current = first.data;
  const more = useAction(fetchPage);
  const [moreBase, setMoreBase] = useState<T[] | undefined>(undefined); // the first page the last "more" belonged to

  const extra = first.data !== undefined && older.base === first.data ? older : null;
  const rows = first.data === undefined ? undefined : extra ? [...first.data, ...extra.rows] : first.data;
  const done = first.data === undefined ? false : extra && extra.rows.length > 0 ? extra.done : first.data.length < size;

  async function loadMore() {
    const base = first.data;
    const last = rows?.[rows.length - 1];
    if (!base || !last || more.pending) return;
    setMoreBase(base);
    const page = await more.run(String(last.id));
    if (page === undefined || firstRef.current !== base) return; // failed (more.error says why), or the filter changed meanwhile
    setOlder((o) => ({ base, rows: [...(o.base === base ? o.rows : []), ...page], done: page.length < size }));
  }

  const moreError = more.error && moreBase === first.data ? more.error : null;
  return { rows, error: first.error ?? moreError, loading: first.loading, loadingMore: more.pending, done, loadMore };
}

type CursorPages = ReturnType<typeof useCursorPages>;

/** "N newest loaded" and the Load more button (gone once a short page says there is no more). */
export function LoadMore({ pages, shown }: { pages: Pick<CursorPages, "rows" | "done" | "loading" | "loadingMore" | "loadMore">; shown: number }) {
  if (!pages.rows || shown === 0) return null;
  return (
    <div className="button-row" style={{ marginTop: ".75rem" }}>
      <span className="muted" aria-live="polite">{`${shown} newest loaded${pages.done ? ". No more entries." : "."}`}</span>
      {!pages.done ? <button type="button" onClick={() => void pages.loadMore()} disabled={pages.loading || pages.loadingMore}>{pages.loadingMore ? "Loading…" : "Load more"}</button> : null}
    </div>
  );
}
