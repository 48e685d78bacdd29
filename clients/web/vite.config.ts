// The web trading UI. `npm run dev` serves it with hot reload on
// http://127.0.0.1:5173 and forwards /ws and /api to a running tickwire
// (TICKWIRE_URL, default http://127.0.0.1:8080); `npm run build` writes
// dist/, which the tickwire binary embeds and serves at /.
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const server = process.env.TICKWIRE_URL ?? "http://127.0.0.1:8080";
const library = (path: string) => fileURLToPath(new URL(`../ts/src/${path}`, import.meta.url));

export default defineConfig({
  plugins: [react()],
  resolve: {
    // The library from source: one build, no stale dist/ of it.
    alias: [
      { find: /^tickwire-client\/react$/, replacement: library("react/index.ts") },
      { find: /^tickwire-client$/, replacement: library("index.ts") },
    ],
  },
  server: {
    host: "127.0.0.1",
    proxy: {
      "/ws": { target: server.replace(/^http/, "ws"), ws: true },
      "/api": server,
      "/healthz": server,
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // No source maps in the binary; the sources are in the repository.
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
});
