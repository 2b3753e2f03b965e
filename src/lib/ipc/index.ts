/**
 * The only module that talks to Tauri. Everything else in the UI imports typed wrappers from
 * here, so the IPC surface is one file to read and one place to mock in tests.
 */
import { invoke } from "@tauri-apps/api/core";
import type { AppInfo } from "$gen/ipc/AppInfo";
import { toCommandError } from "./errors";

export type { AppInfo } from "$gen/ipc/AppInfo";
export type { ErrorKind } from "$gen/ipc/ErrorKind";
export { CommandError } from "./errors";

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (reason) {
    throw toCommandError(reason);
  }
}

/** The app's version, platform and data directory. */
export function appInfo(): Promise<AppInfo> {
  return call<AppInfo>("app_info");
}
