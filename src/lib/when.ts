/** Times relative to now, as a pair's status line says them. */
import type { ModeDto, PairDto } from "./ipc";

/** "just now", "3 min ago", "2 h ago", "yesterday", "4 days ago". */
export function ago(unixSecs: number, nowMs: number): string {
  const secs = Math.max(0, Math.round(nowMs / 1000 - unixSecs));
  if (secs < 45) return "just now";
  const minutes = Math.round(secs / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(secs / 3600);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(secs / 86_400);
  return days === 1 ? "yesterday" : `${days} days ago`;
}

/** "in 40 s", "in 12 min", "in 2 h"; "now" once due. */
export function until(unixSecs: number, nowMs: number): string {
  const secs = Math.round(unixSecs - nowMs / 1000);
  if (secs <= 0) return "now";
  if (secs < 60) return `in ${secs} s`;
  const minutes = Math.round(secs / 60);
  if (minutes < 60) return `in ${minutes} min`;
  return `in ${Math.round(secs / 3600)} h`;
}

/**
 * A pair's status line: "Last synced 3 min ago · watching for changes · next check in 12 min",
 * "Syncing now", "Never synced".
 */
export function pairStatus(pair: PairDto, nowMs: number, syncing: boolean): string {
  const parts = [
    syncing ? "Syncing now" : pair.lastSyncedAt === null ? "Never synced" : `Last synced ${ago(pair.lastSyncedAt, nowMs)}`,
  ];
  const auto = pair.auto;
  if (auto) {
    if (auto.watching) parts.push("watching for changes");
    if (auto.error && auto.nextCheckAt !== null) {
      parts.push(`server unreachable, trying again ${until(auto.nextCheckAt, nowMs)}`);
    } else if (auto.nextCheckAt !== null && !syncing) {
      parts.push(`next check ${until(auto.nextCheckAt, nowMs)}`);
    }
  }
  return parts.join(" · ");
}

/** What switching a pair from one mode to another starts deleting, in plain words; null if nothing new. */
export function modeWarning(from: ModeDto, to: ModeDto): string | null {
  const deletesRemote = "Deleting a file on this device will delete it on the server too.";
  const deletesLocal = "Files deleted on the server will be deleted on this device too.";
  if (from === to) return null;
  if (to === "twoWay") return from === "download" ? deletesRemote : deletesLocal;
  if (to === "upload" && from === "download") return deletesRemote;
  if (to === "download" && from === "upload") return deletesLocal;
  return null;
}

/** The intervals the settings sheet offers between checks of the server, in seconds. */
export const CHECK_INTERVALS: { secs: number; label: string }[] = [
  { secs: 60, label: "every minute" },
  { secs: 5 * 60, label: "every 5 minutes" },
  { secs: 15 * 60, label: "every 15 minutes" },
  { secs: 60 * 60, label: "every hour" },
  { secs: 6 * 60 * 60, label: "every 6 hours" },
  { secs: 24 * 60 * 60, label: "once a day" },
];
