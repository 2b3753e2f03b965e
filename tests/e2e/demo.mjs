// What several E2E files do with the demo remote: start its sync from the first-run screen,
// follow the job card, and compare a synced folder with the demo server's files.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { waitFor } from "./webdriver.mjs";

/** Bytes per second: the ~46 MB demo takes about ten seconds. */
export const DEMO_RATE = "5000000";
export const JOB = '[data-testid="job"]';

/**
 * Every file below `root` by relative path, with its SHA-256; hidden in-progress files too,
 * but not the `.tidesync` marker and `.tidesync-trash` folder a synced folder holds at its root
 * (never synced themselves).
 */
export async function tree(root) {
  const files = new Map();
  async function walk(dir) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (dir === root && [".tidesync", ".tidesync-trash"].includes(entry.name)) continue;
      if (entry.isDirectory()) await walk(full);
      else files.set(path.relative(root, full), createHash("sha256").update(await readFile(full)).digest("hex"));
    }
  }
  await walk(root);
  return files;
}

export function demoContent(app) {
  return path.join(app.home, "data", "app.tidesync", "demo-content-42", "content");
}

/** Starts the demo remote from the first-run screen and its sync; returns the local folder. */
export async function startDemoSync(app) {
  const s = app.session;
  await waitFor("the first-run screen", () => s.textOf('[data-testid="try-demo"]'));
  await s.click('[data-testid="try-demo"]');
  await waitFor("the demo pair", () => s.textOf('[data-testid="pair-local"]'), 120_000);
  const local = await s.textOf('[data-testid="pair-local"]');
  await s.click('[data-testid="sync-pair"]');
  await waitFor("the job card", () => s.attribute(JOB, "data-job-id"));
  return local;
}

export function bytesDone(app) {
  return app.session.attribute('[data-testid="job-progress"]', "data-bytes").then((b) => (b === null ? 0 : Number(b)));
}

export function jobState(app) {
  return app.session.attribute(JOB, "data-state");
}

export async function untilState(app, state, ms = 60_000) {
  await waitFor(`the job to show ${state}`, async () => (await jobState(app)) === state, ms, 50);
}

/** Waits until more than `bytes` are done, while the job is still running. */
export async function untilBytes(app, bytes) {
  await waitFor(`more than ${bytes} bytes`, async () => (await bytesDone(app)) > bytes, 60_000, 50);
  assert.equal(await jobState(app), "running", "still mid-sync");
}

export async function assertMirrors(app, local) {
  const want = await tree(demoContent(app));
  const got = await tree(local);
  assert.equal(got.size, want.size, "every demo file is there, nothing else");
  for (const [file, hash] of want) assert.equal(got.get(file), hash, `${file} matches the demo content`);
}
