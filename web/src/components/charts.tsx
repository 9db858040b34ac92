"use client";
// Dependency-free SVG charts. Each chart has a text alternative (role="img" + aria-label) and
// the numbers are also in a table next to it, so nothing is only visible as a picture.
import { compactNumber } from "@/lib/format";

const PALETTE = ["#6ea8ff", "#4cc38a", "#f0b429", "#ff6b6b", "#b48cff", "#7cc4fa", "#f78fb3", "#c3e88d"];

export interface Bar {
  label: string;
  value: number;
  /** A second value drawn inside the bar (e.g. denied calls), same scale. */
  part?: number;
}

/** Horizontal bars, one per category, largest first as given. */
export function BarChart({ bars, label, format = compactNumber, partLabel }: { bars: Bar[]; label: string; format?: (n: number) => string; partLabel?: string }) {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const rowH = 26;
  const labelW = 150;
  const width = 640;
  const height = Math.max(rowH, bars.length * rowH);
  const summary = bars.map((b) => `${b.label}: ${format(b.value)}${b.part ? ` (${partLabel ?? "part"} ${format(b.part)})` : ""}`).join("; ");
  return (
    <svg className="chart" style={{ maxWidth: width }} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${label}. ${summary || "no data"}`}>
      {bars.map((b, i) => {
        const w = ((width - labelW - 70) * b.value) / max;
        const pw = b.part ? ((width - labelW - 70) * b.part) / max : 0;
        const y = i * rowH;
        return (
          <g key={b.label}>
            <text x={0} y={y + 17}>{b.label.length > 22 ? `${b.label.slice(0, 21)}…` : b.label}</text>
            <rect x={labelW} y={y + 5} width={Math.max(1, w)} height={rowH - 10} rx={3} fill={PALETTE[i % PALETTE.length]} />
            {pw > 0 ? <rect x={labelW} y={y + 5} width={pw} height={rowH - 10} rx={3} fill="#ff6b6b" opacity={0.85} /> : null}
            <text x={labelW + Math.max(1, w) + 6} y={y + 17}>{format(b.value)}</text>
          </g>
        );
      })}
    </svg>
  );
}

export interface Series {
  name: string;
  values: number[];
}

/** Stacked columns over time buckets (e.g. input and output tokens per hour). */
export function ColumnChart({ buckets, series, label, format = compactNumber, tickLabel }: { buckets: string[]; series: Series[]; label: string; format?: (n: number) => string; tickLabel: (iso: string) => string }) {
  const width = 640;
  const height = 200;
  const left = 48;
  const bottom = 22;
  const totals = buckets.map((_, i) => series.reduce((n, s) => n + (s.values[i] ?? 0), 0));
  const peak = Math.max(0, ...totals);
  const max = peak > 0 ? peak : 1;
  const colW = (width - left) / Math.max(1, buckets.length);
  const scale = (v: number) => ((height - bottom - 8) * v) / max;
  const every = Math.max(1, Math.ceil(buckets.length / 8));
  const total = totals.reduce((a, b) => a + b, 0);
  return (
    <div>
      <svg className="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${label}: ${format(total)} in all over ${buckets.length} periods, peak ${format(peak)}`}>
        <line x1={left} x2={width} y1={height - bottom} y2={height - bottom} stroke="#2c313c" />
        <text x={0} y={12}>{peak > 0 ? format(peak) : ""}</text>
        <text x={0} y={height - bottom}>0</text>
        {buckets.map((b, i) => {
          let y = height - bottom;
          return (
            <g key={b}>
              {series.map((s, si) => {
                const h = scale(s.values[i] ?? 0);
                y -= h;
                return h > 0 ? <rect key={s.name} x={left + i * colW + 1} y={y} width={Math.max(1, colW - 2)} height={h} fill={PALETTE[si % PALETTE.length]}><title>{`${tickLabel(b)} ${s.name}: ${format(s.values[i] ?? 0)}`}</title></rect> : null;
              })}
              {i % every === 0 ? <text x={left + i * colW} y={height - 6}>{tickLabel(b)}</text> : null}
            </g>
          );
        })}
      </svg>
      {series.length > 1 ? (
        <p className="hint" aria-hidden="true">
          {series.map((s, i) => <span key={s.name} style={{ marginRight: "1rem" }}><span style={{ display: "inline-block", width: ".7rem", height: ".7rem", background: PALETTE[i % PALETTE.length], marginRight: ".3rem" }} />{s.name}</span>)}
        </p>
      ) : null}
    </div>
  );
}
