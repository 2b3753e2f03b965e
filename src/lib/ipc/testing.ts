/**
 * Test helpers over Tauri's IPC mocks, kept here so that `src/lib/ipc/` stays the only importer
 * of `@tauri-apps/*`.
 */
export { mockIPC, clearMocks } from "@tauri-apps/api/mocks";
