import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { svelteTesting } from "@testing-library/svelte/vite";
import { fileURLToPath } from "node:url";

// Tauri expects a fixed dev port and must see Rust errors, so Vite keeps the screen and port.
export default defineConfig({
  plugins: [svelte(), svelteTesting()],
  clearScreen: false,
  resolve: {
    alias: {
      $gen: fileURLToPath(new URL("./gen", import.meta.url)),
    },
  },
  server: {
    port: 1420,
    strictPort: true,
    host: process.env.TAURI_DEV_HOST || "localhost",
    watch: { ignored: ["**/src-tauri/**", "**/target/**"] },
  },
  build: {
    target: "es2022",
    sourcemap: true,
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
    setupFiles: ["src/test-setup.ts"],
  },
});
