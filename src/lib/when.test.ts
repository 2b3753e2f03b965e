import { expect, test } from "vitest";
import type { PairDto } from "./ipc";
import { ago, modeWarning, pairStatus, until } from "./when";

const NOW = 1_800_000_000_000;
const secs = NOW / 1000;

function pair(over: Partial<PairDto>): PairDto {
  return {
    id: 1,
    remoteId: 1,
    remotePath: "",
    localDir: "/data/Demo",
    mode: "twoWay",
    settings: {
      autoSync: false,
      checkEverySecs: 300,
      transfers: null,
      uploadLimit: 0,
      downloadLimit: 0,
      trashDays: null,
      serverBackup: null,
      trashBytes: null,
      excludes: { patterns: [], defaultsOff: [], maxSize: null, removeWithFolder: false, unsynced: [], askAbove: null },
    },
    auto: null,
    lastSyncedAt: null,
    ...over,
  };
}

test("times ago read as a person says them", () => {
  expect(ago(secs - 10, NOW)).toBe("just now");
  expect(ago(secs - 180, NOW)).toBe("3 min ago");
  expect(ago(secs - 59 * 60, NOW)).toBe("59 min ago");
  expect(ago(secs - 2 * 3600, NOW)).toBe("2 h ago");
  expect(ago(secs - 26 * 3600, NOW)).toBe("yesterday");
  expect(ago(secs - 4 * 86_400, NOW)).toBe("4 days ago");
  expect(ago(secs + 30, NOW), "a clock a little ahead").toBe("just now");
});

test("countdowns round to what matters", () => {
  expect(until(secs + 40, NOW)).toBe("in 40 s");
  expect(until(secs + 12 * 60, NOW)).toBe("in 12 min");
  expect(until(secs + 3 * 3600, NOW)).toBe("in 3 h");
  expect(until(secs - 5, NOW)).toBe("now");
});

test("a pair's status says when it synced and what automatic sync does next", () => {
  expect(pairStatus(pair({}), NOW, false)).toBe("Never synced");
  expect(pairStatus(pair({ lastSyncedAt: secs - 180 }), NOW, false)).toBe("Last synced 3 min ago");
  const auto = { watching: true, nextCheckAt: secs + 720, serverCheck: "listing" as const, error: null };
  expect(pairStatus(pair({ lastSyncedAt: secs - 180, auto }), NOW, false)).toBe(
    "Last synced 3 min ago · watching for changes · next check in 12 min",
  );
  expect(pairStatus(pair({ lastSyncedAt: secs - 180, auto }), NOW, true)).toBe("Syncing now · watching for changes");
  const failing = { ...auto, watching: false, nextCheckAt: secs + 30, error: "unreachable" };
  expect(pairStatus(pair({ auto: failing }), NOW, false)).toBe(
    "Never synced · server unreachable, trying again in 30 s",
  );
});

test("switching to a mode that deletes says what it will delete", () => {
  expect(modeWarning("download", "twoWay")).toMatch(/delete it on the server/);
  expect(modeWarning("upload", "twoWay")).toMatch(/deleted on this device/);
  expect(modeWarning("download", "upload")).toMatch(/delete it on the server/);
  expect(modeWarning("upload", "download")).toMatch(/deleted on this device/);
  expect(modeWarning("twoWay", "download")).toBeNull();
  expect(modeWarning("twoWay", "twoWay")).toBeNull();
});
