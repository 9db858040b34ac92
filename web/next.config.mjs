// The dashboard is a static export (`next build` → web/out): `codepiper server` serves it on its
// own origin next to /trpc, so there is no Next.js server process to run, secure or scale. Every
// page is a client component that talks to the control plane over tRPC (HTTP for queries and
// mutations, one WebSocket for subscriptions), authenticated by the HttpOnly session cookie.
/** @type {import('next').NextConfig} */
const nextConfig = {
  output: "export",
  trailingSlash: true,
  reactStrictMode: true,
  images: { unoptimized: true },
  poweredByHeader: false,
  // Types are checked by `tsc -p web` in the test pipeline, with the rest of the workspace.
  typescript: { ignoreBuildErrors: true },
  transpilePackages: ["@codepiper/core"],
};
export default nextConfig;
