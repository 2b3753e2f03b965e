/**
 * Test helpers over Tauri's IPC mocks, kept here so that `src/lib/ipc/` stays the only importer
 * of `@tauri-apps/*`.
 */
import type { Channel } from "@tauri-apps/api/core";
import type { SyncEvent } from "$gen/ipc/SyncEvent";

export { mockIPC, clearMocks } from "@tauri-apps/api/mocks";
export { emit } from "@tauri-apps/api/event";

/** Delivers `event` to the page through a Channel a command received, as the backend would. */
export function send(channel: unknown, event: SyncEvent): void {
  (channel as Channel<SyncEvent>).onmessage(event);
}

/** The id a Channel registered with the IPC layer: a new Channel has a new id. */
export function channelId(channel: unknown): number {
  return (channel as Channel<SyncEvent>).id;
}
