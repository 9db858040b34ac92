import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import { Shell } from "@/components/Shell";
import "@xterm/xterm/css/xterm.css";
import "./globals.css";

export const metadata: Metadata = { title: "CodePiper Fleet", description: "Run and watch AI coding agents across your fleet" };
export const viewport: Viewport = { width: "device-width", initialScale: 1, colorScheme: "dark" };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Shell>{children}</Shell>
      </body>
    </html>
  );
}
